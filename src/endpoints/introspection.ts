import { authenticateClient, CLIENT_AUTH_PARAMETERS } from '../clients/authenticate.js'
import type { Client } from '../clients/metadata.js'
import type { ServerContext } from '../context.js'
import { hashToken } from '../crypto/random.js'
import { OAuthError } from '../errors.js'
import { CLIENT_AUTH_METHODS } from '../clients/metadata.js'
import type { Feature } from '../features/types.js'
import { jsonNoStore } from '../http/response.js'
import type { GrantkitRequest, GrantkitResponse } from '../http/types.js'
import { isCutOff } from '../tokens/cutoff.js'
import { validateAccessToken } from '../tokens/validate.js'
import { readFormBody } from './form-body.js'
import { pickParameters } from './revocation.js'

const PARAMETERS = new Set(['token', 'token_type_hint', ...CLIENT_AUTH_PARAMETERS])
const INACTIVE = { active: false } as const

/** A client may see tokens issued to it; a resource server registered with `introspection_allowed: true` may see any. */
function maySee(caller: Client, tokenClientId: string): boolean {
  return caller.id === tokenClientId || caller.metadata.introspection_allowed === true
}

async function introspectAccessToken(ctx: ServerContext, caller: Client, token: string): Promise<Record<string, unknown> | null> {
  const active = await validateAccessToken(ctx, token)
  if (active === null) return null
  if (!maySee(caller, active.clientId)) return INACTIVE
  const out: Record<string, unknown> = {
    active: true,
    scope: active.scope,
    client_id: active.clientId,
    sub: active.sub,
    exp: active.expiresAt,
    iat: active.issuedAt,
    token_type: 'Bearer',
    aud: active.audience.length === 1 ? active.audience[0] : active.audience,
    iss: ctx.issuer,
    jti: active.id,
  }
  if (typeof active.claims.auth_time === 'number') out.auth_time = active.claims.auth_time
  // RFC 8693 §4.1, §2.2 of RFC 7662: who acts for the subject, for tokens issued by token exchange.
  if (typeof active.claims.act === 'object' && active.claims.act !== null) out.act = active.claims.act
  if (active.jkt !== undefined) {
    // RFC 9449 §6.2: a DPoP-bound token introspects with its key's thumbprint and its type.
    out.token_type = 'DPoP'
    out.cnf = { jkt: active.jkt }
  }
  return out
}

async function introspectRefreshToken(ctx: ServerContext, caller: Client, token: string): Promise<Record<string, unknown> | null> {
  const found = await ctx.storage.refreshTokens.find(hashToken(token))
  if (found === null) return null
  const r = found.record
  if (found.rotated || (await ctx.storage.grants.isRevoked(r.grantId))) return INACTIVE
  if (await isCutOff(ctx.storage, r.clientId, r.sub, r.issuedAt)) return INACTIVE
  if (!maySee(caller, r.clientId)) return INACTIVE
  return { active: true, scope: r.scope, client_id: r.clientId, sub: r.sub, exp: r.expiresAt, iat: r.issuedAt, token_type: 'refresh_token', iss: ctx.issuer }
}

/**
 * The introspection endpoint (RFC 7662). The caller authenticates as a client
 * (§2.1: to stop token scanning); anything not live, or not the caller's to
 * see, is `{"active": false}` (§2.2).
 */
export async function introspectionEndpoint(ctx: ServerContext, req: GrantkitRequest): Promise<GrantkitResponse> {
  const params = pickParameters(readFormBody(ctx, req), PARAMETERS)
  const { client } = await authenticateClient(ctx, req, params, ctx.endpoints.introspection)
  // RFC 7662 §2.1: the endpoint is for protected resources, which have credentials.
  if (client.isPublic) throw new OAuthError('invalid_client', { detail: 'public clients may not introspect', headers: { 'www-authenticate': `Basic realm="${ctx.issuer}"` } })
  const token = params.get('token')
  if (token === undefined) throw new OAuthError('invalid_request', { description: 'token is required.' })
  if (token.length > 8192) return jsonNoStore(200, INACTIVE)
  const refreshFirst = params.get('token_type_hint') === 'refresh_token'
  const first = refreshFirst ? await introspectRefreshToken(ctx, client, token) : await introspectAccessToken(ctx, client, token)
  const answer = first ?? (refreshFirst ? await introspectAccessToken(ctx, client, token) : await introspectRefreshToken(ctx, client, token))
  return jsonNoStore(200, answer ?? INACTIVE)
}

/** Token introspection (RFC 7662), advertised per RFC 8414 §2; callers must authenticate, so `none` is not offered. */
export const introspectionFeature: Feature = {
  name: 'introspection',
  endpoints: [{ name: 'introspection', path: '/introspect', methods: ['POST'], errors: 'json', handle: introspectionEndpoint }],
  stores: ['accessTokens', 'refreshTokens', 'grants'],
  clientMetadata: ['introspection_allowed'],
  discovery: (ctx) => ({
    introspection_endpoint: ctx.endpoints.introspection,
    introspection_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS.filter((m) => m !== 'none'),
  }),
}
