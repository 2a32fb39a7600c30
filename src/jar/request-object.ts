/**
 * Signed request objects (RFC 9101, JWT-Secured Authorization Request): the
 * authorization request's parameters as the claims of a JWT the client signs
 * with one of its registered keys. Verified here once, whether it arrives by
 * value at the authorization endpoint or pushed to the PAR endpoint
 * (RFC 9126 §3); what comes out is the parameter list the authorization
 * endpoint validates like any other.
 */
import { clientVerificationKeys } from '../clients/keys.js'
import type { Client } from '../clients/metadata.js'
import type { ServerContext } from '../context.js'
import { ASYMMETRIC_ALGORITHMS, asJoseError, decodeJwt, isTokenRejection, verifyJwt, type JWTPayload } from '../crypto/jose.js'
import { assertionReplayKey } from '../crypto/jwt-assertion.js'
import { OAuthError } from '../errors.js'

/** The media type of a request object (RFC 9101 §10.8), its `typ` header without the `application/` prefix. */
export const REQUEST_OBJECT_TYPE = 'oauth-authz-req+jwt'

/**
 * `typ` values accepted: the explicit type of RFC 9101 §10.8, and the generic
 * JWT type (or none) that OpenID Connect clients send (OIDC Core §6.1). Any
 * other type names another kind of JWT (an access token, a DPoP proof, a
 * logout token), which must not pass for a request (RFC 8725 §3.11).
 */
const ACCEPTED_TYPES: ReadonlySet<string> = new Set([REQUEST_OBJECT_TYPE, `application/${REQUEST_OBJECT_TYPE}`, 'jwt', 'application/jwt'])

/** Claims about the JWT itself, not parameters of the authorization request. */
const JWT_CLAIMS: ReadonlySet<string> = new Set(['iss', 'aud', 'exp', 'iat', 'nbf', 'jti', 'sub'])

/** Longest `jti` remembered, in characters, as for assertions. */
const MAX_JTI_LENGTH = 512

/** A request object that passed every check: its parameters, in claim order. */
export interface VerifiedRequestObject {
  /** The authorization request parameters, `client_id` first. Arrays of strings (RFC 8707 `resource`) become repeated parameters. */
  readonly parameters: Array<[string, string]>
}

const invalid = (detail: string, cause?: unknown): OAuthError =>
  new OAuthError('invalid_request_object', { detail, ...(cause !== undefined && { cause }) })

/**
 * The algorithms a client's request objects may use: its
 * `request_object_signing_alg` when registered, else every asymmetric one.
 * SECURITY: never `none` and never HMAC (RFC 9101 §10.1 leaves symmetric
 * signatures open; a shared secret would let the server forge what it
 * verifies, and refusing is simpler than guessing which secret is meant).
 */
export function requestObjectAlgorithms(client: Client): readonly string[] {
  const pinned = client.metadata.request_object_signing_alg
  return typeof pinned === 'string' ? ASYMMETRIC_ALGORITHMS.filter((a) => a === pinned) : ASYMMETRIC_ALGORITHMS
}

/**
 * Verifies a request object sent by `client` and returns its parameters:
 * signature by the client's registered keys, `iss` the client_id and `aud`
 * this server's issuer (RFC 9101 §4, §10.2), `exp` required with a lifetime of
 * at most `maxAssertionLifetime`, `nbf` and `iat` not in the future, `client_id`
 * (when inside) equal to the client's (RFC 9101 §5), no `request` or
 * `request_uri` inside (RFC 9101 §4), and its `jti` (when present) used once.
 *
 * @throws OAuthError `invalid_request_object` for each failed check (details for logs only)
 * @example
 * const { parameters } = await verifyRequestObject(ctx, client, form.get('request')!)
 */
export async function verifyRequestObject(ctx: ServerContext, client: Client, jwt: string): Promise<VerifiedRequestObject> {
  // RFC 9101 §6.1: a request object is a JWS (an encrypted one, a JWE, is not supported); compact only.
  const decoded = decodeJwt(jwt)
  if (decoded === null) throw invalid('not a compact JWS of at most 16 KiB (encrypted request objects are not supported)')
  const typ = decoded.header.typ
  // RFC 9101 §10.8 and RFC 8725 §3.11: explicit typing keeps other JWTs from passing for a request.
  if (typ !== undefined && (typeof typ !== 'string' || !ACCEPTED_TYPES.has(typ.toLowerCase()))) throw invalid(`typ ${JSON.stringify(typ).slice(0, 60)} is not ${REQUEST_OBJECT_TYPE}`)
  const keys = clientVerificationKeys(ctx, client)
  if (keys === undefined) throw invalid(`client ${client.id} has no registered keys to verify a request object`)
  const now = ctx.now()
  const skew = ctx.clockSkew
  let payload: JWTPayload
  try {
    const result = await verifyJwt(jwt, keys, {
      // The algorithms come from the registration, never from the token's header (RFC 8725 §3.1).
      algorithms: requestObjectAlgorithms(client),
      // RFC 9101 §10.2 (and RFC 9126 §3): iss is the client, aud this server's issuer.
      issuer: client.id,
      audience: ctx.issuer,
      // RFC 9101 §10.2: exp bounds how long a captured request object can be replayed.
      requiredClaims: ['exp'],
      now,
      clockTolerance: skew,
    })
    payload = result.payload
  } catch (cause) {
    if (!isTokenRejection(cause)) throw cause
    const jose = asJoseError(cause)
    throw invalid(`rejected: ${jose?.code ?? ''} ${jose?.message ?? ''}`.trim(), cause)
  }
  const exp = payload.exp!
  const iat = typeof payload.iat === 'number' ? payload.iat : undefined
  // RFC 7519 §4.1.6: issued beyond the clock skew in the future is not a time the client could have signed it.
  if (iat !== undefined && iat > now + skew) throw invalid('iat in the future')
  // A long-lived request object is a standing authorization request anyone who saw it can replay.
  const lifetime = iat !== undefined ? exp - iat : exp - now - skew
  if (lifetime > ctx.maxAssertionLifetime) throw invalid('lives longer than maxAssertionLifetime')
  // RFC 9101 §5: the client_id inside is the client_id of the request.
  if (payload.client_id !== undefined && payload.client_id !== client.id) throw invalid('client_id inside differs from the client')
  // RFC 9101 §4: a request object does not point to another one.
  if (payload.request !== undefined || payload.request_uri !== undefined) throw invalid('request or request_uri inside a request object')

  const parameters: Array<[string, string]> = [['client_id', client.id]]
  for (const [name, value] of Object.entries(payload)) {
    if (JWT_CLAIMS.has(name) || name === 'client_id' || value === null) continue
    if (typeof value === 'string') parameters.push([name, value])
    else if (typeof value === 'number' || typeof value === 'boolean') parameters.push([name, String(value)])
    // RFC 8707 §2 as JAR carries it: several `resource` values are a JSON array of strings.
    else if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string')) for (const v of value) parameters.push([name, v as string])
    // OIDC Core §5.5 `claims`, RFC 9396 `authorization_details`: JSON in a parameter, JSON in a claim.
    else parameters.push([name, JSON.stringify(value)])
  }

  // RFC 9101 §10.8 suggests one use per request object: its jti is spent once
  // everything else holds, in the namespace assertions use, so one JWT cannot
  // serve both as a client assertion and as a request object.
  const jti = payload.jti
  if (jti !== undefined) {
    if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH) throw invalid('jti must be a non-empty string')
    // SECURITY: remembered until exp plus the skew, the last moment it would still be accepted.
    if (!(await ctx.storage.replay.markUsed(assertionReplayKey(client.id, jti), exp + skew))) throw invalid('jti replayed')
  }
  return { parameters }
}
