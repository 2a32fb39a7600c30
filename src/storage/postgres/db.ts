import { createHash } from 'node:crypto'
import type pg from 'pg'
import { StorageUnavailableError } from '../../errors.js'
import { isUnavailable, translateError } from './errors.js'

/** The part of a `pg.Pool` this storage uses. */
export type PostgresPool = Pick<pg.Pool, 'query' | 'connect' | 'on' | 'end'>

/** A pool or one of its clients (inside a transaction). */
export type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient

/** A statement prepared once per connection (see `prepared`). */
export interface PreparedStatement {
  readonly name: string
  readonly text: string
}

/**
 * A named statement: pg parses and plans it once per connection, then sends
 * only Bind/Execute for it, which saves the server a parse and a plan on every
 * call of the hot paths. The name is a digest of the text, so two tables
 * prefixes (or two grantkit versions) on one connection never share one.
 * For fixed texts only: each distinct text stays prepared on every connection.
 */
export function prepared(text: string): PreparedStatement {
  return { name: `grantkit_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`, text }
}

export async function run<R extends pg.QueryResultRow = pg.QueryResultRow>(db: Queryable, text: string | PreparedStatement, values: unknown[] = []): Promise<pg.QueryResult<R>> {
  try {
    return await (typeof text === 'string' ? db.query<R>(text, values) : db.query<R>({ name: text.name, text: text.text, values }))
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
    // A lost connection (past the deadline, dropped) is destroyed, not rolled back: the server rolls back when it goes.
    let healthy = !isUnavailable(err) && !(err instanceof StorageUnavailableError)
    if (healthy) {
      try {
        await client.query('ROLLBACK')
      } catch {
        healthy = false
      }
    }
    client.release(healthy ? undefined : true)
    throw translateError(err)
  }
}


/** The deadline-bounded pool's query with an absolute deadline (ms since the epoch); see `runBefore`. */
const QUERY_BEFORE = Symbol('grantkit.queryBefore')

/** The default deadline of one storage call, in seconds. */
export const DEFAULT_TIMEOUT = 2

/**
 * The pool with a deadline on every storage call: waiting for a connection and
 * each statement on it, all within `timeoutMs` of the call's start (for a
 * transaction, of `connect()`). Past it the call rejects with
 * StorageUnavailableError (503 at the endpoints) and the connection is
 * destroyed, never returned to the pool: its statement may still be running or
 * its answer still coming (a frozen server, a half-open socket), and the next
 * caller would read that answer as its own.
 *
 * The deadline is kept here, not by pg's `query_timeout`: pg 8.11 (the oldest
 * version the peer range allows) reads that option only from the pool's
 * config, not per query, and neither version closes the connection after it.
 */
export function withDeadline(pool: PostgresPool, timeoutMs: number): PostgresPool {
  const connect = async (deadline: number): Promise<DeadlineClient> => {
    const pending = pool.connect()
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(expired('waiting for a connection', timeoutMs)), Math.max(0, deadline - Date.now()))
    })
    try {
      return new DeadlineClient(await Promise.race([pending, late]), deadline, timeoutMs)
    } catch (err) {
      // A connection that arrives after the deadline goes back to the pool unused.
      pending.then((client) => client.release(), () => {})
      throw translateError(err)
    } finally {
      clearTimeout(timer)
    }
  }
  return {
    on: (event: 'error', listener: (err: Error) => void) => pool.on(event, listener),
    end: () => pool.end(),
    connect: () => connect(Date.now() + timeoutMs),
    query: (text: string | pg.QueryConfig, values?: unknown[]) => queryBefore(Date.now() + timeoutMs, text, values),
    [QUERY_BEFORE]: queryBefore,
  } as unknown as PostgresPool
  async function queryBefore(deadline: number, text: string | pg.QueryConfig, values?: unknown[]): Promise<pg.QueryResult> {
    if (deadline <= Date.now()) throw expired('waiting in a batch', timeoutMs)
    const client = await connect(deadline)
    try {
      const result = await client.query(text, values)
      client.release()
      return result
    } catch (err) {
      // A failed statement leaves a usable connection (a constraint, a bad value); a lost one does not.
      client.release(isUnavailable(err) ? (err as Error) : undefined)
      throw err
    }
  }
}

type QueryBefore = (deadline: number, text: string | pg.QueryConfig, values?: unknown[]) => Promise<pg.QueryResult>

/**
 * Like `run`, with the call's deadline given (ms since the epoch) rather than
 * starting now: for a statement that carries calls which already waited (a
 * batch). On a pool not made by `withDeadline`, the pool's own query.
 */
export async function runBefore<R extends pg.QueryResultRow = pg.QueryResultRow>(pool: PostgresPool, deadline: number, statement: PreparedStatement, values: unknown[]): Promise<pg.QueryResult<R>> {
  const before = (pool as { [QUERY_BEFORE]?: QueryBefore })[QUERY_BEFORE]
  const config = { name: statement.name, text: statement.text, values }
  try {
    return (await (before === undefined ? pool.query<R>(config) : before(deadline, config))) as pg.QueryResult<R>
  } catch (err) {
    throw translateError(err)
  }
}

function expired(what: string, timeoutMs: number): StorageUnavailableError {
  return new StorageUnavailableError(`postgres: no answer within ${timeoutMs} ms (${what})`)
}

/** A pooled client whose statements share one deadline; see `withDeadline`. */
class DeadlineClient {
  private released = false
  /** Set once a statement outlived the deadline: the connection is then destroyed at release. */
  private lost: Error | undefined

  /**
   * A checked-out client has no listener of the pool's: a connection that
   * drops under it would emit an unheard 'error' and crash the process. The
   * statement in progress fails by itself; the connection is then lost.
   */
  private readonly onError = (err: Error): void => {
    this.lost ??= translateError(err) as Error
  }

  constructor(
    private readonly client: pg.PoolClient,
    private readonly deadline: number,
    private readonly timeoutMs: number,
  ) {
    client.on('error', this.onError)
  }

  async query(text: string | pg.QueryConfig, values?: unknown[]): Promise<pg.QueryResult> {
    if (this.lost !== undefined) throw this.lost
    const left = this.deadline - Date.now()
    if (left <= 0) throw this.destroy(expired('statement', this.timeoutMs))
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.destroy(expired('statement', this.timeoutMs))), left)
    })
    try {
      return await Promise.race([this.client.query(text as string, values), late])
    } finally {
      clearTimeout(timer)
    }
  }

  /**
   * Takes the connection out of the pool and closes its socket at once. pg's
   * own `end()` only half-closes it and waits for the server, which may be
   * frozen; destroying the socket ends the client now (its pending statement
   * fails) and lets the pool open a fresh connection for the next caller.
   */
  private destroy(err: StorageUnavailableError): StorageUnavailableError {
    this.lost = err
    const client = this.client as pg.PoolClient & { connection?: { stream?: { destroy?: () => void } } }
    // The client ends below with no one waiting on it; onError stays attached, so its late errors are no crash.
    this.release(err)
    client.connection?.stream?.destroy?.()
    return err
  }

  /** Back to the pool, or (with an error, or after a lost statement) removed and closed. Once only. */
  release(err?: Error | boolean): void {
    if (this.released) return
    this.released = true
    const broken = this.lost ?? err
    // A healthy connection goes back to the pool, whose own idle listener takes over; a broken one keeps ours while it ends.
    if (broken === undefined || broken === false) this.client.removeListener('error', this.onError)
    this.client.release(broken)
  }
}
