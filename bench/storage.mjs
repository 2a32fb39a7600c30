// Durable storage rows: the per-run PostgreSQL tables and Redis keys, set up before the run and removed
// after it, and the CPU the (unpinned) database servers use while a storage row is measured.
import { readFileSync, readdirSync } from 'node:fs'
import { loadStorage } from './common.mjs'
import { CLK_TCK } from './machine.mjs'
import { PG_PREFIX, PG_URL, REDIS_PREFIX, REDIS_URL } from './settings.mjs'
import { warn } from './warnings.mjs'

/** What setUpStorage created, for cleanUpStorage. */
const storageCreated = { postgres: false, redis: false }

/** Rejects after `ms`: no database may hold the run up. */
function within(ms, promise, what) {
  let timer
  return Promise.race([promise, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer))
}

/**
 * Creates the per-run PostgreSQL tables (grantkit's migrate()) and checks that Redis answers.
 * A database that cannot be reached takes its rows out of the run, with a warning.
 */
export async function setUpStorage(kinds) {
  const up = { postgres: false, redis: false }
  if (kinds.has('postgres')) try {
    const { createPostgresStorage } = await loadStorage('postgres')
    const storage = createPostgresStorage({ connectionString: PG_URL, tablePrefix: PG_PREFIX })
    try {
      await within(10_000, storage.migrate(), 'PostgreSQL')
      storageCreated.postgres = true
      up.postgres = true
    } finally {
      await within(5000, storage.close(), 'PostgreSQL close').catch(() => {})
    }
  } catch (err) {
    warn(`PostgreSQL at ${PG_URL} cannot be used (${err instanceof Error ? err.message : err}): the PostgreSQL storage rows were skipped`)
  }
  if (kinds.has('redis')) try {
    const { default: Redis } = await import('ioredis')
    const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 3000, retryStrategy: () => null })
    client.on('error', () => {})
    try {
      await within(5000, client.connect().then(() => client.ping()), 'Redis')
      storageCreated.redis = true
      up.redis = true
    } finally {
      client.disconnect()
    }
  } catch (err) {
    warn(`Redis at ${REDIS_URL} cannot be used (${err instanceof Error ? err.message : err}): the Redis storage rows were skipped`)
  }
  return up
}

let cleanedUp = false
/** Drops this run's tables (prefix PG_PREFIX) and deletes its keys (SCAN + DEL under REDIS_PREFIX). */
export async function cleanUpStorage() {
  if (cleanedUp) return
  cleanedUp = true
  if (storageCreated.postgres) {
    try {
      const { default: pg } = await import('pg')
      const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000 })
      await within(5000, client.connect(), 'PostgreSQL')
      try {
        const { rows } = await client.query('SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND left(tablename, length($1)) = $1', [PG_PREFIX])
        for (const { tablename } of rows) await client.query(`DROP TABLE IF EXISTS "${tablename}"`)
        console.error(`storage clean-up: dropped ${rows.length} PostgreSQL tables ${PG_PREFIX}*`)
      } finally {
        await client.end()
      }
    } catch (err) {
      warn(`could not drop the PostgreSQL tables ${PG_PREFIX}*: ${err instanceof Error ? err.message : err}`)
    }
  }
  if (storageCreated.redis) {
    try {
      const { default: Redis } = await import('ioredis')
      const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, connectTimeout: 3000, retryStrategy: () => null })
      client.on('error', () => {})
      try {
        let cursor = '0'
        let deleted = 0
        do {
          const [next, keys] = await within(10_000, client.scan(cursor, 'MATCH', `${REDIS_PREFIX}*`, 'COUNT', 1000), 'Redis SCAN')
          cursor = next
          if (keys.length > 0) deleted += await client.del(...keys)
        } while (cursor !== '0')
        console.error(`storage clean-up: deleted ${deleted} Redis keys ${REDIS_PREFIX}*`)
      } finally {
        client.disconnect()
      }
    } catch (err) {
      warn(`could not delete the Redis keys ${REDIS_PREFIX}*: ${err instanceof Error ? err.message : err}`)
    }
  }
}

/**
 * CPU time so far (ms) of the database server's processes (postgres, redis-server), read from
 * /proc/<pid>/stat. They are not pinned: this is how much CPU they took during a run, counted
 * apart from "other load". Processes that exit during the run are missed (the pool's backends stay).
 */
export function dbCpuMs(storage) {
  const comm = storage === 'postgres' ? 'postgres' : 'redis-server'
  let ticks = 0
  let pids
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d))
  } catch {
    return NaN
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const close = stat.lastIndexOf(')')
      if (stat.slice(stat.indexOf('(') + 1, close) !== comm) continue
      const fields = stat.slice(close + 2).split(' ')
      ticks += Number(fields[11]) + Number(fields[12])
    } catch {
      // gone
    }
  }
  return (ticks * 1000) / CLK_TCK
}
