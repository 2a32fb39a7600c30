import { OAuthError } from '../errors.js'
import { SAML_BEARER_METHOD, SamlError, type SamlAssertion, type SamlSubjectConfirmation } from '../saml/assertion.js'
import { MAX_SAML_ASSERTION_BYTES } from '../saml/xml-text.js'

// The XML libraries are loaded at the first SAML assertion, not at start: most
// servers never see one, and they are a large part of the process's memory.
let samlVerifier: Promise<typeof import('../saml/verify.js')> | undefined
const loadSamlVerifier = (): Promise<typeof import('../saml/verify.js')> => (samlVerifier ??= import('../saml/verify.js'))
import { resolveAssertionGrant } from '../tokens/assertion-grant.js'
import type { TrustedSamlIdp } from '../trust/registry.js'
import type { GrantContext, GrantHandler } from './types.js'

/** The `grant_type` of the SAML 2.0 bearer grant (RFC 7522 §2.1). */
export const SAML2_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:saml2-bearer'

const invalid = (detail: string): OAuthError => new OAuthError('invalid_grant', { detail })

const BASE64URL = /^[A-Za-z0-9_-]+={0,2}$/

/**
 * RFC 7522 §2.1: the assertion is base64url (RFC 4648 §5) with padding bits
 * set to zero; the "=" padding SHOULD NOT be sent, so it is optional here.
 * Anything outside that alphabet, or not UTF-8, is refused rather than guessed at.
 */
function decodeAssertion(encoded: string): string {
  // Checked before decoding so an oversized value costs nothing.
  if (encoded.length > Math.ceil((MAX_SAML_ASSERTION_BYTES * 4) / 3) + 2) throw invalid('assertion too large')
  if (!BASE64URL.test(encoded)) throw invalid('assertion is not base64url')
  const unpadded = encoded.replace(/=+$/, '')
  if (unpadded.length % 4 === 1) throw invalid('assertion is not base64url')
  const bytes = Buffer.from(unpadded, 'base64url')
  // Non-zero padding bits would give several encodings of one assertion.
  if (bytes.toString('base64url') !== unpadded) throw invalid('assertion is not canonical base64url')
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch (cause) {
    throw new OAuthError('invalid_grant', { detail: 'assertion is not UTF-8', cause })
  }
}

/** Why a bearer confirmation cannot be used now, or undefined when it can (RFC 7522 §3 items 5, 6). */
function confirmationProblem(ctx: GrantContext, c: SamlSubjectConfirmation, now: number): string | undefined {
  // SECURITY: SubjectConfirmationData is required even when Conditions has a NotOnOrAfter
  // (RFC 7522 lets it be omitted then): the Recipient is what binds the assertion to us.
  if (c.recipient === undefined) return 'bearer SubjectConfirmationData has no Recipient'
  // RFC 7522 §3 item 5: Recipient MUST match the token endpoint URL it was delivered to.
  if (c.recipient !== ctx.config.tokenEndpoint) return 'bearer Recipient is not the token endpoint'
  // RFC 7522 §3 item 5: SubjectConfirmationData MUST have a NotOnOrAfter.
  if (c.notOnOrAfter === undefined) return 'bearer SubjectConfirmationData has no NotOnOrAfter'
  // RFC 7522 §3 item 6: reject the confirmation once its NotOnOrAfter has passed (with skew).
  if (now >= c.notOnOrAfter + ctx.config.clockSkew) return 'bearer SubjectConfirmationData expired'
  if (c.notBefore !== undefined && c.notBefore > now + ctx.config.clockSkew) return 'bearer SubjectConfirmationData NotBefore in the future'
  return undefined
}

/**
 * The RFC 7522 §3 rules beyond the signature. Returns until when (seconds,
 * before the clock skew) the assertion's ID must be remembered.
 */
function checkAssertion(ctx: GrantContext, a: SamlAssertion): number {
  const now = ctx.now()
  const skew = ctx.config.clockSkew
  if (a.issueInstant > now + skew) throw invalid('assertion IssueInstant in the future')

  // RFC 7522 §3 item 2: an AudienceRestriction must name this server (token endpoint URL
  // or issuer). SAML Core §2.5.1.4: every AudienceRestriction must be met.
  const c = a.conditions
  if (c === undefined || c.audienceRestrictions.length === 0) throw invalid('assertion has no AudienceRestriction')
  const ours = [ctx.config.tokenEndpoint, ctx.config.issuer]
  if (!c.audienceRestrictions.every((list) => list.some((aud) => ours.includes(aud)))) throw invalid('assertion audience is not this server')

  // RFC 7522 §3 items 6, 11: Conditions NotBefore / NotOnOrAfter, with skew.
  if (c.notBefore !== undefined && c.notBefore > now + skew) throw invalid('assertion Conditions NotBefore in the future')
  if (c.notOnOrAfter !== undefined && now >= c.notOnOrAfter + skew) throw invalid('assertion Conditions NotOnOrAfter has passed')

  // RFC 7522 §3 item 5: at least one bearer SubjectConfirmation for this token endpoint.
  const bearers = a.subjectConfirmations.filter((sc) => sc.method === SAML_BEARER_METHOD)
  if (bearers.length === 0) throw invalid('assertion has no bearer SubjectConfirmation')
  const problems = bearers.map((b) => confirmationProblem(ctx, b, now))
  const usable = bearers.find((_, i) => problems[i] === undefined)
  if (usable === undefined) throw invalid(problems[0]!)

  // RFC 7522 §3 item 4: the assertion is usable while a bearer confirmation is, and never past Conditions.
  const latestConfirmation = Math.max(...bearers.map((b) => b.notOnOrAfter ?? -Infinity))
  const usableUntil = Math.min(latestConfirmation, c.notOnOrAfter ?? Infinity)
  // RFC 7522 §3 item 6: an unreasonably far NotOnOrAfter may be refused.
  if (usableUntil - a.issueInstant > ctx.config.maxAssertionLifetime) throw invalid('assertion lives longer than maxAssertionLifetime')
  // RFC 7522 §3 item 6 (one use): remember the ID as long as any confirmation or
  // the Conditions could still let it through, not only until the one used now.
  return Math.ceil(Math.max(latestConfirmation, c.notOnOrAfter ?? -Infinity, usable.notOnOrAfter!))
}

/** A SAML assertion that passed every RFC 7522 §3 check, and the trust entry of its identity provider. */
export interface TrustedSamlAssertion {
  assertion: SamlAssertion
  idp: TrustedSamlIdp
}

/**
 * Verifies a base64url SAML 2.0 assertion as RFC 7522 §3 asks, written once for
 * the SAML bearer grant and token exchange's `saml2` subject and actor tokens
 * (RFC 8693 §3): an identity provider of `trust.samlIdps`, its signature, the
 * audience naming this server, a bearer confirmation for the token endpoint,
 * times and lifetime, and one use per assertion ID.
 *
 * @throws OAuthError `invalid_grant`, its `detail` saying why
 * @example
 * const { assertion, idp } = await verifyTrustedSaml(ctx, params.get('assertion')!)
 */
export async function verifyTrustedSaml(ctx: GrantContext, encoded: string): Promise<TrustedSamlAssertion> {
  const xml = decodeAssertion(encoded)
  const { verifySamlAssertion } = await loadSamlVerifier()
  let assertion: SamlAssertion
  try {
    // RFC 7522 §3 items 1, 9: the Issuer must be trusted and its certificate must verify the signature.
    assertion = verifySamlAssertion(xml, { certificateFor: (issuer) => ctx.trust.samlIdps.get(issuer)?.certificate })
  } catch (cause) {
    throw new OAuthError('invalid_grant', { detail: cause instanceof SamlError ? `saml: ${cause.message}` : 'saml: assertion rejected', cause })
  }
  const idp = ctx.trust.samlIdps.get(assertion.issuer)
  if (idp === undefined) throw invalid('saml: untrusted issuer')
  const expiresAt = checkAssertion(ctx, assertion)

  // RFC 7522 §3 item 6: an assertion ID is accepted once, remembered while it could still be used.
  const fresh = await ctx.once('saml', JSON.stringify([assertion.issuer, assertion.id]), expiresAt + ctx.config.clockSkew)
  if (!fresh) throw invalid('assertion ID replayed')
  return { assertion, idp }
}

/**
 * RFC 7522: a SAML 2.0 assertion signed by a trusted identity provider is
 * exchanged for an access token for its subject. Client authentication is
 * optional (RFC 7522 §3.1); the token endpoint still identifies the client.
 *
 * @example
 * createAuthorizationServer({ grants: [...defaultGrants, saml2Bearer], trust: { samlIdps: [{ entityId, certificate }] }, … })
 */
export const saml2Bearer: GrantHandler = {
  grantType: SAML2_BEARER_GRANT,
  parameters: ['assertion', 'resource'],
  // RFC 8707 §2: resource may be repeated.
  repeatable: ['resource'],
  clientAuth: 'optional',
  async handle(ctx) {
    const { params } = ctx
    const encoded = params.get('assertion')
    if (encoded === undefined) throw new OAuthError('invalid_request', { description: 'assertion is required.' })
    const resources = ctx.resources.requested()
    const { assertion, idp } = await verifyTrustedSaml(ctx, encoded)
    // RFC 7522 §3 item 3: the NameID is the resource owner (a known user) or the client itself.
    const { sub, scope } = await resolveAssertionGrant(ctx, assertion.nameId, params.get('scope'), idp)
    return ctx.tokens.issue({ sub, ...ctx.resources.target(resources, scope) })
  },
}
