import type { ServerContext } from '../context.js'
import { isFormContentType, readForm } from '../http/form.js'
import { jsonNoStore, methodNotAllowed } from '../http/response.js'
import type { GrantkitRequest, GrantkitResponse } from '../http/types.js'
import { claimsForScope } from '../tokens/id-token.js'
import { validateAccessToken } from '../tokens/validate.js'

/** RFC 6750 §3: the error in WWW-Authenticate, and the status that goes with it. */
export function bearerError(realm: string, error?: 'invalid_request' | 'invalid_token' | 'insufficient_scope', description?: string, scope?: string): GrantkitResponse {
  let challenge = `Bearer realm="${realm}"`
  if (error !== undefined) challenge += `, error="${error}"`
  if (description !== undefined) challenge += `, error_description="${description.replace(/["\\]/g, '')}"`
  if (scope !== undefined) challenge += `, scope="${scope}"`
  const status = error === undefined || error === 'invalid_token' ? 401 : error === 'insufficient_scope' ? 403 : 400
  // RFC 6750 §3.1: a request without credentials gets no error code, in the header or the body.
  const body = error === undefined ? {} : { error, ...(description !== undefined && { error_description: description }) }
  return jsonNoStore(status, body, { 'www-authenticate': challenge })
}

/**
 * Reads a bearer token from the Authorization header (RFC 6750 §2.1) or, for
 * POST, from the form body (§2.2). More than one method is invalid_request.
 */
export function extractBearer(req: GrantkitRequest, allowBody: boolean): { token?: string; error?: 'invalid_request' } {
  const header = req.headers.authorization
  let token: string | undefined
  // RFC 6750 §3.1: another scheme (Basic, DPoP, …) is no bearer credential at all, not a malformed one.
  if (header !== undefined && /^Bearer(?: |$)/i.test(header)) {
    const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header)
    if (m === null) return { error: 'invalid_request' }
    token = m[1]
  }
  if (allowBody && req.method === 'POST' && (req.form !== undefined || isFormContentType(req.headers['content-type']))) {
    let fromBody: string | undefined
    try {
      fromBody = readForm(req).get('access_token')
    } catch {
      return { error: 'invalid_request' }
    }
    if (fromBody !== undefined) {
      if (token !== undefined) return { error: 'invalid_request' }
      token = fromBody
    }
  }
  if (req.url.searchParams.has('access_token')) return { error: 'invalid_request' }
  return token === undefined ? {} : { token }
}

/**
 * The OIDC userinfo endpoint (OIDC Core §5.3): claims of the token's subject,
 * as many as its scope releases. GET and POST.
 */
export async function userinfoEndpoint(ctx: ServerContext, req: GrantkitRequest): Promise<GrantkitResponse> {
  if (req.method !== 'GET' && req.method !== 'POST') return methodNotAllowed('GET, POST')
  const realm = ctx.issuer
  const { token, error } = extractBearer(req, true)
  if (error !== undefined) return bearerError(realm, 'invalid_request', 'The bearer token is malformed or sent more than once.')
  // RFC 6750 §3.1: no credentials at all → 401 without an error code.
  if (token === undefined) return bearerError(realm)
  const active = await validateAccessToken(ctx, token)
  if (active === null) return bearerError(realm, 'invalid_token', 'The access token is invalid, expired or revoked.')
  const scope = active.scope.split(' ')
  if (!scope.includes('openid')) return bearerError(realm, 'insufficient_scope', 'The access token lacks the openid scope.', 'openid')
  const all = ctx.users === undefined ? undefined : await ctx.users.claims(active.sub)
  // OIDC Core §5.3.3: a subject that no longer exists is an invalid token.
  if (all === undefined) return bearerError(realm, 'invalid_token', 'The subject of the token is unknown.')
  return jsonNoStore(200, claimsForScope(all, active.scope, active.sub))
}
