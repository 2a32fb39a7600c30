import type pg from 'pg'
import { translateError } from './errors.js'

/** The part of a `pg.Pool` this storage uses. */
export type PostgresPool = Pick<pg.Pool, 'query' | 'connect' | 'on' | 'end'>

/** A pool or one of its clients (inside a transaction). */
export type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient

export async function run<R extends pg.QueryResultRow = pg.QueryResultRow>(db: Queryable, text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
  try {
    return await db.query<R>(text, values)
  } catch (err) {
    throw translateError(err)
  }
}

/**
 * Runs `fn` in a transaction: everything or nothing. A statement that fails
 * rolls back what came before it; a connection that failed is not reused.
 */
export async function transaction<T>(pool: PostgresPool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  let client: pg.PoolClient
  try {
    client = await pool.connect()
  } catch (err) {
    throw translateError(err)
  }
  try {
    await client.query('BEGIN')
    const result = await fn(client)
    await client.query('COMMIT')
    client.release()
    return result
  } catch (err) {
    let healthy = true
    try {
      await client.query('ROLLBACK')
    } catch {
      healthy = false
    }
    client.release(healthy ? undefined : true)
    throw translateError(err)
  }
}

