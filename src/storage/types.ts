/**
 * Storage is split into one small interface per artefact, so each grant depends
 * only on what it uses. Every one-time operation is a single method that the
 * implementation makes atomic: there is no "find, then mark used" pair for a
 * caller to race through. All times are seconds since the epoch.
 */

/** An access token as recorded for introspection and revocation. */
export interface AccessTokenRecord {
  /** Unique id; the `jti` of a JWT access token. */
  id: string
  /** SHA-256 of an opaque token (base64url). Absent for JWT tokens, which are not stored. */
  tokenHash?: string
  clientId: string
  /** Resource owner, or the client id for client_credentials. */
  sub: string
  /** Space-separated scope granted. */
  scope: string
  audience: string[]
  /** The authorization this token descends from, when revoking that must kill it. */
  grantId?: string
  issuedAt: number
  expiresAt: number
  /** Extra claims carried with the token (for example `auth_time`, `acr`). */
  claims?: Record<string, unknown>
}

export interface AccessTokenStore {
  /** Records an opaque token. */
  save(record: AccessTokenRecord & { tokenHash: string }): Promise<void>
  /** The live (unexpired, unrevoked) record for a hash, or null. */
  find(tokenHash: string): Promise<AccessTokenRecord | null>
  /** Revokes an opaque token. Unknown hashes are ignored. */
  revoke(tokenHash: string): Promise<void>
  /** Records a JWT access token's jti as revoked until it would have expired. */
  revokeJti(jti: string, expiresAt: number): Promise<void>
  isJtiRevoked(jti: string): Promise<boolean>
}

/** An authorization code (RFC 6749 §4.1.2), bound to everything it was issued for. */
export interface AuthorizationCodeRecord {
  codeHash: string
  clientId: string
  redirectUri: string
  /** Whether redirect_uri was present in the authorization request (RFC 6749 §4.1.3). */
  redirectUriSent: boolean
  scope: string
  sub: string
  grantId: string
  authTime: number
  codeChallenge?: string
  codeChallengeMethod?: 'S256' | 'plain'
  nonce?: string
  claims?: Record<string, unknown>
  issuedAt: number
  expiresAt: number
}

export type CodeConsumption =
  | { outcome: 'consumed'; record: AuthorizationCodeRecord }
  /** Redeemed before: the caller revokes what the first redemption issued (RFC 6749 §4.1.2). */
  | { outcome: 'reused'; grantId: string }
  | { outcome: 'not_found' }

export interface AuthorizationCodeStore {
  save(record: AuthorizationCodeRecord): Promise<void>
  /** Atomic remove-and-return: of concurrent callers exactly one gets 'consumed'. */
  consume(codeHash: string): Promise<CodeConsumption>
}

/** A refresh token (RFC 6749 §6), one link in its grant's rotation chain. */
export interface RefreshTokenRecord {
  tokenHash: string
  grantId: string
  clientId: string
  sub: string
  scope: string
  issuedAt: number
  expiresAt: number
  /** The grant's absolute end: rotation never extends past it. */
  absoluteExpiresAt: number
  authTime?: number
  claims?: Record<string, unknown>
}

export type RotationOutcome = 'rotated' | 'reused' | 'not_found'

export interface RefreshTokenStore {
  save(record: RefreshTokenRecord): Promise<void>
  /** The live record for a hash, or null (rotated-away tokens are not live). */
  find(tokenHash: string): Promise<RefreshTokenRecord | null>
  /** Compare-and-swap: succeeds once per token; later calls say 'reused'. */
  rotate(oldHash: string, next: RefreshTokenRecord): Promise<RotationOutcome>
  /** Revokes one token. */
  revoke(tokenHash: string): Promise<void>
}

/** Revoked authorizations: every token carrying a revoked grantId is dead. */
export interface GrantStore {
  /** Marks a grant revoked until `until` (the latest any of its tokens could expire). */
  revoke(grantId: string, until: number): Promise<void>
  isRevoked(grantId: string): Promise<boolean>
}

/** One-time identifiers: JWT `jti`s, SAML assertion IDs. */
export interface ReplayStore {
  /** Set-if-absent. True the first time a key is seen before it expires; false after. */
  markUsed(key: string, expiresAt: number): Promise<boolean>
}

/** Every store the core uses. */
export interface Storage {
  accessTokens: AccessTokenStore
  authorizationCodes: AuthorizationCodeStore
  refreshTokens: RefreshTokenStore
  grants: GrantStore
  replay: ReplayStore
}
