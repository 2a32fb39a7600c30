import type { ServerContext } from '../context.js'
import { checkOrigin } from '../clients/authenticate.js'
import type { Feature } from '../features/types.js'
import { idTokenAlgorithms } from '../keys/key-store.js'
import { jsonNoStore } from '../http/response.js'
import type { GrantkitRequest, GrantkitResponse } from '../http/types.js'
import { bearerError, extractBearer, type BearerErrorCode } from '../resource/bearer.js'
import { checkDpopBinding, dpopChallenge, dpopError, readDpopAuthorization, type DpopResourceErrorCode } from '../dpop/resource.js'
import { claimsForScope, SCOPE_CLAIMS } from '../tokens/id-token.js'
import { isForThisServer, validateAccessToken } from '../tokens/validate.js'
import { Scope } from '../tokens/scope.js'

/**
 * The OIDC userinfo endpoint (OIDC Core §5.3): claims of the token's subject,
 * as many as its scope releases. GET and POST.
 */
export async function userinfoEndpoint(ctx: ServerContext, req: GrantkitRequest): Promise<GrantkitResponse> {
  const realm = ctx.issuer
  const dpop = ctx.dpop?.resource
  // A request without the DPoP scheme pays one regular-expression test for it, nothing more.
  const credential = dpop === undefined ? undefined : readDpopAuthorization(req.headers.authorization)
  // Errors are told in the scheme the token came in (RFC 9449 §7.1).
  const deny = credential === undefined || dpop === undefined
    ? (error: BearerErrorCode, description: string, scope?: string) => bearerError(realm, error, description, scope)
    : (error: DpopResourceErrorCode, description: string, scope?: string) => dpopError(realm, dpop.algs, error, description, scope === undefined ? {} : { scope })
  const { token: bearer, error } = extractBearer(req, true)
  if (credential === 'malformed') return deny('invalid_request', 'The DPoP authorization header is malformed.')
  // RFC 6750 §2: one way of sending the token.
  if (error !== undefined || (credential !== undefined && bearer !== undefined)) return deny('invalid_request', 'The access token is malformed or sent more than once.')
  const token = credential?.token ?? bearer
  if (token === undefined) {
    // RFC 6750 §3.1: no credentials at all → 401 without an error code; RFC 9449 §7.1: DPoP is offered too.
    const response = bearerError(realm)
    if (dpop !== undefined) response.headers['www-authenticate'] += `, ${dpopChallenge(realm, dpop.algs)}`
    return response
  }
  const active = await validateAccessToken(ctx, token)
  if (active === null) return deny('invalid_token', 'The access token is invalid, expired or revoked.')
  if (credential === undefined) {
    // SECURITY: RFC 9449 §7.1: a DPoP-bound token is no bearer token.
    if (active.jkt !== undefined) return deny('invalid_token', 'The access token is bound to a DPoP key; send it with the DPoP scheme and a proof.')
  } else {
    // A bearer token sent with the DPoP scheme binds nothing: refused, so the scheme always means a proof was checked.
    if (active.jkt === undefined) return deny('invalid_token', 'The access token is not bound to a DPoP key.')
    // RFC 9449 §7.1: the proof is for this request (htu from the issuer, not the Host header), this token (ath) and its key.
    const failure = await checkDpopBinding(dpop!, req, ctx.endpoints.userinfo, token, active.jkt, ctx.now())
    if (failure !== undefined) return dpopError(realm, dpop!.algs, failure.error, failure.description, failure.nonce === undefined ? {} : { nonce: failure.nonce })
  }
  if (req.headers.origin !== undefined) {
    const client = await ctx.clients.find(active.clientId)
    // A page of an origin the token's client does not allow gets nothing (CORS, see checkOrigin).
    if (client === undefined) return deny('invalid_token', 'The access token is invalid, expired or revoked.')
    checkOrigin(ctx, req, client)
  }
  // SECURITY: RFC 8707 §2, RFC 9068 §4: a token audience-restricted to a resource server is for that server,
  // not for this one's userinfo, even should that server's entry list openid.
  if (!isForThisServer(ctx, active)) return deny('invalid_token', 'The access token is for another resource server.')
  // RFC 9068 §5: a token a client got for itself (client_credentials, or an
  // assertion naming the client) has the client as subject; it must never read
  // the claims of a person whose subject happens to be the same string.
  if (active.sub === active.clientId) return deny('invalid_token', 'The access token was issued to a client for itself, not for a person.')
  if (!Scope.parse(active.scope).has('openid')) return deny('insufficient_scope', 'The access token lacks the openid scope.', 'openid')
  const all = ctx.users === undefined ? undefined : await ctx.users.claims(active.sub)
  // OIDC Core §5.3.3: a subject that no longer exists is an invalid token.
  if (all === undefined) return deny('invalid_token', 'The subject of the token is unknown.')
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
