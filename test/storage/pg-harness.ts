import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, describe } from 'vitest'
import { migrate } from '../../src/storage/postgres/index.js'
import { TABLES, versionTable } from '../../src/storage/postgres/schema.js'
import { POSTGRES_URL, shown } from './services.js'

export { POSTGRES_URL }

const HOW_TO_START = 'start it with `bash .ci/services.sh` (or `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`), or point GRANTKIT_TEST_POSTGRES at a server'

/**
 * Whether PostgreSQL answers. Under CI=true an unreachable server fails the
 * run loudly; locally the PostgreSQL tests are skipped with a message.
 * Bounded: this runs while a test file is imported, where no test or hook
 * timeout applies, so a server that accepts the connection and then never
 * answers must fail the probe rather than stall the file.
 */
export async function postgresAvailable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000, query_timeout: 3000 })
  try {
    await client.connect()
    await client.query('SELECT 1')
    return true
  } catch (err) {
    if (process.env.CI === 'true') {
      throw new Error(`PostgreSQL at ${shown(POSTGRES_URL)} is unreachable and CI=true: ${HOW_TO_START}`, { cause: err })
    }
    console.warn(`[grantkit] skipping PostgreSQL tests: ${shown(POSTGRES_URL)} is unreachable (${(err as Error).message}); ${HOW_TO_START}`)
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

/** `describe` when PostgreSQL answers, `describe.skip` otherwise. */
export const describePostgres = (await postgresAvailable()) ? describe : describe.skip

/**
 * Fresh table prefixes for one test file, all dropped after it: `gk<run>_<n>_`.
 * Also the file's shared pool, made with `Pool` (another version of pg's, see
 * client-modules.ts) when given.
 */
export function pgTables(poolConfig: pg.PoolConfig = {}, Pool: typeof pg.Pool = pg.Pool): {
  pool: pg.Pool
  /** A fresh prefix with the tables migrated. */
  fresh: () => Promise<string>
  /**
   * One migrated prefix per call of pgTables, emptied (TRUNCATE) on every
   * call: for tests that need empty tables, not new ones, and run one at a
   * time. Creating a dozen tables costs far more than emptying them.
   */
  empty: () => Promise<string>
  /** A fresh prefix with nothing created yet (dropped after the file like the others). */
  name: () => string
  drop: (prefix: string) => Promise<void>
} {
  const run = randomBytes(4).toString('hex')
  const pool = new Pool({ connectionString: POSTGRES_URL, max: 20, connectionTimeoutMillis: 10_000, ...poolConfig })
  pool.on('error', () => {})
  let n = 0
  const name = (): string => `gk${run}_${++n}_`
  const drop = async (prefix: string): Promise<void> => {
    await pool.query(`DROP TABLE IF EXISTS ${[...TABLES.map((t) => prefix + t), versionTable(prefix)].join(', ')} CASCADE`)
  }
  afterAll(async () => {
    // Whatever a failed test left behind.
    const left = await pool.query<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE tablename LIKE $1`, [`gk${run}\\_%`])
    if (left.rows.length > 0) await pool.query(`DROP TABLE IF EXISTS ${left.rows.map((r) => r.tablename).join(', ')} CASCADE`)
    await pool.end()
  })
  const fresh = async (): Promise<string> => {
    const prefix = name()
    await migrate(pool, { tablePrefix: prefix })
    return prefix
  }
  let reused: Promise<string> | undefined
  return {
    pool,
    fresh,
    async empty() {
      if (reused === undefined) {
        reused = fresh()
        return reused
      }
      const prefix = await reused
      await pool.query(`TRUNCATE ${TABLES.map((t) => prefix + t).join(', ')}`)
      return prefix
    },
    name,
    drop,
  }
}
