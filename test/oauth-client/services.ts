/**
 * PostgreSQL and Redis for the store tests. Locally an unreachable service
 * skips its tests with a message; with CI=true its tests fail instead.
 * Each test file gets its own table and key prefix, so files can run in parallel.
 */
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import pg from 'pg'
import { POSTGRES_URL, REDIS_URL, shown, withDeadline } from '../storage/services.js'
import { availability, type Availability } from './harness.js'

/** The servers every test is given (GRANTKIT_TEST_POSTGRES, GRANTKIT_TEST_REDIS): see ../storage/services.ts. */
export { POSTGRES_URL as PG_URL, REDIS_URL }

export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`
}

export function newPool(): pg.Pool {
  return new pg.Pool({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2000, query_timeout: 10_000, max: 5 })
}

export function newRedis(): Redis {
  return new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null, connectTimeout: 2000 })
}

async function probePg(): Promise<Availability> {
  const pool = newPool()
  try {
    await withDeadline(3000, 'PostgreSQL', () => pool.query('SELECT 1'))
    return availability('PostgreSQL', undefined)
  } catch (error) {
    return availability(`PostgreSQL at ${shown(POSTGRES_URL)}`, error)
  } finally {
    await pool.end().catch(() => undefined)
  }
}

async function probeRedis(): Promise<Availability> {
  const redis = newRedis()
  let first: unknown
  redis.on('error', (error: unknown) => void (first ??= error))
  try {
    // connectTimeout covers the TCP connection only, not a server that never answers.
    await withDeadline(3000, 'Redis', async () => {
      await redis.connect()
      await redis.ping()
    })
    return availability('Redis', undefined)
  } catch (error) {
    return availability(`Redis at ${shown(REDIS_URL)}`, first ?? error)
  } finally {
    redis.disconnect()
  }
}

export const [postgres, redis] = await Promise.all([probePg(), probeRedis()])

/** Removes every Redis key under a prefix. */
export async function clearPrefix(client: Redis, prefix: string): Promise<void> {
  const keys = await client.keys(`${prefix}*`)
  if (keys.length > 0) await client.del(...keys)
}
