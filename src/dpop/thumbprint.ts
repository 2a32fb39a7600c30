import { createHash } from 'node:crypto'

/** The members of each key type that RFC 7638 §3.2 hashes, in lexicographic order. */
const REQUIRED_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  EC: ['crv', 'kty', 'x', 'y'],
  RSA: ['e', 'kty', 'n'],
  OKP: ['crv', 'kty', 'x'],
}

/** Members that only a private (or symmetric) JWK has (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const

/**
 * True when `jwk` is an object holding a public key only: an EC, RSA or OKP
 * key with its required members as strings and none of the private ones
 * (RFC 9449 §4.3 step 7: the proof's `jwk` must not contain a private key).
 *
 * @example
 * if (!isPublicJwk(header.jwk)) throw new OAuthError('invalid_dpop_proof')
 */
export function isPublicJwk(jwk: unknown): jwk is Record<string, string> {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) return false
  const members = REQUIRED_MEMBERS[(jwk as { kty?: unknown }).kty as string]
  if (members === undefined || !Object.hasOwn(REQUIRED_MEMBERS, (jwk as { kty: string }).kty)) return false
  for (const m of members) if (typeof (jwk as Record<string, unknown>)[m] !== 'string') return false
  for (const m of PRIVATE_MEMBERS) if (Object.hasOwn(jwk, m)) return false
  return true
}

/**
 * The JWK SHA-256 thumbprint of RFC 7638 (base64url), as RFC 9449 §6.1 puts it
 * in `cnf.jkt`: the required members only, in lexicographic order, with no
 * whitespace. `jwk` must have passed {@link isPublicJwk}.
 *
 * @example
 * jwkThumbprint({ kty: 'EC', crv: 'P-256', x: '…', y: '…' }) // 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs'
 */
export function jwkThumbprint(jwk: Record<string, string>): string {
  const members = REQUIRED_MEMBERS[jwk.kty as string]!
  // JSON.stringify of an object built in this order gives exactly the canonical form of RFC 7638 §3.3.
  const canonical: Record<string, string> = {}
  for (const m of members) canonical[m] = jwk[m]!
  return createHash('sha256').update(JSON.stringify(canonical)).digest('base64url')
}

/**
 * The `ath` of RFC 9449 §4.2: base64url of the SHA-256 of the access token's ASCII.
 *
 * @example
 * const ath = accessTokenHash(accessToken)
 */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'ascii').digest('base64url')
}
