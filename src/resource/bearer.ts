import { isFormContentType, readForm } from '../http/form.js'
import { jsonNoStore } from '../http/response.js'
import type { GrantkitRequest, GrantkitResponse } from '../http/types.js'

/** The error codes of RFC 6750 §3.1. */
export type BearerErrorCode = 'invalid_request' | 'invalid_token' | 'insufficient_scope'

/**
 * The answer of a protected resource per RFC 6750 §3 (with RFC 9728 §5.1
 * `resource_metadata` when given): a `WWW-Authenticate:
 * Bearer` challenge, the status that goes with the error (401 none or
 * invalid_token, 403 insufficient_scope, 400 invalid_request), and a JSON
 * body that no cache may keep.
 *
 * @example
 * bearerError('https://api.example', 'insufficient_scope', 'Needs more scope.', 'orders:read')
 * // 403, WWW-Authenticate: Bearer realm="https://api.example", error="insufficient_scope", …, scope="orders:read"
 */
export function bearerError(realm: string, error?: BearerErrorCode, description?: string, scope?: string, resourceMetadata?: string): GrantkitResponse {
  let challenge = `Bearer realm="${realm}"`
  if (error !== undefined) challenge += `, error="${error}"`
  if (description !== undefined) challenge += `, error_description="${description.replace(/["\\]/g, '')}"`
  if (scope !== undefined) challenge += `, scope="${scope}"`
  // RFC 9728 §5.1: where the client finds this resource's metadata (a URL, checked at construction: no quote in it).
  if (resourceMetadata !== undefined) challenge += `, resource_metadata="${resourceMetadata}"`
  const status = error === undefined || error === 'invalid_token' ? 401 : error === 'insufficient_scope' ? 403 : 400
  // RFC 6750 §3.1: a request without credentials gets no error code, in the header or the body.
  const body = error === undefined ? {} : { error, ...(description !== undefined && { error_description: description }) }
  return jsonNoStore(status, body, { 'www-authenticate': challenge })
}

/**
 * What to do with `access_token` in the query (RFC 6750 §2.3): `reject` it as
 * invalid_request, `ignore` it as if absent, or `accept` it as a credential.
 */
export type QueryTokenPolicy = 'reject' | 'ignore' | 'accept'

/**
 * True when a bearer token may come in this request's body (RFC 6750 §2.2):
 * body tokens are allowed, the method is POST and the body is a form.
 * Adapters ask this before reading a body they would otherwise leave alone.
 */
export function bodyMayCarryToken(req: GrantkitRequest, allowBody: boolean): boolean {
  return allowBody && req.method === 'POST' && isFormContentType(req.headers['content-type'])
}

/**
 * Reads a bearer token from the Authorization header (RFC 6750 §2.1), from
 * the form body of a POST when `allowBody` (§2.2), and from the query as
 * `query` says (§2.3). A token in more than one place, a malformed header or
 * a repeated parameter is invalid_request. A token in a place not allowed is
 * not looked at, except that `query: 'reject'` refuses one.
 *
 * @example
 * const { token, error } = extractBearer(req, false, 'ignore')
 */
export function extractBearer(req: GrantkitRequest, allowBody: boolean, query: QueryTokenPolicy = 'reject'): { token?: string; error?: 'invalid_request' } {
  const header = req.headers.authorization
  const found: string[] = []
  // RFC 6750 §3.1: another scheme (Basic, DPoP, …) is no bearer credential at all, not a malformed one.
  if (header !== undefined && /^Bearer(?: |$)/i.test(header)) {
    // RFC 6750 §2.1: b64token syntax, exactly one credential.
    const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header)
    if (m === null || m[1] === undefined) return { error: 'invalid_request' }
    found.push(m[1])
  }
  if (bodyMayCarryToken(req, allowBody)) {
    if (req.bodyTooLarge === true) return { error: 'invalid_request' }
    let fromBody: string | undefined
    try {
      // Strict: malformed encoding or a repeated parameter is invalid_request.
      fromBody = readForm(req).get('access_token')
    } catch {
      return { error: 'invalid_request' }
    }
    if (fromBody !== undefined) found.push(fromBody)
  }
  if (query === 'reject') {
    if (req.url.searchParams.has('access_token')) return { error: 'invalid_request' }
  } else if (query === 'accept') {
    const values = req.url.searchParams.getAll('access_token')
    if (values.length > 1) return { error: 'invalid_request' }
    // As in a form (RFC 6749 §3.1), a parameter without a value counts as omitted.
    if (values[0] !== undefined && values[0] !== '') found.push(values[0])
  }
  // RFC 6750 §2: clients MUST NOT use more than one method to transmit the token.
  if (found.length > 1) return { error: 'invalid_request' }
  return found[0] === undefined ? {} : { token: found[0] }
}
