import type { SealedTokens, TokenStore } from './types.js'

/** The part of a `pg` Pool (or Client) this store uses. */
export interface PgQueryable {
  query(text: string, values?: unknown[]): Promise<{ rows: any[]; rowCount: number | null }>
}

/** Options of the PostgreSQL token store and its migration. */
export interface PostgresTokenStoreOptions {
  /**
   * Table name, optionally schema-qualified. Default `grantkit_client_tokens`.
   * Completed flows live beside it in `<table>_used`, so the name is at most 58 characters.
   */
  table?: string
}

function tableName(options: PostgresTokenStoreOptions): string {
  const table = options.table ?? 'grantkit_client_tokens'
  // 58 = PostgreSQL's 63-byte identifier limit minus the `_used` suffix of the companion table.
  if (!/^([A-Za-z_][A-Za-z0-9_]{0,62}\.)?[A-Za-z_][A-Za-z0-9_]{0,57}$/.test(table)) {
    throw new TypeError('table: must be an identifier of at most 58 characters, optionally schema-qualified (letters, digits, _)')
  }
  return table
}

/**
 * Creates the token table and its `_used` companion (completed flows) if they
 * do not exist. Run it once at deploy time, and again after upgrading (it is idempotent).
 *
 * @example
 * await migratePostgresTokenStore(pool)
 */
export async function migratePostgresTokenStore(pool: PgQueryable, options: PostgresTokenStoreOptions = {}): Promise<void> {
  const t = tableName(options)
  await pool.query(`
    CREATE TABLE IF NOT EXISTS ${t} (
      provider     text        NOT NULL,
      subject      text        NOT NULL,
      key_id       text        NOT NULL,
      ciphertext   text        NOT NULL,
      expires_at   timestamptz,
      lease_holder text,
      lease_until  timestamptz,
      updated_at   timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (provider, subject)
    )`)
  await pool.query(`
    CREATE TABLE IF NOT EXISTS ${t}_used (
      key        text        PRIMARY KEY,
      expires_at timestamptz NOT NULL
    )`)
}

/**
 * A token store in PostgreSQL through a `pg` Pool: one row per (provider,
 * subject) with the sealed tokens, the key id, the expiry and the refresh
 * lease; completed flows are rows of `<table>_used` until they expire. The
 * lease is taken with a single conditional UPDATE, which PostgreSQL
 * serializes on the row: of concurrent callers exactly one gets it. Lease times
 * use the database's clock, so the processes' clocks do not matter.
 *
 * @example
 * import pg from 'pg'
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL })
 * await migratePostgresTokenStore(pool)
 * const store = createPostgresTokenStore(pool)
 */
export function createPostgresTokenStore(pool: PgQueryable, options: PostgresTokenStoreOptions = {}): TokenStore {
  if (typeof pool !== 'object' || pool === null || typeof pool.query !== 'function') throw new TypeError('pool: must be a pg Pool or Client')
  const t = tableName(options)
  return {
    async get(provider, subject) {
      const { rows } = await pool.query(
        `SELECT key_id, ciphertext, extract(epoch from expires_at)::float8 AS expires_at FROM ${t} WHERE provider = $1 AND subject = $2`,
        [provider, subject],
      )
      const row = rows[0] as { key_id: string; ciphertext: string; expires_at: number | null } | undefined
      if (row === undefined) return null
      const record: SealedTokens = { keyId: row.key_id, ciphertext: row.ciphertext, expiresAt: row.expires_at === null ? null : Number(row.expires_at) }
      return record
    },
    async put(provider, subject, record) {
      await pool.query(
        `INSERT INTO ${t} (provider, subject, key_id, ciphertext, expires_at, updated_at)
         VALUES ($1, $2, $3, $4, to_timestamp($5), now())
         ON CONFLICT (provider, subject) DO UPDATE
           SET key_id = excluded.key_id, ciphertext = excluded.ciphertext, expires_at = excluded.expires_at, updated_at = now()`,
        [provider, subject, record.keyId, record.ciphertext, record.expiresAt],
      )
    },
    async delete(provider, subject) {
      await pool.query(`DELETE FROM ${t} WHERE provider = $1 AND subject = $2`, [provider, subject])
    },
    async acquireLease(provider, subject, holder, ttlMs) {
      // One statement: the row lock orders concurrent callers and the loser re-checks lease_until.
      const { rowCount } = await pool.query(
        `UPDATE ${t} SET lease_holder = $3, lease_until = now() + ($4::int * interval '1 millisecond')
         WHERE provider = $1 AND subject = $2 AND (lease_until IS NULL OR lease_until < now())
         RETURNING 1`,
        [provider, subject, holder, Math.ceil(ttlMs)],
      )
      return rowCount === 1
    },
    async releaseLease(provider, subject, holder) {
      await pool.query(
        `UPDATE ${t} SET lease_holder = NULL, lease_until = NULL WHERE provider = $1 AND subject = $2 AND lease_holder = $3`,
        [provider, subject, holder],
      )
    },
    async markUsed(key, ttlMs) {
      // One statement: the primary key orders concurrent inserts; an expired record is taken over, a live one is not.
      const { rowCount } = await pool.query(
        `INSERT INTO ${t}_used (key, expires_at) VALUES ($1, now() + ($2::bigint * interval '1 millisecond'))
         ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE ${t}_used.expires_at <= now()
         RETURNING 1`,
        [key, Math.max(1, Math.ceil(ttlMs))],
      )
      // Housekeeping rides along: a few expired records go with each completed flow.
      await pool
        .query(`DELETE FROM ${t}_used WHERE key IN (SELECT key FROM ${t}_used WHERE expires_at <= now() LIMIT 100)`)
        .catch(() => undefined)
      return rowCount === 1
    },
  }
}
