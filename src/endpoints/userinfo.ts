import type { ServerContext } from '../context.js'
import { jsonNoStore, methodNotAllowed } from '../http/response.js'
import type { GrantkitRequest, GrantkitResponse } from '../http/types.js'
import { bearerError, extractBearer } from '../resource/bearer.js'
import { claimsForScope } from '../tokens/id-token.js'
import { validateAccessToken } from '../tokens/validate.js'

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
