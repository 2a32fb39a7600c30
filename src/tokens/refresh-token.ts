import type { Client } from '../clients/metadata.js'
import type { ServerContext } from '../context.js'
import { hashToken } from '../crypto/random.js'
import type { RefreshTokenRecord } from '../storage/types.js'

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
  const scopes = scope.split(' ')
  if (!scopes.includes('openid')) return true
  return scopes.includes('offline_access') || client.metadata.always_issue_refresh_token === true
}

/** What a refresh token is issued for: its client, subject, scope and grant. Times in seconds since the epoch. */
export interface RefreshTokenInput {
  clientId: string
  sub: string
  scope: string
  grantId: string
  /** End of the whole chain; rotation never extends past it. */
  absoluteExpiresAt: number
  authTime?: number
  claims?: Record<string, unknown>
}

/**
 * A new refresh token (256 random bits, base64url) and the record to store for
 * it; only its hash is kept. Its lifetime is `ttl.refreshToken` seconds, never
 * past `absoluteExpiresAt`. The caller saves the record.
 *
 * @example
 * const { token, record } = createRefreshToken(ctx.server, { clientId, sub, scope, grantId, absoluteExpiresAt: now + ctx.server.ttl.refreshTokenAbsolute })
 * await ctx.server.storage.refreshTokens.save(record)
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
