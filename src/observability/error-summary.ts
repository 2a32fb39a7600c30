/** The longest error message written to an event's JSON or a log line; past it, the message is cut. */
const MAX_MESSAGE = 1000

/** What of a thrown value goes into logs and serialised events: never its stack, its cause chain or its own fields. */
export interface ErrorSummary {
  /** `error.name` (`StorageUnavailableError`, `TypeError`, …), or the type of a thrown non-error. */
  name: string
  message: string
  /** A string `code` the error carries (`ECONNREFUSED`, a SQLSTATE), which often says more than the message. */
  code?: string
}

/**
 * The name, message and code of a thrown value, for a log line or an event's
 * JSON. `JSON.stringify(new Error('x'))` is `{}`: its fields are not
 * enumerable. The stack stays out: it says where, not what, and is noise in
 * every line of an operator's log.
 *
 * @example
 * summarizeError(new TypeError('boom')) // { name: 'TypeError', message: 'boom' }
 */
export function summarizeError(err: unknown): ErrorSummary {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code
    const out: ErrorSummary = { name: err.name, message: cut(err.message) }
    if (typeof code === 'string') out.code = code
    return out
  }
  // A thrown object is not dumped: it may be anything, a request's body included.
  const message = typeof err === 'string' || typeof err === 'number' || typeof err === 'boolean' ? String(err) : `a thrown ${err === null ? 'null' : typeof err}, not an Error`
  return { name: err === null ? 'null' : typeof err, message: cut(message) }
}

function cut(message: string): string {
  return message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}…` : message
}
