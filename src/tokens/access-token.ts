import type { ServerContext } from '../context.js'
import { signJwt } from '../crypto/jose.js'
import { hashToken } from '../crypto/random.js'
import type { AccessTokenRecord } from '../storage/types.js'

/** What an access token is issued for. */
export interface AccessTokenGrant {
  clientId: string
  /** Resource owner, or the client id when the client acts for itself (RFC 9068 §2.2). */
  sub: string
  scope: string
  /** The authorization it descends from, so that revoking it kills the token. */
  grantId?: string
  /** Overrides the configured audience (RFC 8707 resource indicators). */
  audience?: string | string[]
  /** Extra claims, e.g. `auth_time` (RFC 9068 §2.2.1). Must not override registered ones. */
  claims?: Record<string, unknown>
  /** Overrides the configured format (a resource server's own, RFC 8707). */
  format?: 'jwt' | 'opaque'
  /** Overrides `ttl.accessToken`, in seconds (a resource server's own). */
  ttl?: number
  /** Thumbprint of the DPoP key the token is bound to (RFC 9449 §6). */
  jkt?: string
}

/** An access token just issued. `expiresIn` in seconds, `expiresAt` in seconds since the epoch. */
export interface IssuedAccessToken {
  token: string
  /** jti of a JWT, or the record id of an opaque token. */
  id: string
  expiresIn: number
  expiresAt: number
  format: 'jwt' | 'opaque'
}

/**
 * Issues an access token in the configured format. A JWT follows RFC 9068
 * (typ `at+jwt`) and is not stored; an opaque token is 256 random bits stored
 * only as its hash. It lives `ttl.accessToken` seconds.
 *
 * @example
 * const { token, expiresIn } = await issueAccessToken(serverContext, { clientId: 'svc', sub: 'svc', scope: 'api:read' })
 */
export async function issueAccessToken(ctx: ServerContext, grant: AccessTokenGrant): Promise<IssuedAccessToken> {
  const { issued, record } = prepareAccessToken(ctx, grant)
  if (record !== undefined) await ctx.storage.accessTokens.save(record)
  return issued
}

/** An access token made but not yet stored: `record` is what to store for an opaque one, absent for a JWT. */
export interface PreparedAccessToken {
  issued: IssuedAccessToken
  record?: AccessTokenRecord & { tokenHash: string }
}

/**
 * Makes an access token like `issueAccessToken` but stores nothing, so that a
 * caller can store the record in the same atomic step as its own write (a
 * refresh rotation). The token is unusable until the record is stored.
 *
 * @example
 * const { issued, record } = prepareAccessToken(serverContext, { clientId: 'app', sub: 'alice', scope: 'api:read' })
 */
export function prepareAccessToken(ctx: ServerContext, grant: AccessTokenGrant): PreparedAccessToken {
  const now = Math.floor(ctx.now())
  const expiresIn = grant.ttl ?? ctx.ttl.accessToken
  const expiresAt = now + expiresIn
  const id = ctx.randomId()
  const audience = grant.audience ?? ctx.accessTokenAudience
  if ((grant.format ?? ctx.accessTokenFormat) === 'jwt') {
    // RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat, jti are required.
    const payload: Record<string, unknown> = {
      ...grant.claims,
      iss: ctx.issuer,
      sub: grant.sub,
      aud: audience,
      exp: expiresAt,
      iat: now,
      jti: id,
      client_id: grant.clientId,
    }
    if (grant.scope !== '') payload.scope = grant.scope
    if (grant.grantId !== undefined) payload.gid = grant.grantId
    // RFC 9449 §6.1: a DPoP-bound JWT carries the key's thumbprint as cnf.jkt.
    if (grant.jkt !== undefined) payload.cnf = { jkt: grant.jkt }
    const token = signJwt(ctx.keys.signingKey(now), 'at+jwt', payload)
    return { issued: { token, id, expiresIn, expiresAt, format: 'jwt' } }
  }
  const token = ctx.randomToken()
  const record: AccessTokenRecord & { tokenHash: string } = {
    id,
    tokenHash: hashToken(token),
    clientId: grant.clientId,
    sub: grant.sub,
    scope: grant.scope,
    audience: Array.isArray(audience) ? audience : [audience],
    ...(grant.grantId !== undefined && { grantId: grant.grantId }),
    ...(grant.claims !== undefined && { claims: grant.claims }),
    ...(grant.jkt !== undefined && { jkt: grant.jkt }),
    issuedAt: now,
    expiresAt,
  }
  return { issued: { token, id, expiresIn, expiresAt, format: 'opaque' }, record }
}
