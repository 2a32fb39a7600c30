/**
 * The one place the client touches jose: signing client and grant assertions,
 * fetching a provider's keys, and verifying ID tokens.
 */
import { createRemoteJWKSet, customFetch, decodeProtectedHeader, errors as joseErrors, importJWK, jwtVerify, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose'

export type { JWK, JWTPayload }
export type RemoteKeySet = ReturnType<typeof createRemoteJWKSet>

/** Asymmetric algorithms only: `none` and HMAC (keyed with a public key) never verify an ID token. */
export const ASYMMETRIC_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519']

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
  key: CryptoKey | Uint8Array
  alg: string
  kid: string | undefined
}

export async function importSigningKey(jwk: JWK): Promise<SigningKey> {
  const alg = algorithmOf(jwk)
  return { key: await importJWK(jwk, alg), alg, kid: typeof jwk.kid === 'string' ? jwk.kid : undefined }
}

/** Signs a JWT with the given claims (seconds since the epoch for times). */
export function signJwt(key: SigningKey, claims: JWTPayload, typ?: string): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, ...(key.kid !== undefined && { kid: key.kid }), ...(typ !== undefined && { typ }) })
    .sign(key.key)
}

/** A provider's JWKS, fetched through the client's own fetch. */
export function remoteKeySet(url: string, fetchImpl: typeof fetch, timeoutMs: number): RemoteKeySet {
  return createRemoteJWKSet(new URL(url), {
    timeoutDuration: timeoutMs,
    [customFetch]: (u: string, init: RequestInit) => fetchImpl(u, init),
  })
}

/** The `alg` a JWT's header claims, or undefined when the header cannot be read. */
export function headerAlg(token: string): string | undefined {
  try {
    const alg = decodeProtectedHeader(token).alg
    return typeof alg === 'string' ? alg : undefined
  } catch {
    return undefined
  }
}

/** Verifies signature, audience and times; returns the payload or a reason for logs. */
export async function verifyJwt(
  token: string,
  keys: RemoteKeySet,
  options: { algorithms: string[]; audience: string; issuer?: string; now: number; clockTolerance: number; requiredClaims: string[] },
): Promise<{ payload: JWTPayload } | { problem: string; cause: unknown }> {
  try {
    const { payload } = await jwtVerify(token, keys, {
      algorithms: options.algorithms,
      audience: options.audience,
      ...(options.issuer !== undefined && { issuer: options.issuer }),
      currentDate: new Date(options.now * 1000),
      clockTolerance: options.clockTolerance,
      requiredClaims: options.requiredClaims,
    })
    return { payload }
  } catch (cause) {
    const problem = cause instanceof joseErrors.JOSEError ? `${cause.code}: ${cause.message}` : cause instanceof Error ? cause.message : 'verification failed'
    return { problem, cause }
  }
}
