import type { ClientKeySet } from '../clients/keys.js'
import type { Client } from '../clients/metadata.js'
import { ASYMMETRIC_ALGORITHMS } from '../crypto/jose.js'
import { JwtAssertionError, peekJwtAssertion, verifyJwtAssertion, type VerifiedJwtAssertion } from '../crypto/jwt-assertion.js'
import { OAuthError } from '../errors.js'
import { resolveAssertionGrant } from '../tokens/assertion-grant.js'
import type { TrustRegistry } from '../trust/registry.js'
import type { GrantContext, GrantHandler } from './types.js'

/** The `grant_type` of the JWT bearer grant (RFC 7523 §2.1). */
export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer'

const invalid = (detail: string): OAuthError => new OAuthError('invalid_grant', { detail })

/** The keys and limits for an assertion's issuer: a trusted issuer, or the client itself (iss = client_id). */
function trustFor(trust: TrustRegistry, client: Client, clientKeys: ClientKeySet | undefined, iss: string) {
  const trusted = trust.jwtIssuers.get(iss)
  if (trusted !== undefined) return { keys: trusted.keys, subjects: trusted.subjects, scopes: trusted.scopes }
  // SECURITY: a client's own key may speak for the client, and for the people it
  // is configured for, never for any user of the server (issue: self-issued assertions).
  if (iss === client.id && clientKeys !== undefined) return { keys: clientKeys, subjects: client.selfAssertableSubjects, scopes: undefined }
  return undefined
}

/** An assertion that passed every RFC 7523 §3 check, and the limits of its issuer. */
export interface TrustedJwtAssertion {
  verified: VerifiedJwtAssertion
  limits: { subjects: ReadonlySet<string> | undefined; scopes: ReadonlySet<string> | undefined }
}

/**
 * Verifies a JWT assertion as RFC 7523 §3 asks, written once for the JWT
 * bearer grant and the token exchange's JWT subject and actor tokens
 * (RFC 8693 §2.1): an issuer we trust (or, with `clientKeys`, the client's own
 * registered keys and iss = client_id), its signature with an asymmetric
 * algorithm, `aud` naming this server, times and lifetime, one use per jti.
 *
 * @throws OAuthError `invalid_grant`, its `detail` saying why
 * @example
 * const { verified, limits } = await verifyTrustedJwt(ctx, assertion, { clientKeys: true })
 */
export async function verifyTrustedJwt(ctx: GrantContext, assertion: string, options: { clientKeys: boolean }): Promise<TrustedJwtAssertion> {
  const { client, config } = ctx
  if (assertion.length > 16384) throw invalid('assertion too large')
  const claimed = peekJwtAssertion(assertion)
  if (claimed === undefined) throw invalid('assertion is not a JWT')
  // RFC 7523 §3 item 1: iss must be an issuer we trust. The kid is only ever a
  // key-set lookup (jose's local JWK set), never a path or URL.
  if (claimed.iss === undefined) throw invalid('assertion has no iss')
  const trust = options.clientKeys
    ? trustFor(ctx.trust, client, claimed.iss === client.id ? ctx.clientKeys() : undefined, claimed.iss)
    : ctx.trust.jwtIssuers.get(claimed.iss)
  if (trust === undefined) throw invalid(`untrusted issuer ${claimed.iss.slice(0, 100)}`)
  try {
    const verified = await verifyJwtAssertion(assertion, {
      keys: trust.keys,
      // Asymmetric algorithms only: an issuer's public key can never become an HMAC secret.
      algorithms: ASYMMETRIC_ALGORITHMS,
      issuer: claimed.iss,
      // RFC 7523 §3 item 3: aud identifies this server: its token endpoint or its issuer.
      audience: [config.tokenEndpoint, config.issuer],
      now: ctx.now(),
      clockSkew: config.clockSkew,
      maxLifetime: config.maxAssertionLifetime,
      // One replay record per issuer and jti, shared with client authentication (RFC 7523 §3 item 7).
      replay: ctx.storage.replay,
    })
    return { verified, limits: { subjects: trust.subjects, scopes: trust.scopes } }
  } catch (cause) {
    if (cause instanceof JwtAssertionError) throw new OAuthError('invalid_grant', { detail: `assertion ${cause.detail}`, cause: cause.cause ?? cause })
    throw cause
  }
}

/**
 * RFC 7523 §2.1 and §3: a JWT from a trusted issuer (or signed by the client's
 * own registered keys) is exchanged for an access token for its subject.
 */
export const jwtBearer: GrantHandler = {
  grantType: JWT_BEARER_GRANT,
  parameters: ['assertion', 'resource'],
  // RFC 8707 §2: resource may be repeated.
  repeatable: ['resource'],
  clientAuth: 'optional',
  async handle(ctx) {
    const { params } = ctx
    const assertion = params.get('assertion')
    if (assertion === undefined) throw new OAuthError('invalid_request', { description: 'assertion is required.' })
    const resources = ctx.resources.requested()
    const { verified, limits: trust } = await verifyTrustedJwt(ctx, assertion, { clientKeys: true })
    const { sub, scope } = await resolveAssertionGrant(ctx, verified.sub, params.get('scope'), trust)
    return ctx.tokens.issue({ sub, ...ctx.resources.target(resources, scope) })
  },
}
