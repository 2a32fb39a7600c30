/**
 * The one module that imports jose, and the front door to grantkit's own
 * node:crypto signer (`./jws.ts`). Everything else — client authentication,
 * the JWT bearer grant, the resource protector, the OAuth client — goes
 * through here, so the JWS algorithm policy is written once and a jose
 * upgrade touches one file. `test/crypto/jose.test.ts` fails when another
 * file under `src/` imports jose.
 *
 * Keys are imported once (key sets at configuration, remote sets cached by
 * jose); nothing here parses a key per request.
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  decodeProtectedHeader,
  errors as joseErrors,
  importJWK,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type FetchImplementation,
  type FlattenedJWSInput,
  type JWSHeaderParameters,
  type JSONWebKeySet,
  type JWK,
  type JWTHeaderParameters,
  type JWTPayload,
  type JWTVerifyResult,
} from 'jose'

// The fast signer for our own access and ID tokens: synchronous node:crypto
// with keys prepared once, about twice WebCrypto's ES256 throughput. It lives
// behind this module so that "how grantkit does JOSE" has one entry point;
// test/crypto/jose.test.ts checks that jose verifies everything it signs.
export { signJwt, decodeJwt, verifyOwnJws, verifyJwsWithJwk, type DecodedJwt } from './jws.js'

export type { CryptoKey, FlattenedJWSInput, JSONWebKeySet, JWK, JWSHeaderParameters, JWTPayload }

/**
 * JWS algorithms with a public verification key (RFC 7518 §3.1, RFC 8037 §3.1,
 * and `Ed25519` of RFC 9864): the one allow-list for everything grantkit
 * verifies with a public key — private_key_jwt client assertions, JWT bearer
 * grant assertions, remote JWT access tokens and the OAuth client's ID tokens.
 * `none` and HMAC are never in it, so a public key can never be used as an
 * HMAC secret (RFC 8725 §2.1, §3.1).
 *
 * @example
 * jwtVerify(token, keys, { algorithms: [...ASYMMETRIC_ALGORITHMS] })
 */
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const

/** One of {@link ASYMMETRIC_ALGORITHMS}. */
export type AsymmetricAlgorithm = (typeof ASYMMETRIC_ALGORITHMS)[number]

/**
 * HMAC JWS algorithms (RFC 7518 §3.2): only for client_secret_jwt, keyed with
 * the client's own secret (OIDC Core §9).
 *
 * @example
 * const algorithms = client.authMethod === 'client_secret_jwt' ? HMAC_ALGORITHMS : ASYMMETRIC_ALGORITHMS
 */
export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const

/**
 * Smallest HMAC key for each algorithm, in bytes: RFC 7518 §3.2 requires a key
 * at least as long as the hash output.
 */
export const HMAC_MIN_KEY_BYTES: Readonly<Record<(typeof HMAC_ALGORITHMS)[number], number>> = { HS256: 32, HS384: 48, HS512: 64 }

/** One of {@link HMAC_ALGORITHMS}. */
export type HmacAlgorithm = (typeof HMAC_ALGORITHMS)[number]

/**
 * True when `alg` is on the asymmetric allow-list.
 *
 * @example
 * if (!isAsymmetricAlgorithm(options.alg)) throw new TypeError('alg: must be asymmetric')
 */
export function isAsymmetricAlgorithm(alg: unknown): alg is AsymmetricAlgorithm {
  return (ASYMMETRIC_ALGORITHMS as readonly unknown[]).includes(alg)
}

/** A JWK set imported once; each verification picks a key by `kid`, `kty` and `alg`. */
export type LocalKeySet = ReturnType<typeof createLocalJWKSet>

/** A remote JWK set: fetched, cached and refetched for an unknown `kid` by jose. */
export type RemoteKeySet = ReturnType<typeof createRemoteJWKSet>

/** Picks the key for a JWS by its header (`kid`, `alg`): what a key set is, and what a key set fetched on demand can be. */
export type KeyLookup = (protectedHeader: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>

/** What verifies a JWS: a key set (or a key lookup), or the secret of an HMAC algorithm. */
export type VerificationKey = LocalKeySet | RemoteKeySet | KeyLookup | Uint8Array

/**
 * Imports a public JWK set once. The caller has checked the keys (public,
 * well-formed); jose imports each key on first use and keeps it.
 *
 * @example
 * const keys = localKeySet({ keys: [publicJwk] })
 */
export function localKeySet(jwks: JSONWebKeySet): LocalKeySet {
  return createLocalJWKSet(jwks)
}

/** How a remote key set is fetched. Durations in milliseconds. */
export interface RemoteKeySetOptions {
  /** The only way the key set reaches the network. */
  fetch: typeof globalThis.fetch
  /** Milliseconds before a fetch is abandoned. */
  timeoutMs: number
  /** Milliseconds after a fetch before an unknown kid may trigger another. Default jose's (30 s). */
  cooldownMs?: number
  /** Milliseconds the set is kept before it is fetched again. Default jose's (10 min). */
  cacheMaxAgeMs?: number
}

/**
 * A remote JWK set (a JWKS URI), fetched through the given fetch only.
 *
 * @example
 * const keys = remoteKeySet(new URL('https://as.example/jwks'), { fetch, timeoutMs: 5000 })
 */
export function remoteKeySet(url: URL, options: RemoteKeySetOptions): RemoteKeySet {
  const fetchImpl = options.fetch
  return createRemoteJWKSet(url, {
    timeoutDuration: options.timeoutMs,
    ...(options.cooldownMs !== undefined && { cooldownDuration: options.cooldownMs }),
    ...(options.cacheMaxAgeMs !== undefined && { cacheMaxAge: options.cacheMaxAgeMs }),
    [customFetch]: ((u: string, init: RequestInit) => fetchImpl(u, init)) as FetchImplementation,
  })
}

/** The checks of {@link verifyJwt}. Times in seconds. */
export interface VerifyJwtOptions {
  /** Accepted `alg` values: chosen by the verifier, never read from the token (RFC 8725 §3.1). */
  algorithms: readonly string[]
  /** Required `typ` header (RFC 8725 §3.11), e.g. `at+jwt`. */
  typ?: string
  /** Required `iss`, exactly. */
  issuer?: string
  /** Required `sub`, exactly. */
  subject?: string
  /** `aud` must contain one of these. */
  audience?: string | readonly string[]
  /** Claims that must be present. */
  requiredClaims?: readonly string[]
  /** Seconds since the epoch, the verifier's clock. */
  now: number
  /** Seconds of tolerance for exp, nbf and iat. */
  clockTolerance: number
}

/**
 * Verifies a compact JWS JWT: signature with an allowed algorithm, then the
 * registered claims jose checks (exp, nbf, iss, sub, aud, typ). Returns jose's
 * promise as is (no extra hop).
 *
 * @throws a jose error (see {@link asJoseError}) when anything does not hold
 * @example
 * const { payload } = await verifyJwt(token, keys, { algorithms: ['ES256'], issuer, now, clockTolerance: 60 })
 */
export function verifyJwt(token: string, key: VerificationKey, options: VerifyJwtOptions): Promise<JWTVerifyResult> {
  const opts = {
    algorithms: options.algorithms as string[],
    ...(options.typ !== undefined && { typ: options.typ }),
    ...(options.issuer !== undefined && { issuer: options.issuer }),
    ...(options.subject !== undefined && { subject: options.subject }),
    ...(options.audience !== undefined && { audience: options.audience as string | string[] }),
    ...(options.requiredClaims !== undefined && { requiredClaims: options.requiredClaims as string[] }),
    currentDate: new Date(options.now * 1000),
    clockTolerance: options.clockTolerance,
  }
  // Two calls only because jose's overloads split secrets from key-lookup functions.
  return key instanceof Uint8Array ? jwtVerify(token, key, opts) : jwtVerify(token, key, opts)
}

/**
 * The failure as a jose error (its `code` such as `ERR_JWT_EXPIRED` or
 * `ERR_JOSE_ALG_NOT_ALLOWED`, and its message), or undefined when the failure
 * did not come from jose.
 *
 * @example
 * const jose = asJoseError(cause)
 * const detail = jose !== undefined ? `rejected: ${jose.code}` : 'rejected'
 */
export function asJoseError(cause: unknown): { readonly code: string; readonly message: string } | undefined {
  return cause instanceof joseErrors.JOSEError ? cause : undefined
}

/**
 * True when a key set had no key for the token's `kid` (and `alg`): the
 * signer may have rotated its keys since the set was fetched.
 *
 * @example
 * if (isNoMatchingKey(cause)) keys = await refetch()
 */
export function isNoMatchingKey(cause: unknown): boolean {
  return asJoseError(cause)?.code === joseErrors.JWKSNoMatchingKey.code
}

/** Errors that say "this token is not good", as opposed to "the keys could not be had". */
const TOKEN_ERRORS: ReadonlySet<string> = new Set([
  joseErrors.JWTClaimValidationFailed.code,
  joseErrors.JWTExpired.code,
  joseErrors.JOSEAlgNotAllowed.code,
  joseErrors.JOSENotSupported.code,
  joseErrors.JWSInvalid.code,
  joseErrors.JWTInvalid.code,
  joseErrors.JWSSignatureVerificationFailed.code,
  joseErrors.JWKSNoMatchingKey.code,
  joseErrors.JWKSMultipleMatchingKeys.code,
  joseErrors.JWKInvalid.code,
])

/**
 * True when a verification failure is the token's fault; false when the keys
 * could not be fetched or read (time-out, network, a JWKS that is no key set),
 * which callers answer with 503 rather than "invalid token".
 *
 * @example
 * catch (cause) { return isTokenRejection(cause) ? { status: 'invalid' } : { status: 'unavailable', cause } }
 */
export function isTokenRejection(cause: unknown): boolean {
  const code = (cause as { code?: unknown } | null)?.code
  return typeof code === 'string' && TOKEN_ERRORS.has(code)
}

/**
 * The `alg` a JWT's protected header claims, unverified, or undefined when the
 * header cannot be read. Only for choosing what to try; never trust it.
 *
 * @example
 * if (!allowed.includes(peekHeaderAlg(idToken) ?? '')) throw new Error('alg not accepted')
 */
export function peekHeaderAlg(token: string): string | undefined {
  try {
    const alg = decodeProtectedHeader(token).alg
    return typeof alg === 'string' ? alg : undefined
  } catch {
    return undefined
  }
}

/** A private key imported once for jose's signer. */
export type JosePrivateKey = CryptoKey | Uint8Array

/**
 * Imports a private JWK for {@link signJwtWithJose}, once per key.
 *
 * @example
 * const key = await importPrivateJwk(jwk, 'ES256')
 */
export function importPrivateJwk(jwk: JWK, alg: string): Promise<JosePrivateKey> {
  return importJWK(jwk, alg)
}

/**
 * Signs a JWT with jose (WebCrypto), for keys the OAuth client holds as JWKs.
 * The server's own tokens use the faster `signJwt`.
 *
 * @example
 * const jwt = await signJwtWithJose(key, { alg: 'ES256', kid: 'k1' }, { iss, sub, aud, exp })
 */
export function signJwtWithJose(key: JosePrivateKey, header: JWTHeaderParameters, claims: JWTPayload): Promise<string> {
  return new SignJWT(claims).setProtectedHeader(header).sign(key)
}
