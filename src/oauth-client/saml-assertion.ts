/**
 * The one place the client touches xml-crypto: it builds and signs SAML 2.0
 * bearer assertions for RFC 7522 grants. It only ever signs XML it wrote
 * itself, from escaped values.
 */
import { randomBytes } from 'node:crypto'
import { SignedXml } from 'xml-crypto'
import { DEFAULT_ASSERTION_LIFETIME } from './assertions.js'
import type { SamlBearerProfile } from './provider.js'

const SAML_NS = 'urn:oasis:names:tc:SAML:2.0:assertion'
const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer'
const UNSPECIFIED = 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified'
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256'
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256'
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#'
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature'
/** Seconds NotBefore lies before IssueInstant, for providers whose clock runs behind ours. */
const NOT_BEFORE_SKEW = 60

function escapeXml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;')
}

/** SAML Core §1.3.3: xs:dateTime in UTC, whole seconds. */
function samlTime(seconds: number): string {
  return new Date(Math.floor(seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** What a SAML bearer assertion is about and for whom it is meant. Times in seconds since the epoch. */
export interface SamlAssertionInput {
  /** The NameID: whom the token is for. */
  nameId: string
  /** The token endpoint: SubjectConfirmationData Recipient (RFC 7522 §3 item 5). */
  recipient: string
  /** Audience (RFC 7522 §3 item 2). Default the recipient. */
  audience?: string
  /** Seconds since the epoch. */
  now: number
}

/**
 * Builds and signs a SAML 2.0 bearer assertion (RFC 7522 §3): Issuer,
 * Subject/NameID, a bearer SubjectConfirmation whose Recipient is the token
 * endpoint with a NotOnOrAfter, Conditions with an AudienceRestriction, and an
 * enveloped RSA-SHA256 signature with exclusive canonicalization placed after
 * the Issuer (SAML Core §5.4). Returns it base64url-encoded (RFC 7522 §2.1).
 *
 * @example
 * const assertion = buildSamlAssertion(profile.saml, { nameId: 'alice', recipient: tokenEndpoint, now: Date.now() / 1000 })
 */
export function buildSamlAssertion(config: SamlBearerProfile, input: SamlAssertionInput): string {
  const now = Math.floor(input.now)
  const until = now + (config.lifetime ?? DEFAULT_ASSERTION_LIFETIME)
  // xs:ID is an NCName: it may not start with a digit.
  const id = '_' + randomBytes(20).toString('hex')
  const audience = config.audience ?? input.audience ?? input.recipient
  const xml =
    `<saml:Assertion xmlns:saml="${SAML_NS}" ID="${id}" Version="2.0" IssueInstant="${samlTime(now)}">` +
    `<saml:Issuer>${escapeXml(config.issuer)}</saml:Issuer>` +
    `<saml:Subject>` +
    `<saml:NameID Format="${escapeXml(config.nameIdFormat ?? UNSPECIFIED)}">${escapeXml(input.nameId)}</saml:NameID>` +
    `<saml:SubjectConfirmation Method="${BEARER}">` +
    `<saml:SubjectConfirmationData NotOnOrAfter="${samlTime(until)}" Recipient="${escapeXml(input.recipient)}"/>` +
    `</saml:SubjectConfirmation>` +
    `</saml:Subject>` +
    `<saml:Conditions NotBefore="${samlTime(now - NOT_BEFORE_SKEW)}" NotOnOrAfter="${samlTime(until)}">` +
    `<saml:AudienceRestriction><saml:Audience>${escapeXml(audience)}</saml:Audience></saml:AudienceRestriction>` +
    `</saml:Conditions>` +
    `<saml:AuthnStatement AuthnInstant="${samlTime(now)}">` +
    `<saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified</saml:AuthnContextClassRef></saml:AuthnContext>` +
    `</saml:AuthnStatement>` +
    `</saml:Assertion>`
  const sig = new SignedXml({
    privateKey: config.privateKey,
    publicCert: config.certificate,
    signatureAlgorithm: RSA_SHA256,
    canonicalizationAlgorithm: EXC_C14N,
  })
  sig.addReference({
    xpath: `/*[local-name()='Assertion']`,
    transforms: [ENVELOPED, EXC_C14N],
    digestAlgorithm: SHA256,
  })
  sig.computeSignature(xml, {
    prefix: 'ds',
    location: { reference: `/*[local-name()='Assertion']/*[local-name()='Issuer']`, action: 'after' },
  })
  return Buffer.from(sig.getSignedXml(), 'utf8').toString('base64url')
}
