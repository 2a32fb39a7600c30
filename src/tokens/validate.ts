import type { ServerContext } from '../context.js'
import { decodeJwt, verifyOwnJws } from '../crypto/jose.js'
import { hashToken } from '../crypto/random.js'
import { isCutOff, killedBy } from './cutoff.js'
import type { ActiveAccessToken } from './types.js'
export type { ActiveAccessToken } from './types.js'


const str = (v: unknown): v is string => typeof v === 'string' && v !== ''

/**
 * Checks an access token issued by this server: signature with our own key
 * (JWT) or the stored hash (opaque), expiry, and revocation of the token and
 * of the grant it descends from. Null for anything not live; never throws on
 * hostile input.
 *
 * @example
 * const active = await validateAccessToken(server.context, token)
 * if (active === null || !active.scope.split(' ').includes('api:read')) return forbidden()
 */
export async function validateAccessToken(ctx: ServerContext, token: string): Promise<ActiveAccessToken | null> {
  if (token.length === 0 || token.length > 8192) return null
  const now = ctx.now()
  let active: ActiveAccessToken
  // The latest cutoff over the token when the storage read it with the token; undefined: not read yet.
  let cutoff: number | null | undefined
  if (token.includes('.')) {
    const decoded = decodeJwt(token)
    if (decoded === null) return null
    // RFC 9068 §4: the typ must be at+jwt, so an ID token cannot pass for an access token.
    if (decoded.header.typ !== 'at+jwt' || typeof decoded.header.kid !== 'string') return null
    const key = ctx.keys.findKey(decoded.header.kid, now)
    if (key === undefined || !verifyOwnJws(decoded, key)) return null
    const p = decoded.payload
    if (p.iss !== ctx.issuer || typeof p.exp !== 'number' || typeof p.iat !== 'number' || !str(p.jti) || !str(p.sub) || !str(p.client_id)) return null
    if (p.exp <= now) return null
    if (await ctx.storage.accessTokens.isJtiRevoked(p.jti)) return null
    active = {
      id: p.jti,
      format: 'jwt',
      clientId: p.client_id,
      sub: p.sub,
      scope: typeof p.scope === 'string' ? p.scope : '',
      audience: Array.isArray(p.aud) ? (p.aud as string[]) : str(p.aud) ? [p.aud] : [],
      issuedAt: p.iat,
      expiresAt: p.exp,
      claims: p,
    }
    if (str(p.gid)) active.grantId = p.gid
    const cnf = p.cnf as { jkt?: unknown } | undefined
    if (cnf !== undefined && (typeof cnf !== 'object' || cnf === null || !str(cnf.jkt))) return null
    if (cnf !== undefined) active.jkt = cnf.jkt as string
  } else {
    const store = ctx.storage.accessTokens
    let record
    if (store.findWithCutoff !== undefined) {
      // One round trip for the token and the cutoffs over it (a storage's own fold), instead of two.
      const found = await store.findWithCutoff(hashToken(token))
      if (found === null) return null
      record = found.record
      cutoff = found.cutoff
    } else {
      record = await store.find(hashToken(token))
    }
    if (record === null || record.expiresAt <= now) return null
    active = {
      id: record.id,
      format: 'opaque',
      clientId: record.clientId,
      sub: record.sub,
      scope: record.scope,
      audience: record.audience,
      issuedAt: record.issuedAt,
      expiresAt: record.expiresAt,
      claims: record.claims ?? {},
    }
    if (record.grantId !== undefined) active.grantId = record.grantId
    if (record.jkt !== undefined) active.jkt = record.jkt
  }
  if (active.grantId !== undefined && (await ctx.storage.grants.isRevoked(active.grantId))) return null
  if (cutoff !== undefined ? killedBy(cutoff, active.issuedAt) : await isCutOff(ctx.storage, active.clientId, active.sub, active.issuedAt)) return null
  return active
}

/**
 * Whether an access token is for this server's own endpoints (userinfo, the
 * admin API): its audience holds the server's `accessTokenAudience`. A token
 * audience-restricted to a resource server is for that server alone (RFC 8707
 * §2, RFC 9068 §4), whatever scopes that server's entry lists.
 *
 * @example
 * if (!isForThisServer(ctx, active)) return bearerError(realm, 'invalid_token', 'The access token is not valid.')
 */
export function isForThisServer(ctx: ServerContext, active: ActiveAccessToken): boolean {
  const own = ctx.accessTokenAudience
  return active.audience.some((a) => (typeof own === 'string' ? a === own : own.includes(a)))
}
