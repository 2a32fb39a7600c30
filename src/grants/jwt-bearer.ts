import { decodeJwt as peekJwt, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose'
import type { ServerContext } from '../context.js'
import type { Client } from '../clients/metadata.js'
import { OAuthError } from '../errors.js'
import { resolveAssertionGrant } from '../tokens/assertion-grant.js'
import { issueTokens } from '../tokens/issue.js'
import type { GrantHandler } from './types.js'

/** The `grant_type` of the JWT bearer grant (RFC 7523 §2.1). */
export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer'

/** Asymmetric algorithms only: an issuer's public key can never become an HMAC secret. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']

const invalid = (detail: string): OAuthError => new OAuthError('invalid_grant', { detail })

/** The keys and limits for an assertion's issuer: a trusted issuer, or the client itself (iss = client_id). */
function trustFor(ctx: ServerContext, client: Client, iss: string) {
  const trusted = ctx.trust.jwtIssuers.get(iss)
  if (trusted !== undefined) return { keys: trusted.keys, subjects: trusted.subjects, scopes: trusted.scopes }
  if (iss === client.id && client.keys !== undefined) return { keys: client.keys, subjects: undefined, scopes: undefined }
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
    const { server, client, params } = ctx
    const assertion = params.get('assertion')
    if (assertion === undefined) throw new OAuthError('invalid_request', { description: 'assertion is required.' })
    if (assertion.length > 16384) throw invalid('assertion too large')
    let claimed: JWTPayload
    try {
      claimed = peekJwt(assertion)
    } catch {
      throw invalid('assertion is not a JWT')
    }
    // RFC 7523 §3 item 1: iss must be an issuer we trust. The kid is only ever a
    // key-set lookup (jose's local JWK set), never a path or URL.
    if (typeof claimed.iss !== 'string') throw invalid('assertion has no iss')
    const trust = trustFor(server, client, claimed.iss)
    if (trust === undefined) throw invalid(`untrusted issuer ${claimed.iss.slice(0, 100)}`)

    const now = server.now()
    let payload: JWTPayload
    try {
      const result = await jwtVerify(assertion, trust.keys, {
        algorithms: ALGORITHMS,
        issuer: claimed.iss,
        // RFC 7523 §3 item 3: aud identifies this server: its token endpoint or its issuer.
        audience: [server.endpoints.token, server.issuer],
        clockTolerance: server.clockSkew,
        currentDate: new Date(now * 1000),
        // RFC 7523 §3 items 2, 4: sub and exp are required; jti for replay protection.
        requiredClaims: ['sub', 'exp', 'jti'],
      })
      payload = result.payload
    } catch (cause) {
      throw new OAuthError('invalid_grant', {
        detail: cause instanceof joseErrors.JOSEError ? `assertion rejected: ${cause.code} ${cause.message}` : 'assertion rejected',
        cause,
      })
    }
    const exp = payload.exp!
    if (typeof payload.iat === 'number' && payload.iat > now + server.clockSkew) throw invalid('assertion iat in the future')
    // RFC 7523 §3 item 4: the server may reject JWTs with an unreasonably far exp.
    const lifetime = typeof payload.iat === 'number' ? exp - payload.iat : exp - now - server.clockSkew
    if (lifetime > server.maxAssertionLifetime) throw invalid('assertion lives longer than maxAssertionLifetime')
    if (typeof payload.jti !== 'string' || payload.jti === '' || payload.jti.length > 512) throw invalid('assertion jti must be a non-empty string')
    if (typeof payload.sub !== 'string' || payload.sub === '') throw invalid('assertion sub must be a non-empty string')
    // RFC 7523 §3 item 7: a jti is accepted once.
    const fresh = await server.storage.replay.markUsed(`jwt_bearer:${JSON.stringify([claimed.iss, payload.jti])}`, exp + server.clockSkew)
    if (!fresh) throw invalid('assertion jti replayed')
    const { sub, scope } = await resolveAssertionGrant(ctx, payload.sub, params.get('scope'), trust)
    return issueTokens(ctx, { sub, scope })
  },
}
