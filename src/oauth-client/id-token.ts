import { timingSafeEqual } from 'node:crypto'
import { ProtocolError } from './errors.js'
import { ASYMMETRIC_ALGORITHMS } from '../crypto/jose.js'
import { headerAlg, verifyJwt, type RemoteKeySet } from './jwt.js'
import type { ResolvedProfile } from './provider.js'
import type { ProviderMetadata } from './types.js'

/** Seconds an ID token may be old when it arrives (OIDC Core §3.1.3.7 item 10: iat "too far away"). */
const MAX_ID_TOKEN_AGE = 600

const bad = (message: string, cause?: unknown): ProtocolError => new ProtocolError('invalid_id_token', message, cause === undefined ? undefined : { cause })

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/**
 * RFC 7515 §4.1.9: `typ` is a media type, compared case-insensitively, whose
 * `application/` prefix may be left out; so `JWT`, `jwt` and `application/jwt` are one.
 */
function isIdTokenTyp(typ: unknown): boolean {
  if (typ === undefined) return true
  if (typeof typ !== 'string') return false
  const type = typ.toLowerCase()
  return type === 'jwt' || type === 'application/jwt'
}

export interface IdTokenCheck {
  profile: ResolvedProfile
  metadata: ProviderMetadata
  keys: RemoteKeySet
  /** The nonce this flow sent, or undefined for flows that send none (password, device). */
  nonce: string | undefined
  now: number
  clockTolerance: number
}

/**
 * Validates an ID token as OIDC Core §3.1.3.7 says: signature by a key of the
 * provider's JWKS with an asymmetric algorithm (never `none`, never HMAC),
 * `iss`, `aud` containing the client_id, `azp` when there are several
 * audiences, `exp`, `iat`, and the `nonce` of this flow; and a `typ` header,
 * if any, of `JWT` (RFC 8725 §3.11).
 *
 * @returns the token's claims
 * @throws ProtocolError `invalid_id_token` or `nonce_mismatch`
 */
export async function validateIdToken(idToken: string, check: IdTokenCheck): Promise<Record<string, unknown>> {
  const { profile, metadata, now, clockTolerance } = check
  const alg = headerAlg(idToken)
  // OIDC Core §3.1.3.7 item 7 and RFC 8725 §3.1: the algorithm is ours to choose, not the token's.
  if (alg === undefined) throw bad('ID token header cannot be read')
  const advertised = metadata.id_token_signing_alg_values_supported
  const algorithms: readonly string[] = Array.isArray(advertised) ? ASYMMETRIC_ALGORITHMS.filter((a) => advertised.includes(a)) : ASYMMETRIC_ALGORITHMS
  if (!algorithms.includes(alg)) throw bad(`ID token alg ${alg.slice(0, 20)} is not accepted`)

  const expectedIssuer = metadata.issuer ?? profile.issuer
  if (expectedIssuer === undefined) throw bad(`provider "${profile.id}" has no issuer to check ID tokens against`)
  const custom = profile.quirks.acceptIdTokenIssuer
  const verified = await verifyJwt(idToken, check.keys, {
    algorithms,
    // OIDC Core §3.1.3.7 item 3: aud contains our client_id.
    audience: profile.clientId,
    ...(custom === undefined && { issuer: expectedIssuer }),
    now,
    clockTolerance,
    requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat'],
  })
  if ('problem' in verified) throw bad(`ID token rejected: ${verified.problem}`, verified.cause)
  // RFC 8725 §3.11: a JWT typed as something else (an `at+jwt` access token, a
  // `logout+jwt`) signed by the same key must not pass as an ID token. OIDC sets
  // no typ for ID tokens, so absent or `JWT` is accepted.
  if (!isIdTokenTyp(verified.header.typ)) throw bad(`ID token typ ${String(verified.header.typ).slice(0, 40)} says it is another kind of JWT`)
  const claims = verified.payload as Record<string, unknown>
  // OIDC Core §3.1.3.7 item 2: iss is the provider's issuer (or what its quirk accepts).
  if (custom !== undefined && (typeof claims.iss !== 'string' || !custom(claims.iss, claims, expectedIssuer))) throw bad('ID token iss is not the provider')
  if (typeof claims.sub !== 'string' || claims.sub === '') throw bad('ID token sub must be a non-empty string')
  // OIDC Core §3.1.3.7 items 4, 5: with several audiences azp is required; when present it is us.
  const aud = claims.aud
  if (Array.isArray(aud) && aud.length > 1 && claims.azp === undefined) throw bad('ID token has several audiences and no azp')
  if (claims.azp !== undefined && claims.azp !== profile.clientId) throw bad('ID token azp is another client')
  // OIDC Core §3.1.3.7 item 10: iat neither in the future nor too long ago.
  const iat = claims.iat as number
  if (iat > now + clockTolerance) throw bad('ID token iat is in the future')
  if (iat < now - MAX_ID_TOKEN_AGE - clockTolerance) throw bad('ID token iat is too old')
  // OIDC Core §3.1.3.7 item 11: the nonce is the one this flow sent.
  if (check.nonce !== undefined) {
    if (typeof claims.nonce !== 'string' || !sameString(claims.nonce, check.nonce)) {
      throw new ProtocolError('nonce_mismatch', 'ID token nonce is not the one this authorization sent')
    }
  }
  return claims
}
