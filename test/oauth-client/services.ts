/**
 * PostgreSQL and Redis for the store tests. Locally an unreachable service
 * skips its tests with a message; with CI=true its tests fail instead.
 * Each test file gets its own table and key prefix, so files can run in parallel.
 */
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import pg from 'pg'
import { availability, type Availability } from './harness.js'

export const PG_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`
}

export function newPool(): pg.Pool {
  return new pg.Pool({ connectionString: PG_URL, connectionTimeoutMillis: 2000, max: 5 })
}

export function newRedis(): Redis {
  return new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null, connectTimeout: 2000 })
}

async function probePg(): Promise<Availability> {
  const pool = newPool()
  try {
    await pool.query('SELECT 1')
    return availability('PostgreSQL', undefined)
  } catch (error) {
    return availability(`PostgreSQL at ${PG_URL}`, error)
  } finally {
    await pool.end().catch(() => undefined)
  }
}

async function probeRedis(): Promise<Availability> {
  const redis = newRedis()
  let first: unknown
  redis.on('error', (error: unknown) => void (first ??= error))
  try {
    await redis.connect()
    await redis.ping()
    return availability('Redis', undefined)
  } catch (error) {
    return availability(`Redis at ${REDIS_URL}`, first ?? error)
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
