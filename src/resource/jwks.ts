import { isTokenRejection, remoteKeySet, verifyJwt } from '../crypto/jose.js'
import { audienceList, dpopBinding, isNonEmptyString, scopeList, type TokenVerifier } from './types.js'

export interface JwksVerifierSettings {
  issuer: string
  jwksUri: URL
  algorithms: string[]
  /** Seconds. */
  cooldown: number
  cacheMaxAge: number
  timeout: number
  clockSkew: number
  now: () => number
  fetch: typeof globalThis.fetch
}

/**
 * Verifies JWT access tokens (RFC 9068) against a remote JWKS. jose caches the
 * key set and refetches it for an unknown kid at most once per cooldown, so a
 * rotated key is picked up and a flood of made-up kids costs one fetch.
 */
export function createJwksVerifier(s: JwksVerifierSettings): TokenVerifier {
  const keys = remoteKeySet(s.jwksUri, {
    cooldownMs: s.cooldown * 1000,
    cacheMaxAgeMs: s.cacheMaxAge * 1000,
    timeoutMs: Math.round(s.timeout * 1000),
    // The injected fetch is the only way this module reaches the network.
    fetch: s.fetch,
  })
  return async (token) => {
    // A JWS compact serialization has exactly two dots; anything else is no JWT of ours.
    if (token.length > 8192 || token.split('.').length !== 3) return { status: 'invalid', detail: 'not a compact JWS' }
    let payload: Record<string, unknown>
    try {
      const verified = await verifyJwt(token, keys, {
        // SECURITY: asymmetric algorithms only, so a token "signed" with HS256 and the
        // public key as secret, or with alg none, never reaches a key.
        algorithms: s.algorithms,
        // RFC 9068 §4: typ must be at+jwt, so an ID token cannot pass for an access token.
        typ: 'at+jwt',
        issuer: s.issuer,
        // RFC 9068 §2.2: exp, sub and client_id are required; iss is checked above, aud by the protector.
        requiredClaims: ['exp', 'sub', 'client_id'],
        clockTolerance: s.clockSkew,
        now: s.now(),
      })
      payload = verified.payload as Record<string, unknown>
    } catch (cause) {
      if (isTokenRejection(cause)) return { status: 'invalid', detail: `jose ${(cause as { code: string }).code}` }
      // Fetch failed, timed out, or the JWKS was not a key set: fail closed.
      return { status: 'unavailable', cause }
    }
    const scope = scopeList(payload.scope)
    const aud = audienceList(payload.aud)
    if (!isNonEmptyString(payload.sub) || !isNonEmptyString(payload.client_id) || typeof payload.exp !== 'number' || scope === null || aud === null) {
      return { status: 'invalid', detail: 'malformed RFC 9068 claims' }
    }
    // SECURITY: a confirmation this protector cannot check (mTLS, RFC 8705 §3) is refused; a DPoP
    // binding goes to the protector, which refuses the token without a proof by that key (RFC 9449 §7.1).
    const jkt = dpopBinding(payload.cnf)
    if (jkt === null) return { status: 'invalid', detail: 'sender-constrained by other than DPoP' }
    return {
      status: 'active',
      token: {
        sub: payload.sub,
        clientId: payload.client_id,
        scope,
        exp: payload.exp,
        ...(typeof payload.iat === 'number' && { iat: payload.iat }),
        aud,
        claims: payload,
        ...(jkt !== undefined && { jkt }),
      },
    }
  }
}
