/**
 * One verifier for JWT assertions (RFC 7523 §3), for both of their uses:
 * client authentication (`client_assertion`: private_key_jwt and
 * client_secret_jwt, RFC 7523 §2.2 and OIDC Core §9) and the JWT bearer grant
 * (`assertion`, RFC 7523 §2.1). The claim checks are the same; each caller
 * gives its own keys, algorithms, expected audience and subject rule, and maps
 * a {@link JwtAssertionError} to its own error code.
 */
import type { ReplayStore } from '../storage/types.js'
import { asJoseError, decodeJwt, verifyJwt, type JWTPayload, type VerificationKey } from './jose.js'

/** Longest `jti` remembered, in characters: a replay record stays small. */
const MAX_JTI_LENGTH = 512

/**
 * Both uses share one replay namespace, keyed by issuer and jti, so that one
 * JWT cannot pass once as a client_assertion and again as a grant assertion.
 */
const REPLAY_NAMESPACE = 'jwt'

/** The replay record key of an assertion: one per issuer and jti, whatever the assertion was used for. */
export function assertionReplayKey(iss: string, jti: string): string {
  return `${REPLAY_NAMESPACE}:${JSON.stringify([iss, jti])}`
}

/** An assertion was refused; `detail` says why, for logs and events only. */
export class JwtAssertionError extends Error {
  override readonly name = 'JwtAssertionError'
  constructor(
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(detail, options)
  }
}

/** The unverified `iss` and `sub` of an assertion: only to pick whose keys verify it. */
export interface ClaimedIdentity {
  readonly iss: string | undefined
  readonly sub: string | undefined
}

/**
 * Reads `iss` and `sub` without verifying anything, so the caller can find the
 * keys (the client named by `sub`, the trusted issuer named by `iss`).
 *
 * @returns undefined when the assertion is not a compact JWS (or is over 16 KiB)
 * @example
 * const claimed = peekJwtAssertion(assertion)
 * const trust = claimed?.iss !== undefined ? registry.get(claimed.iss) : undefined
 */
export function peekJwtAssertion(assertion: string): ClaimedIdentity | undefined {
  const decoded = decodeJwt(assertion)
  if (decoded === null) return undefined
  const { iss, sub } = decoded.payload
  return { iss: typeof iss === 'string' ? iss : undefined, sub: typeof sub === 'string' ? sub : undefined }
}

/** What one use of an assertion expects. Times and durations in seconds. */
export interface JwtAssertionRules {
  /** The issuer's keys (a key set imported once), or the HMAC secret for client_secret_jwt. */
  keys: VerificationKey
  /** Accepted algorithms, from the registration and never from the token (RFC 8725 §3.1). */
  algorithms: readonly string[]
  /** The `iss` this use accepts. */
  issuer: string
  /** When set, `sub` must equal it (client authentication: the client_id); otherwise any non-empty `sub`. */
  subject?: string
  /** `aud` must contain one of these (this server's identifiers). */
  audience: readonly string[]
  /** Seconds since the epoch. */
  now: number
  /** Seconds of tolerance between the issuer's clock and ours. */
  clockSkew: number
  /** Longest accepted lifetime in seconds: exp − iat, or exp − now without iat. */
  maxLifetime: number
  /** Where used assertions are remembered until they expire. */
  replay: ReplayStore
}

/** An assertion that passed every check, its jti now spent. */
export interface VerifiedJwtAssertion {
  readonly iss: string
  readonly sub: string
  readonly jti: string
  /** Seconds since the epoch. */
  readonly exp: number
  readonly payload: JWTPayload
}

/**
 * Verifies a JWT assertion and spends its jti: signature, iss, sub, aud, exp,
 * nbf, iat, lifetime, then one use per issuer and jti. The jti is marked only
 * once everything else holds, so a rejected assertion does not burn it.
 *
 * @throws JwtAssertionError when a check fails (the caller answers invalid_client or invalid_grant)
 * @throws whatever the replay store throws when it is unavailable
 * @example
 * const { sub } = await verifyJwtAssertion(assertion, { keys, algorithms: [...ASYMMETRIC_ALGORITHMS], issuer, audience: [tokenUrl, issuer], now, clockSkew: 60, maxLifetime: 300, replay })
 */
export async function verifyJwtAssertion(assertion: string, rules: JwtAssertionRules): Promise<VerifiedJwtAssertion> {
  const { now, clockSkew } = rules
  let payload: JWTPayload
  try {
    const result = await verifyJwt(assertion, rules.keys, {
      algorithms: rules.algorithms,
      // RFC 7523 §3 item 1: iss identifies the issuer whose keys these are.
      issuer: rules.issuer,
      // RFC 7523 §3 item 2: for client authentication, sub is the client_id.
      ...(rules.subject !== undefined && { subject: rules.subject }),
      // RFC 7523 §3 item 3: aud identifies this server.
      audience: rules.audience,
      // RFC 7523 §3 items 2, 4: sub and exp are required; jti for the replay check (item 7).
      requiredClaims: ['sub', 'exp', 'jti'],
      // RFC 7523 §3 items 4, 5: exp and nbf with "some small leeway" for clock skew.
      now,
      clockTolerance: clockSkew,
    })
    payload = result.payload
  } catch (cause) {
    const jose = asJoseError(cause)
    // A key set fetched from a jwks_uri can fail to load: say why (a URL and a status, never a secret).
    const why = jose !== undefined ? `${jose.code} ${jose.message}` : cause instanceof Error ? `${cause.name} ${cause.message}` : undefined
    throw new JwtAssertionError(why !== undefined ? `rejected: ${why}` : 'rejected', { cause })
  }
  const exp = payload.exp!
  const iat = typeof payload.iat === 'number' ? payload.iat : undefined
  // RFC 7519 §4.1.6: iat is when the assertion was issued; beyond the clock skew it cannot be in the future.
  if (iat !== undefined && iat > now + clockSkew) throw new JwtAssertionError('iat in the future')
  // RFC 7523 §3 item 4: a server may reject an unreasonably far exp. exp − iat is read off the
  // issuer's clock alone, so it gets no skew; exp − now compares two clocks.
  const lifetime = iat !== undefined ? exp - iat : exp - now - clockSkew
  if (lifetime > rules.maxLifetime) throw new JwtAssertionError('lives longer than maxAssertionLifetime')
  const { jti, sub } = payload
  if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH) throw new JwtAssertionError('jti must be a non-empty string')
  if (typeof sub !== 'string' || sub === '') throw new JwtAssertionError('sub must be a non-empty string')
  // RFC 7523 §3 item 7: a jti is accepted once per issuer, whichever way the JWT is presented.
  // SECURITY: remembered until exp plus the skew, the last moment jose would still accept it.
  const fresh = await rules.replay.markUsed(assertionReplayKey(rules.issuer, jti), exp + clockSkew)
  if (!fresh) throw new JwtAssertionError('jti replayed')
  return { iss: rules.issuer, sub, jti, exp, payload }
}
