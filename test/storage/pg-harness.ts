import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, describe } from 'vitest'
import { migrate } from '../../src/storage/postgres/index.js'
import { TABLES, versionTable } from '../../src/storage/postgres/schema.js'

/** The test database: GRANTKIT_TEST_POSTGRES, or the local server `.ci/services.sh` starts. */
export const POSTGRES_URL = process.env.GRANTKIT_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test'

const HOW_TO_START = 'start it with `bash .ci/services.sh` (or `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`), or point GRANTKIT_TEST_POSTGRES at a server'

/**
 * Whether PostgreSQL answers. Under CI=true an unreachable server fails the
 * run loudly; locally the PostgreSQL tests are skipped with a message.
 */
export async function postgresAvailable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    await client.query('SELECT 1')
    return true
  } catch (err) {
    if (process.env.CI === 'true') {
      throw new Error(`PostgreSQL at ${POSTGRES_URL} is unreachable and CI=true: ${HOW_TO_START}`, { cause: err })
    }
    console.warn(`[grantkit] skipping PostgreSQL tests: ${POSTGRES_URL} is unreachable (${(err as Error).message}); ${HOW_TO_START}`)
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

/** `describe` when PostgreSQL answers, `describe.skip` otherwise. */
export const describePostgres = (await postgresAvailable()) ? describe : describe.skip

/**
 * Fresh table prefixes for one test file, all dropped after it: `gk<run>_<n>_`.
 * Also the file's shared pool.
 */
export function pgTables(poolConfig: pg.PoolConfig = {}): {
  pool: pg.Pool
  /** A fresh prefix with the tables migrated. */
  fresh: () => Promise<string>
  /** A fresh prefix with nothing created yet (dropped after the file like the others). */
  name: () => string
  drop: (prefix: string) => Promise<void>
} {
  const run = randomBytes(4).toString('hex')
  const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 20, ...poolConfig })
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
  return {
    pool,
    async fresh() {
      const prefix = name()
      await migrate(pool, { tablePrefix: prefix })
      return prefix
    },
    name,
    drop,
  }
}
