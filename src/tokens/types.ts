import type { Scope } from './scope.js'

// Types shared by the token helpers and the grants' capabilities. Nothing here
// depends on the server context, so grants/types.ts can name them without a cycle.

/** What a grant decided to issue. */
export interface TokenIssue {
  sub: string
  /** Scope of the access token. */
  scope: string | Scope
  grantId?: string
  /** `aud` of the access token (RFC 8707 resources); absent or empty: the server's `accessTokenAudience`. */
  audience?: string | string[]
  /** The access token's format, when not the server's (a resource server's own, RFC 8707). */
  accessTokenFormat?: 'jwt' | 'opaque'
  /** The access token's lifetime in seconds, when not `ttl.accessToken` (a resource server's own). */
  accessTokenTtl?: number
  /** Extra access-token claims. */
  claims?: Record<string, unknown>
  /** A refresh token the grant already stored (see `createRefreshToken`). */
  refreshToken?: string
  /** Issue an ID token too (OIDC Core §3.1.3.3). */
  idToken?: { authTime: number; nonce?: string; sid?: string }
  /**
   * Binds the access token to a DPoP key (RFC 9449 §6): its RFC 7638 thumbprint,
   * carried as `cnf.jkt`, and the token type becomes `DPoP`. The token endpoint
   * sets it from the request's proof; a grant need not.
   */
  jkt?: string
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
  /** The browser session it descends from, for the `sid` of the ID tokens it refreshes. */
  sid?: string
  claims?: Record<string, unknown>
  /** The resources (RFC 8707) the grant was authorized for: a refresh may name any of them, and no other. */
  resource?: string[]
  /** The DPoP key the refresh token is bound to (RFC 9449 §5: public clients only). */
  jkt?: string
}

/** An access token this server issued, found live. Times in seconds since the epoch. */
export interface ActiveAccessToken {
  id: string
  format: 'jwt' | 'opaque'
  clientId: string
  sub: string
  scope: string
  audience: string[]
  issuedAt: number
  expiresAt: number
  grantId?: string
  claims: Record<string, unknown>
  /** Thumbprint of the DPoP key the token is bound to (`cnf.jkt`, RFC 9449 §6); absent for a bearer token. */
  jkt?: string
}

/** Lifetimes of what the server issues, in seconds, with every default applied (option `ttl`). */
export interface TokenLifetimes {
  readonly accessToken: number
  readonly refreshToken: number
  /** The end of a refresh-token chain, counted from its first token; rotation never extends it. */
  readonly refreshTokenAbsolute: number
  readonly authorizationCode: number
  readonly deviceCode: number
  readonly idToken: number
  /** The `request_uri` of a pushed authorization request (RFC 9126 §2.2). */
  readonly pushedAuthorizationRequest: number
}
