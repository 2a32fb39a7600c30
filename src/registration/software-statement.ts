import type { ServerContext } from '../context.js'
import { OAuthError } from '../errors.js'
import { ASYMMETRIC_ALGORITHMS, asJoseError, decodeJwt, verifyJwt } from '../crypto/jose.js'

/** JWT claims of the statement itself (RFC 7519 §4.1), not client metadata. */
const JWT_CLAIMS = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti'])

/**
 * Applies the software statement of a request (RFC 7591 §2.3, §3.1.1): a JWT
 * signed by a configured issuer, whose claims take precedence over the plain
 * JSON values. Without one the metadata is returned as it is, unless a
 * statement is required.
 *
 * @returns the metadata with the statement's claims over it, and the verified claims
 * @throws OAuthError unapproved_software_statement (no trusted issuer, or one required), invalid_software_statement (bad signature, expired, malformed)
 */
export async function applySoftwareStatement(
  ctx: ServerContext,
  input: Readonly<Record<string, unknown>>,
): Promise<{ metadata: Record<string, unknown>; claims?: Record<string, unknown> }> {
  const { software_statement: statement, ...metadata } = input
  const settings = ctx.registration.softwareStatement
  if (statement === undefined) {
    if (settings?.required === true) throw new OAuthError('unapproved_software_statement', { description: 'A software statement of an approved issuer is required.' })
    return { metadata }
  }
  if (typeof statement !== 'string') throw new OAuthError('invalid_software_statement', { description: 'software_statement must be a JWT.' })
  const decoded = decodeJwt(statement)
  if (decoded === null) throw new OAuthError('invalid_software_statement', { description: 'software_statement must be a signed JWT.' })
  const iss = decoded.payload.iss
  // The unverified iss only picks the keys; the signature check below names the same issuer.
  const issuer = typeof iss === 'string' ? settings?.issuers.get(iss) : undefined
  if (issuer === undefined) {
    throw new OAuthError('unapproved_software_statement', { description: 'The software statement is not from an issuer this server approves.', detail: `iss ${JSON.stringify(iss)}` })
  }
  let claims: Record<string, unknown>
  try {
    const result = await verifyJwt(statement, issuer.keys, {
      // RFC 8725 §3.1: the algorithms are ours, never the token's; no "none", no HMAC with a public key.
      algorithms: ASYMMETRIC_ALGORITHMS,
      issuer: issuer.issuer,
      now: ctx.now(),
      clockTolerance: ctx.clockSkew,
    })
    claims = result.payload as Record<string, unknown>
  } catch (cause) {
    const jose = asJoseError(cause)
    throw new OAuthError('invalid_software_statement', { detail: jose !== undefined ? `${jose.code} ${jose.message}` : 'rejected', cause })
  }
  const fromStatement = Object.fromEntries(Object.entries(claims).filter(([name]) => !JWT_CLAIMS.has(name)))
  // RFC 7591 §2.3: values in the statement MUST take precedence over the plain JSON ones.
  return { metadata: { ...metadata, ...fromStatement }, claims }
}
