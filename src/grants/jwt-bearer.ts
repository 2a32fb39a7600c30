import type { ClientKeySet } from '../clients/keys.js'
import type { Client } from '../clients/metadata.js'
import { ASYMMETRIC_ALGORITHMS } from '../crypto/jose.js'
import { JwtAssertionError, peekJwtAssertion, verifyJwtAssertion, type VerifiedJwtAssertion } from '../crypto/jwt-assertion.js'
import { OAuthError } from '../errors.js'
import { resolveAssertionGrant } from '../tokens/assertion-grant.js'
import type { TrustRegistry } from '../trust/registry.js'
import type { GrantHandler } from './types.js'

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

/**
 * RFC 7523 §2.1 and §3: a JWT from a trusted issuer (or signed by the client's
 * own registered keys) is exchanged for an access token for its subject.
 */
export const jwtBearer: GrantHandler = {
  grantType: JWT_BEARER_GRANT,
  parameters: ['assertion'],
  clientAuth: 'optional',
  async handle(ctx) {
    const { client, params, config } = ctx
    const assertion = params.get('assertion')
    if (assertion === undefined) throw new OAuthError('invalid_request', { description: 'assertion is required.' })
    if (assertion.length > 16384) throw invalid('assertion too large')
    const claimed = peekJwtAssertion(assertion)
    if (claimed === undefined) throw invalid('assertion is not a JWT')
    // RFC 7523 §3 item 1: iss must be an issuer we trust. The kid is only ever a
    // key-set lookup (jose's local JWK set), never a path or URL.
    if (claimed.iss === undefined) throw invalid('assertion has no iss')
    const trust = trustFor(ctx.trust, client, claimed.iss === client.id ? ctx.clientKeys() : undefined, claimed.iss)
    if (trust === undefined) throw invalid(`untrusted issuer ${claimed.iss.slice(0, 100)}`)

    let verified: VerifiedJwtAssertion
    try {
      verified = await verifyJwtAssertion(assertion, {
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
    } catch (cause) {
      if (cause instanceof JwtAssertionError) throw new OAuthError('invalid_grant', { detail: `assertion ${cause.detail}`, cause: cause.cause ?? cause })
      throw cause
    }
    const { sub, scope } = await resolveAssertionGrant(ctx, verified.sub, params.get('scope'), trust)
    return ctx.tokens.issue({ sub, scope })
  },
}
