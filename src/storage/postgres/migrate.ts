import { transaction, type PostgresPool, type Queryable } from './db.js'
import { translateError } from './errors.js'
import { checkTablePrefix, MIGRATIONS, SCHEMA_VERSION, versionTable, versionTableSql, type Migration } from './schema.js'

/** What `migrate()` did. */
export interface MigrationResult {
  /** The migrations this call applied, in order; empty when the database was up to date. */
  applied: { version: number; description: string }[]
  /** The schema version of the database afterwards. */
  version: number
}

/** A database whose schema is newer than this grantkit knows: it was migrated by a later version. */
export class SchemaVersionError extends Error {
  constructor(prefix: string, found: number) {
    super(`postgres: the tables prefixed "${prefix}" are at schema version ${found}, newer than this grantkit knows (${SCHEMA_VERSION}); upgrade grantkit, never downgrade the database`)
    this.name = 'SchemaVersionError'
  }
}

/** The advisory lock key of a prefix's migrations: processes migrating other prefixes do not wait for each other. */
const lockKey = (prefix: string): string => `grantkit:migrate:${prefix}`

/**
 * Applies `migrations` that the database lacks, oldest first, one per
 * transaction. Each transaction first takes a transaction-level advisory lock
 * on the prefix, then reads the version table: processes that start together
 * queue on the lock, and each finds what the one before it applied, so every
 * migration runs exactly once, and a failed one rolls back whole (DDL is
 * transactional in PostgreSQL) and leaves the earlier ones recorded.
 */
export async function runMigrations(pool: PostgresPool, prefix: string, migrations: readonly Migration[]): Promise<MigrationResult> {
  const p = checkTablePrefix(prefix)
  const latest = migrations.reduce((max, m) => Math.max(max, m.version), 0)
  const applied: MigrationResult['applied'] = []
  for (;;) {
    const step = await transaction(pool, async (client) => {
      // DDL on a large table may outlast the statement_timeout the storage's own pool sets for requests.
      await client.query('SET LOCAL statement_timeout = 0')
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [lockKey(p)])
      await client.query(versionTableSql(p))
      const have = await appliedVersions(client, p)
      const newest = Math.max(0, ...have)
      if (newest > latest) throw new SchemaVersionError(p, newest)
      const next = migrations.find((m) => !have.has(m.version))
      if (next === undefined) return { done: true as const, version: newest }
      await client.query(next.sql(p))
      await client.query(`INSERT INTO ${versionTable(p)} (version, description) VALUES ($1, $2)`, [next.version, next.description])
      return { done: false as const, migration: next }
    })
    if (step.done) return { applied, version: step.version }
    applied.push({ version: step.migration.version, description: step.migration.description })
  }
}

async function appliedVersions(db: Queryable, prefix: string): Promise<Set<number>> {
  const r = await db.query<{ version: number }>(`SELECT version FROM ${versionTable(prefix)}`)
  return new Set(r.rows.map((row) => row.version))
}

/**
 * Brings grantkit's tables to the latest schema version: applies each missing
 * migration once, in order, recorded in the `<prefix>schema_version` table.
 * Safe to call from several processes at once (they take turns on a
 * PostgreSQL advisory lock) and on every start. A database created by
 * grantkit 0.1.0, which had no version table, is adopted as version 1 with its
 * rows untouched.
 *
 * @throws SchemaVersionError when the database is at a newer version than this grantkit knows
 * @example
 * const { applied, version } = await migrate(pool, { tablePrefix: 'auth_' })
 * for (const m of applied) console.log(`applied ${m.version}: ${m.description}`)
 */
export async function migrate(pool: PostgresPool, options: { tablePrefix?: string } = {}): Promise<MigrationResult> {
  return runMigrations(pool, options.tablePrefix ?? 'grantkit_', MIGRATIONS)
}

/**
 * The schema version of the tables under a prefix: 0 when nothing was
 * migrated yet (also a 0.1.0 database, which recorded no version).
 *
 * @example
 * if ((await schemaVersion(pool)) < SCHEMA_VERSION) await migrate(pool)
 */
export async function schemaVersion(pool: Pick<PostgresPool, 'query'>, options: { tablePrefix?: string } = {}): Promise<number> {
  const p = checkTablePrefix(options.tablePrefix ?? 'grantkit_')
  try {
    const r = await pool.query<{ version: number | null }>(`SELECT max(version) AS version FROM ${versionTable(p)}`)
    return r.rows[0]?.version ?? 0
  } catch (err) {
    // No version table: nothing recorded yet.
    if ((err as { code?: unknown } | null)?.code === '42P01') return 0
    throw translateError(err)
  }
}
