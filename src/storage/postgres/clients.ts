import type { ClientStore, StoredClientRecord } from '../types.js'
import { decodeRecord, encodeRecord } from '../codec.js'
import { run, type PostgresPool } from './db.js'

/**
 * Stored clients in PostgreSQL: one row per client, the record as jsonb and
 * its version beside it, so that `update` is one `UPDATE … WHERE version = $n`
 * (the row lock makes exactly one of concurrent writers win).
 */
export function postgresClients(pool: PostgresPool, table: string): ClientStore {
  const decode = (row: { record: object }): StoredClientRecord => decodeRecord<StoredClientRecord>('client', row.record)
  return {
    async create(record) {
      const r = await run(pool, `INSERT INTO ${table} (client_id, record, version) VALUES ($1, $2, $3) ON CONFLICT (client_id) DO NOTHING`, [
        record.clientId,
        encodeRecord(record),
        record.version,
      ])
      return r.rowCount === 1
    },
    async get(clientId) {
      const r = await run<{ record: object }>(pool, `SELECT record FROM ${table} WHERE client_id = $1`, [clientId])
      const row = r.rows[0]
      return row === undefined ? null : decode(row)
    },
    async update(record, expectedVersion) {
      const r = await run(pool, `UPDATE ${table} SET record = $2, version = $3 WHERE client_id = $1 AND version = $4`, [
        record.clientId,
        encodeRecord(record),
        record.version,
        expectedVersion,
      ])
      return r.rowCount === 1
    },
    async delete(clientId) {
      const r = await run(pool, `DELETE FROM ${table} WHERE client_id = $1`, [clientId])
      return r.rowCount === 1
    },
    async list(page) {
      const r =
        page.after === undefined
          ? await run<{ record: object }>(pool, `SELECT record FROM ${table} ORDER BY client_id LIMIT $1`, [page.limit])
          : await run<{ record: object }>(pool, `SELECT record FROM ${table} WHERE client_id > $1 ORDER BY client_id LIMIT $2`, [page.after, page.limit])
      return r.rows.map(decode)
    },
  }
}
