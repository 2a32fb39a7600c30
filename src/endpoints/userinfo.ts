import type { ServerContext } from '../context.js'
import { checkOrigin } from '../clients/authenticate.js'
import type { Feature } from '../features/types.js'
import { idTokenAlgorithms } from '../keys/key-store.js'
import { jsonNoStore } from '../http/response.js'
import type { GrantkitRequest, GrantkitResponse } from '../http/types.js'
import { bearerError, extractBearer } from '../resource/bearer.js'
import { claimsForScope, SCOPE_CLAIMS } from '../tokens/id-token.js'
import { validateAccessToken } from '../tokens/validate.js'
import { Scope } from '../tokens/scope.js'

/**
 * The OIDC userinfo endpoint (OIDC Core §5.3): claims of the token's subject,
 * as many as its scope releases. GET and POST.
 */
export async function userinfoEndpoint(ctx: ServerContext, req: GrantkitRequest): Promise<GrantkitResponse> {
  const realm = ctx.issuer
  const { token, error } = extractBearer(req, true)
  if (error !== undefined) return bearerError(realm, 'invalid_request', 'The bearer token is malformed or sent more than once.')
  // RFC 6750 §3.1: no credentials at all → 401 without an error code.
  if (token === undefined) return bearerError(realm)
  const active = await validateAccessToken(ctx, token)
  if (active === null) return bearerError(realm, 'invalid_token', 'The access token is invalid, expired or revoked.')
  // RFC 9068 §5: a token a client got for itself (client_credentials, or an
  // assertion naming the client) has the client as subject; it must never read
  // the claims of a person whose subject happens to be the same string.
  if (req.headers.origin !== undefined) {
    const client = await ctx.clients.find(active.clientId)
    // A page of an origin the token's client does not allow gets nothing (CORS, see checkOrigin).
    if (client === undefined) return bearerError(realm, 'invalid_token', 'The access token is invalid, expired or revoked.')
    checkOrigin(ctx, req, client)
  }
  if (active.sub === active.clientId) return bearerError(realm, 'invalid_token', 'The access token was issued to a client for itself, not for a person.')
  if (!Scope.parse(active.scope).has('openid')) return bearerError(realm, 'insufficient_scope', 'The access token lacks the openid scope.', 'openid')
  const all = ctx.users === undefined ? undefined : await ctx.users.claims(active.sub)
  // OIDC Core §5.3.3: a subject that no longer exists is an invalid token.
  if (all === undefined) return bearerError(realm, 'invalid_token', 'The subject of the token is unknown.')
  return jsonNoStore(200, claimsForScope(all, active.scope, active.sub))
}

/** OIDC userinfo (Core §5.3) and the OpenID claims and ID token algorithms it and the ID tokens use (Discovery §3). */
export const userinfoFeature: Feature = {
  name: 'userinfo',
  endpoints: [{ name: 'userinfo', path: '/userinfo', methods: ['GET', 'POST'], errors: 'json', cors: 'client', handle: userinfoEndpoint }],
  clientMetadata: ['id_token_signed_response_alg'],
  discovery: (ctx) => {
    const now = ctx.now()
    return {
      userinfo_endpoint: ctx.endpoints.userinfo,
      // Discovery §3: RS256 must be listed; the built-in key stores keep an RS256 key for ID tokens.
      id_token_signing_alg_values_supported: idTokenAlgorithms(ctx.keys, now),
      // Access tokens are signed by the store's signing key only, never by an ID-token key.
      access_token_signing_alg_values_supported: [ctx.keys.signingKey(now).alg],
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'at_hash', ...Object.values(SCOPE_CLAIMS).flat()],
      claims_parameter_supported: false,
    }
  },
}
