import { authenticateClient, CLIENT_AUTH_PARAMETERS } from '../clients/authenticate.js'
import type { ServerContext } from '../context.js'
import { hashToken } from '../crypto/random.js'
import { OAuthError } from '../errors.js'
import { CLIENT_AUTH_METHODS } from '../clients/metadata.js'
import type { Feature } from '../features/types.js'
import { jsonNoStore } from '../http/response.js'
import type { GrantkitRequest, GrantkitResponse } from '../http/types.js'
import { validateAccessToken } from '../tokens/validate.js'
import { readFormBody } from './form-body.js'

const PARAMETERS = new Set(['token', 'token_type_hint', ...CLIENT_AUTH_PARAMETERS])

/** Parameters the endpoint reads, the rest dropped (like the token endpoint). */
export function pickParameters(params: ReadonlyMap<string, string>, allowed: ReadonlySet<string>): Map<string, string> {
  const out = new Map<string, string>()
  for (const [k, v] of params) if (allowed.has(k)) out.set(k, v)
  return out
}

async function revokeRefreshToken(ctx: ServerContext, clientId: string, hash: string): Promise<boolean> {
  const found = await ctx.storage.refreshTokens.find(hash)
  if (found === null) return false
  // RFC 7009 §2.1: a client may only revoke its own tokens; for another's we answer 200 and do nothing.
  if (found.record.clientId !== clientId) return true
  await ctx.storage.refreshTokens.revoke(hash)
  // RFC 7009 §2.1: revoking a refresh token SHOULD also invalidate the access tokens of the same grant.
  await ctx.storage.grants.revoke(found.record.grantId, found.record.absoluteExpiresAt + ctx.ttl.accessToken)
  return true
}

async function revokeAccessToken(ctx: ServerContext, clientId: string, token: string): Promise<boolean> {
  const active = await validateAccessToken(ctx, token)
  if (active === null) return false
  if (active.clientId !== clientId) return true
  if (active.format === 'opaque') await ctx.storage.accessTokens.revoke(hashToken(token))
  // A JWT cannot be recalled; its jti is remembered as revoked until it would have expired.
  else await ctx.storage.accessTokens.revokeJti(active.id, active.expiresAt)
  return true
}

/**
 * The revocation endpoint (RFC 7009). `token_type_hint` only orders the
 * look-ups; unknown, invalid and already revoked tokens are answered 200
 * (§2.2), so the endpoint tells nothing about tokens that are not yours.
 */
export async function revocationEndpoint(ctx: ServerContext, req: GrantkitRequest): Promise<GrantkitResponse> {
  const params = pickParameters(readFormBody(ctx, req), PARAMETERS)
  const { client } = await authenticateClient(ctx, req, params, ctx.endpoints.revocation)
  const token = params.get('token')
  if (token === undefined) throw new OAuthError('invalid_request', { description: 'token is required.' })
  if (token.length <= 8192) {
    const hash = hashToken(token)
    const refreshFirst = params.get('token_type_hint') === 'refresh_token'
    const done = refreshFirst ? await revokeRefreshToken(ctx, client.id, hash) : await revokeAccessToken(ctx, client.id, token)
    if (!done) {
      if (refreshFirst) await revokeAccessToken(ctx, client.id, token)
      else await revokeRefreshToken(ctx, client.id, hash)
    }
  }
  ctx.events.emit({ type: 'token.revoked', clientId: client.id }, req.requestId)
  return jsonNoStore(200, {})
}

/** Token revocation (RFC 7009), advertised per RFC 8414 §2. */
export const revocationFeature: Feature = {
  name: 'revocation',
  endpoints: [{ name: 'revocation', path: '/revoke', methods: ['POST'], errors: 'json', cors: 'client', handle: revocationEndpoint }],
  stores: ['accessTokens', 'refreshTokens', 'grants'],
  discovery: (ctx) => ({
    revocation_endpoint: ctx.endpoints.revocation,
    revocation_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
  }),
}
