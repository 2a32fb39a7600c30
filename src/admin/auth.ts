import type { ServerContext } from '../context.js'
import type { GrantkitRequest, GrantkitResponse } from '../http/types.js'
import { bearerError, extractBearer } from '../resource/bearer.js'
import { isForThisServer, validateAccessToken } from '../tokens/validate.js'

/** Who called the admin API: the subject and client of the access token. */
export interface AdminActor {
  sub: string
  clientId: string
}

/**
 * Checks the caller of the admin API: an access token issued by this server
 * (JWT or opaque, live, not revoked; another issuer's token fails its
 * signature or `iss` check), sent in the Authorization header only, carrying
 * the admin scope. Anything else is the RFC 6750 §3 answer to send back.
 * A storage outage while checking revocation is thrown (fail closed: 503).
 */
export async function authenticateAdmin(ctx: ServerContext, req: GrantkitRequest): Promise<{ actor: AdminActor } | { response: GrantkitResponse }> {
  const realm = ctx.issuer
  // RFC 6750 §2.2/§2.3: the body is JSON here and the query ends up in logs, so only the header carries the token.
  const { token, error } = extractBearer(req, false, 'reject')
  if (error !== undefined) return { response: bearerError(realm, 'invalid_request', 'Send one access token in the Authorization header.') }
  // RFC 6750 §3.1: a request without credentials gets a bare challenge.
  if (token === undefined) return { response: bearerError(realm) }
  const active = await validateAccessToken(ctx, token)
  // SECURITY: RFC 9449 §7.1: a DPoP-bound token is no bearer token; the admin API takes bearer tokens only.
  if (active === null || active.jkt !== undefined) return { response: bearerError(realm, 'invalid_token', 'The access token is not valid.') }
  // SECURITY: RFC 8707 §2 / RFC 9068 §4: a token restricted to a resource server is for that server, not for this one's admin API,
  // even should that resource server's entry list the admin scope.
  if (!isForThisServer(ctx, active)) return { response: bearerError(realm, 'invalid_token', 'The access token is not valid.') }
  const scopes = active.scope.split(' ')
  // RFC 6750 §3.1: insufficient_scope names the scope that would do.
  if (!scopes.includes(ctx.admin.scope)) return { response: bearerError(realm, 'insufficient_scope', 'The access token lacks the admin scope.', ctx.admin.scope) }
  return { actor: { sub: active.sub, clientId: active.clientId } }
}
