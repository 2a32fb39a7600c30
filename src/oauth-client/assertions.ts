import { randomBytes } from 'node:crypto'
import { cachedKey } from './client-auth.js'
import { signJwt } from './jwt.js'
import type { JwtBearerProfile } from './provider.js'

/** Default lifetime of a grant assertion, in seconds: inside every provider's limit we know (Salesforce: 3 minutes). */
export const DEFAULT_ASSERTION_LIFETIME = 180

/** What goes into a JWT bearer grant assertion. */
export interface JwtAssertionInput {
  /** `iss`: who vouches, default the client_id. */
  issuer: string
  /** `sub`: whom the token is for; null leaves the claim out (a service account acting as itself). */
  subject: string | null
  /** `aud`: the token endpoint, or the provider's own value. */
  audience: string
  /** Seconds since the epoch. */
  now: number
  /** Extra claims, e.g. Google's `scope`. */
  claims?: Record<string, unknown>
}

/**
 * Builds and signs a JWT bearer grant assertion (RFC 7523 §3): iss, sub, aud,
 * iat, exp and a fresh jti, signed with the configured private key.
 *
 * @example
 * const assertion = await buildJwtAssertion(profile.jwtBearer, { issuer: 'svc', subject: 'alice', audience: tokenEndpoint, now: Date.now() / 1000 })
 */
export async function buildJwtAssertion(config: JwtBearerProfile, input: JwtAssertionInput): Promise<string> {
  const key = await cachedKey(config.privateJwk)
  const iat = Math.floor(input.now)
  return signJwt(key, {
    ...input.claims,
    iss: input.issuer,
    ...(input.subject !== null && { sub: input.subject }),
    aud: input.audience,
    iat,
    exp: iat + (config.lifetime ?? DEFAULT_ASSERTION_LIFETIME),
    jti: randomBytes(16).toString('base64url'),
  })
}
