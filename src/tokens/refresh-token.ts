import type { Client } from '../clients/metadata.js'
import type { ServerContext } from '../context.js'
import { hashToken } from '../crypto/random.js'
import type { RefreshTokenRecord } from '../storage/types.js'
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
  if (input.claims !== undefined) record.claims = input.claims
  return { token, record }
}
