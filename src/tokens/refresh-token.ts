import type { Client } from '../clients/metadata.js'
import type { ServerContext } from '../context.js'
import { hashToken } from '../crypto/random.js'
import type { AccessTokenRecord, CoreStores, RefreshTokenRecord, RotationOutcome } from '../storage/types.js'
import type { RefreshTokenInput } from './types.js'
import { Scope } from './scope.js'
export type { RefreshTokenInput } from './types.js'

/**
 * Whether a grant gets a refresh token: the client must be registered for the
 * refresh_token grant; with OpenID Connect only when offline_access was
 * granted (OIDC Core §11), unless the client is registered with
 * `always_issue_refresh_token: true`.
 *
 * @example
 * if (shouldIssueRefreshToken(ctx.client, scope)) { … createRefreshToken(…) … }
 */
export function shouldIssueRefreshToken(client: Client, scope: string): boolean {
  if (!client.grantTypes.has('refresh_token')) return false
  const scopes = Scope.parse(scope)
  if (!scopes.has('openid')) return true
  return scopes.has('offline_access') || client.metadata.always_issue_refresh_token === true
}


/**
 * A new refresh token (256 random bits, base64url) and the record to store for
 * it; only its hash is kept. Its lifetime is `ttl.refreshToken` seconds, never
 * past `absoluteExpiresAt`. The caller saves the record.
 *
 * @example
 * const { token, record } = createRefreshToken(serverContext, { clientId, sub, scope, grantId, absoluteExpiresAt: now + serverContext.ttl.refreshTokenAbsolute })
 * await serverContext.storage.refreshTokens.save(record)
 * return issueTokens(ctx, { sub, scope, grantId, refreshToken: token })
 */
export function createRefreshToken(ctx: ServerContext, input: RefreshTokenInput): { token: string; record: RefreshTokenRecord } {
  const now = Math.floor(ctx.now())
  const token = ctx.randomToken()
  const record: RefreshTokenRecord = {
    tokenHash: hashToken(token),
    grantId: input.grantId,
    clientId: input.clientId,
    sub: input.sub,
    scope: input.scope,
    issuedAt: now,
    expiresAt: Math.min(now + ctx.ttl.refreshToken, input.absoluteExpiresAt),
    absoluteExpiresAt: input.absoluteExpiresAt,
  }
  if (input.authTime !== undefined) record.authTime = input.authTime
  if (input.sid !== undefined) record.sid = input.sid
  if (input.claims !== undefined) record.claims = input.claims
  if (input.resource !== undefined && input.resource.length > 0) record.resource = input.resource
  if (input.jkt !== undefined) record.jkt = input.jkt
  return { token, record }
}

/**
 * Rotates a refresh token and stores the opaque access token issued with its
 * successor, so that a failure leaves the presented token as it was: a client
 * told 503 keeps its refresh token, and its retry must not read as reuse
 * (RFC 9700 §4.14.2 revokes the grant on reuse).
 *
 * A store that declares `rotatesWithIssue` does both in one atomic step (one
 * statement, one script). For one that does not (a backend written before
 * 0.3.0), the access token is saved after the rotation and, when that save
 * fails, the rotation is undone: the presented token is saved again unrotated
 * and the successor, never handed out, revoked. The undo is best effort: when
 * the store is down for it too, the old token stays rotated.
 *
 * @example
 * const outcome = await rotateRefreshToken(serverContext.storage, found.record, next.record, prepared.accessTokenRecord)
 */
export async function rotateRefreshToken(
  storage: Pick<CoreStores, 'refreshTokens' | 'accessTokens'>,
  presented: RefreshTokenRecord,
  next: RefreshTokenRecord,
  accessToken: (AccessTokenRecord & { tokenHash: string }) | undefined,
): Promise<RotationOutcome> {
  const store = storage.refreshTokens
  // JWT access tokens are not stored: the rotation is the only write, and no third argument is sent.
  if (accessToken === undefined) return store.rotate(presented.tokenHash, next)
  if (store.rotatesWithIssue === true) return store.rotate(presented.tokenHash, next, { accessToken })
  const outcome = await store.rotate(presented.tokenHash, next)
  if (outcome !== 'rotated') return outcome
  try {
    await storage.accessTokens.save(accessToken)
  } catch (err) {
    try {
      // SECURITY: the successor was never delivered, so putting the presented
      // token back is no more than the client already holds.
      await store.save(presented)
      await store.revoke(next.tokenHash)
    } catch {
      // The store is still down: the original error says so.
    }
    throw err
  }
  return outcome
}
