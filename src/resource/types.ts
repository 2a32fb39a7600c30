/**
 * An access token a resource protector accepted. Times in seconds since the epoch.
 *
 * @example
 * if (token.scope.includes('orders:write')) { … }
 */
export interface VerifiedToken {
  /** The resource owner, or the client itself for client_credentials (RFC 9068 §2.2). */
  sub: string
  /** The client the token was issued to (`client_id`). */
  clientId: string
  /** Granted scopes, split on spaces (RFC 6749 §3.3). */
  scope: string[]
  /** Expiry. */
  exp: number
  /** Issue time, when the token or the introspection answer says. */
  iat?: number
  /** Audiences (`aud`), always as an array; empty when the token names none. */
  aud: string[]
  /** Every claim as verified: the JWT payload, the introspection answer, or the stored claims. */
  claims: Record<string, unknown>
  /** Thumbprint of the DPoP key the token is bound to (`cnf.jkt`, RFC 9449 §6); absent for a bearer token. */
  jkt?: string
}

/** What a verifier concluded about one token. Internal to src/resource. */
export type VerifyOutcome =
  | { status: 'active'; token: VerifiedToken }
  /** Not a live access token for us; `detail` is for logs only. */
  | { status: 'invalid'; detail: string }
  /** The authority could not be asked (network, timeout, bad answer, storage): fail closed. */
  | { status: 'unavailable'; cause: unknown }

/** Checks one token. Never throws on hostile input. */
export type TokenVerifier = (token: string) => Promise<VerifyOutcome>

/** Maps `aud` as JWTs and RFC 7662 carry it (string or array) to an array; null when malformed. */
export function audienceList(aud: unknown): string[] | null {
  if (aud === undefined) return []
  if (typeof aud === 'string') return [aud]
  if (Array.isArray(aud) && aud.every((a) => typeof a === 'string')) return aud as string[]
  return null
}

/** Scope string to list; null when it is not a string. */
export function scopeList(scope: unknown): string[] | null {
  if (scope === undefined) return []
  if (typeof scope !== 'string') return null
  return scope.split(' ').filter((s) => s !== '')
}

/**
 * The DPoP binding of a token's `cnf` (RFC 9449 §6): undefined without one,
 * the thumbprint for `{ jkt }`, null for any other confirmation (mTLS
 * `x5t#S256`, …) or a malformed one, which this protector cannot honour.
 */
export function dpopBinding(cnf: unknown): string | undefined | null {
  if (cnf === undefined) return undefined
  if (typeof cnf !== 'object' || cnf === null || Array.isArray(cnf)) return null
  const keys = Object.keys(cnf)
  const jkt = (cnf as { jkt?: unknown }).jkt
  return keys.length === 1 && typeof jkt === 'string' && jkt !== '' ? jkt : null
}

export const isNonEmptyString = (v: unknown): v is string => typeof v === 'string' && v !== ''
