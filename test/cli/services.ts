import pg from 'pg'
import { Socket } from 'node:net'
import { ENDPOINTS, POSTGRES_URL, postgresDatabaseUrl, shown } from '../storage/services.js'

const HOW = {
  postgres: 'start it with: bash .ci/services.sh (or pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start), or point GRANTKIT_TEST_POSTGRES at a server',
  redis: 'start it with: bash .ci/services.sh (or redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no), or point GRANTKIT_TEST_REDIS at a server',
  redisCluster: 'start it with: bash .ci/services.sh (three masters on 7000-7002), or point GRANTKIT_TEST_REDIS_CLUSTER at one (host:port,host:port)',
} as const

/** Whether the service the tests are given answers on its port (within a second), and what to start when it does not. */
export function reachable(service: keyof typeof ENDPOINTS): Promise<{ ok: boolean; message: string }> {
  const { host, port } = ENDPOINTS[service]
  return new Promise((resolve) => {
    const socket = new Socket()
    const done = (ok: boolean) => {
      socket.destroy()
      resolve({ ok, message: ok ? '' : `${service} is not reachable at ${host}:${port}; ${HOW[service]}` })
    }
    socket.setTimeout(1000, () => done(false))
    socket.once('error', () => done(false))
    socket.connect(port, host, () => done(true))
  })
}

/**
 * A PostgreSQL database of its own for the `grantkit serve` tests, made afresh
 * on the server GRANTKIT_TEST_POSTGRES names (connecting to that URL to
 * create it): the processes use the default table names, and the given
 * database's default tables are shared with whatever else runs on this server
 * (other checkouts, older grantkit versions that store keys unsealed).
 * Bounded, as it runs while a test file is imported.
 */
export async function isolatedPostgres(name: string): Promise<string> {
  const url = postgresDatabaseUrl(name)
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 5000, query_timeout: 20_000 })
  try {
    await client.connect()
    // Fresh every run: tables left by an earlier run (of another branch, at another schema version) must not decide this one.
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await client.query(`CREATE DATABASE ${name}`)
  } catch (error) {
    // 42P04 duplicate_database, 23505 when two files create it at the same instant.
    const code = (error as { code?: string }).code
    if (code !== '42P04' && code !== '23505') {
      throw new Error(`could not create the test database ${name} through ${shown(POSTGRES_URL)} (the user needs CREATEDB): ${(error as Error).message}`, { cause: error })
    }
  } finally {
    await client.end().catch(() => undefined)
  }
  return url
}
