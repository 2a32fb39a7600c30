import { OAuthError } from '../errors.js'
import type { GrantkitResponse } from './types.js'

/** RFC 6749 §5.1: token responses and errors must not be cached. */
const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' } as const

/** A JSON response that no cache may keep. */
export function jsonNoStore(status: number, body: unknown, extra?: Record<string, string>): GrantkitResponse {
  // A literal of one shape, not spreads: this runs for every token and introspection response.
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'cache-control': NO_STORE['cache-control'], pragma: NO_STORE.pragma }
  if (extra !== undefined) Object.assign(headers, extra)
  return { status, headers, body: JSON.stringify(body) }
}

/** A public, cacheable JSON document (discovery, JWKS). */
export function jsonPublic(body: string, maxAgeSeconds: number): GrantkitResponse {
  return {
    status: 200,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': `public, max-age=${maxAgeSeconds}`,
      'access-control-allow-origin': '*',
    },
    body,
  }
}

/** The RFC 6749 §5.2 error response for an OAuthError. */
export function errorResponse(err: OAuthError): GrantkitResponse {
  return jsonNoStore(err.status, err.toJSON(), err.headers)
}

/** A bare `server_error`: nothing about what went wrong reaches the client. */
export function serverErrorResponse(): GrantkitResponse {
  return errorResponse(new OAuthError('server_error'))
}

export function notFound(): GrantkitResponse {
  return jsonNoStore(404, { error: 'not_found' })
}

export function methodNotAllowed(allow: string): GrantkitResponse {
  return jsonNoStore(
    405,
    { error: 'invalid_request', error_description: `Method not allowed; use ${allow}.` },
    { allow },
  )
}
