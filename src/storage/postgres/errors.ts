import { StorageNotMigratedError, StorageUnavailableError } from '../../errors.js'

/** Node socket errors that mean the server cannot be reached. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN'])

/**
 * SQLSTATEs of an unavailable server (PostgreSQL Appendix A): class 08
 * connection exception, class 53 insufficient resources (too many
 * connections, disk full), 57P01–57P05 (shutdown, crash, cannot connect now,
 * idle session timeout), 57014 (statement timeout), 25006 (read-only: a
 * failover left us on a standby).
 */
const UNAVAILABLE_STATE = /^(08|53|57P0)|^57014$|^25006$/

/** Errors the pg driver raises itself when a connection fails or drops. */
const DRIVER_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable|Query read timeout|connection timeout|the database system is (starting up|shutting down|in recovery mode)/i

/** True when `err` says the database cannot be reached, rather than that the query was wrong. */
export function isUnavailable(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 3) return false
  const e = err as { code?: unknown; message?: unknown; errors?: unknown; cause?: unknown }
  if (typeof e.code === 'string' && (NETWORK_CODES.has(e.code) || UNAVAILABLE_STATE.test(e.code))) return true
  if (typeof e.message === 'string' && DRIVER_MESSAGES.test(e.message)) return true
  // Connecting to a name with several addresses fails with an AggregateError of each attempt.
  if (Array.isArray(e.errors) && e.errors.some((x) => isUnavailable(x, depth + 1))) return true
  return isUnavailable(e.cause, depth + 1)
}

/**
 * SQLSTATEs of a schema older than the code (PostgreSQL Appendix A): 42P01
 * undefined_table, 42703 undefined_column. Both mean a migration was not run.
 */
const NOT_MIGRATED_STATE = new Set(['42P01', '42703'])

/** What to run when the schema is behind; the URL is never echoed (it may hold a password). */
export const HOW_TO_MIGRATE = 'create the tables with migrate() (grantkit migrate --storage postgres://…) or schema.sql'

/** Turns a connection failure into StorageUnavailableError (503 at the endpoints), a missing table or column into StorageNotMigratedError naming the fix, and passes other errors unchanged. */
export function translateError(err: unknown): unknown {
  if (err instanceof StorageUnavailableError) return err
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code === 'string' && NOT_MIGRATED_STATE.has(code)) {
    return new StorageNotMigratedError(`postgres: ${(err as Error).message}; ${HOW_TO_MIGRATE}`, { cause: err })
  }
  if (!isUnavailable(err)) return err
  const message = err instanceof Error && err.message !== '' ? err.message : String((err as { code?: unknown }).code ?? err)
  return new StorageUnavailableError(`postgres: ${message}`, { cause: err })
}
