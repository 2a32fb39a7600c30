/**
 * What the OAuth client needs from JOSE: signing client and grant assertions,
 * fetching a provider's keys, and verifying ID tokens. Every call goes through
 * `../crypto/jose.ts`, grantkit's one jose module, and its algorithm allow-list.
 */
import {
  asJoseError,
  importPrivateJwk,
  peekHeaderAlg,
  remoteKeySet as joseRemoteKeySet,
  signJwtWithJose,
  verifyJwt as joseVerifyJwt,
  type JosePrivateKey,
  type JWK,
  type JWTPayload,
  type RemoteKeySet,
} from '../crypto/jose.js'

export type { JWK, JWTPayload, RemoteKeySet }

/** The JWS algorithm a private JWK signs with: its `alg`, or the usual one for its key type. */
export function algorithmOf(jwk: JWK): string {
  if (typeof jwk.alg === 'string') return jwk.alg
  if (jwk.kty === 'RSA') return 'RS256'
  if (jwk.kty === 'EC') return ({ 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' } as Record<string, string>)[jwk.crv ?? ''] ?? 'ES256'
  if (jwk.kty === 'OKP') return 'EdDSA'
  throw new TypeError(`JWK of kty ${String(jwk.kty)} has no default algorithm; set "alg"`)
}

/** A private key imported once, with its algorithm and kid. */
export interface SigningKey {
  key: JosePrivateKey
  alg: string
  kid: string | undefined
}

export async function importSigningKey(jwk: JWK): Promise<SigningKey> {
  const alg = algorithmOf(jwk)
  return { key: await importPrivateJwk(jwk, alg), alg, kid: typeof jwk.kid === 'string' ? jwk.kid : undefined }
}

/** Signs a JWT with the given claims (seconds since the epoch for times). */
export function signJwt(key: SigningKey, claims: JWTPayload, typ?: string): Promise<string> {
  return signJwtWithJose(key.key, { alg: key.alg, ...(key.kid !== undefined && { kid: key.kid }), ...(typ !== undefined && { typ }) }, claims)
}

/** A provider's JWKS, fetched through the client's own fetch. */
export function remoteKeySet(url: string, fetchImpl: typeof fetch, timeoutMs: number): RemoteKeySet {
  return joseRemoteKeySet(new URL(url), { fetch: fetchImpl, timeoutMs })
}

/** The `alg` a JWT's header claims, or undefined when the header cannot be read. */
export function headerAlg(token: string): string | undefined {
  return peekHeaderAlg(token)
}

/** Verifies signature, audience and times; returns the payload and protected header, or a reason for logs. */
export async function verifyJwt(
  token: string,
  keys: RemoteKeySet,
  options: { algorithms: readonly string[]; audience: string; issuer?: string; now: number; clockTolerance: number; requiredClaims: string[] },
): Promise<{ payload: JWTPayload; header: Record<string, unknown> } | { problem: string; cause: unknown }> {
  try {
    const { payload, protectedHeader } = await joseVerifyJwt(token, keys, options)
    return { payload, header: protectedHeader as Record<string, unknown> }
  } catch (cause) {
    const jose = asJoseError(cause)
    const problem = jose !== undefined ? `${jose.code}: ${jose.message}` : cause instanceof Error ? cause.message : 'verification failed'
    return { problem, cause }
  }
}
