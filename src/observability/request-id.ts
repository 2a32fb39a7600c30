import { randomId } from '../crypto/random.js'

/**
 * An `X-Request-Id` taken as it is: printable ASCII without spaces, at most
 * 128 characters, so it cannot break a log line, a header or a JSON field.
 * Two joined headers ("a, b") fail it too, and get a fresh id.
 */
const SANE_ID = /^[\x21-\x7e]{1,128}$/

/**
 * The id of a request: the `X-Request-Id` a proxy or client sent when it is a
 * sane token, else a fresh UUID. Not `deps.randomId`: a request id is no
 * protocol value, and tests that pin the ids of tokens and grants keep them.
 *
 * @example
 * requestIdFrom('req-7f3a') // 'req-7f3a'
 * requestIdFrom('two words') // a fresh UUID
 */
export function requestIdFrom(header: string | undefined): string {
  return header !== undefined && SANE_ID.test(header) ? header : randomId()
}
