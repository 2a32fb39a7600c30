/**
 * The one place the tests learn where PostgreSQL and Redis are. Every test that
 * uses either derives its URL from these two values, so that
 * `GRANTKIT_TEST_POSTGRES=postgres://… GRANTKIT_TEST_REDIS=redis://… npm test`
 * runs the whole suite against the servers it is given and touches no other.
 *
 * Deliberately not DATABASE_URL or REDIS_URL: those often point at an
 * application's real database, and these tests create and drop tables in it.
 */

const DEFAULT_POSTGRES = 'postgres://postgres@127.0.0.1:5432/test'
const DEFAULT_REDIS = 'redis://127.0.0.1:6379'

/** The URL in `env[name]`, or `fallback` when unset or empty; a clear error when it is not a URL of one of `protocols`. */
export function serviceUrl(env: NodeJS.ProcessEnv, name: string, fallback: string, protocols: readonly string[]): URL {
  const raw = env[name]
  const value = raw === undefined || raw === '' ? fallback : raw
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new Error(`${name} is not a URL; give one like ${fallback}`)
  }
  if (!protocols.includes(url.protocol)) throw new Error(`${name} must start with ${protocols.map((p) => `${p}//`).join(' or ')}, like ${fallback}`)
  return url
}

const postgres = serviceUrl(process.env, 'GRANTKIT_TEST_POSTGRES', DEFAULT_POSTGRES, ['postgres:', 'postgresql:'])
const redis = serviceUrl(process.env, 'GRANTKIT_TEST_REDIS', DEFAULT_REDIS, ['redis:', 'rediss:'])

/** The PostgreSQL database the tests are given: GRANTKIT_TEST_POSTGRES, or the one `.ci/services.sh` starts. */
export const POSTGRES_URL = postgres.toString()

/** The Redis the tests are given: GRANTKIT_TEST_REDIS, or the one `.ci/services.sh` starts. */
export const REDIS_URL = redis.toString()

const DEFAULT_REDIS_CLUSTER = '127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002'

/**
 * The seed nodes of the Redis Cluster the tests are given: GRANTKIT_TEST_REDIS_CLUSTER
 * (`host:port,host:port…`), or the three masters `.ci/services.sh` starts.
 */
export const REDIS_CLUSTER_NODES: readonly { host: string; port: number }[] = (() => {
  const raw = process.env.GRANTKIT_TEST_REDIS_CLUSTER
  const value = raw === undefined || raw === '' ? DEFAULT_REDIS_CLUSTER : raw
  return value.split(',').map((part) => {
    const m = /^([^:,\s]+):(\d{1,5})$/.exec(part.trim())
    if (m === null) throw new Error(`GRANTKIT_TEST_REDIS_CLUSTER must be host:port,host:port…, like ${DEFAULT_REDIS_CLUSTER}`)
    return { host: m[1]!, port: Number(m[2]) }
  })
})()

/** The same cluster as a storage URL (`redis+cluster://…`), as `grantkit serve --storage` takes it. */
export const REDIS_CLUSTER_URL = `redis+cluster://${REDIS_CLUSTER_NODES.map((n) => `${n.host}:${n.port}`).join(',')}`

/** A URL fit for a message or a log line: its password, if any, masked. */
export function shown(url: string): string {
  try {
    const u = new URL(url)
    if (u.password !== '') u.password = '***'
    return u.toString()
  } catch {
    return '(not a URL)'
  }
}

/** Host and port of each service, for a quick TCP probe. */
export const ENDPOINTS = {
  postgres: { host: postgres.hostname, port: Number(postgres.port || 5432) },
  redis: { host: redis.hostname, port: Number(redis.port || 6379) },
  // The first seed node: enough for a quick probe that the cluster is up.
  redisCluster: REDIS_CLUSTER_NODES[0]!,
} as const

/**
 * Another database on the given PostgreSQL server, with the same user and
 * options: for tests that need the default table names to themselves.
 */
export function postgresDatabaseUrl(database: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(database)) throw new Error(`not a plain database name: ${database}`)
  const url = new URL(POSTGRES_URL)
  url.pathname = `/${database}`
  return url.toString()
}

/**
 * Another logical database (SELECT index) on the given Redis, with the same
 * credentials: for `grantkit serve` processes, which use the default key prefix.
 */
export function redisDatabaseUrl(index: number): string {
  if (!Number.isInteger(index) || index < 0 || index > 15) throw new Error(`not a Redis database number: ${index}`)
  const url = new URL(REDIS_URL)
  url.pathname = `/${index}`
  return url.toString()
}

/**
 * `work()`, or a rejection naming `what` after `ms` milliseconds. For the
 * service probes that run while a test file is imported: vitest applies no
 * timeout there, so an unbounded wait would stall the whole run.
 */
export async function withDeadline<T>(ms: number, what: string, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([work(), deadline])
  } finally {
    clearTimeout(timer)
  }
}
