/**
 * The one place that touches @xmldom/xmldom and xml-crypto. It checks a SAML
 * assertion's XML signature against a configured certificate and returns only
 * claims read from what `getSignedReferences()` gives after `checkSignature()`
 * returns true: nothing is read from the document as received, which is what
 * defeats signature wrapping (XSW).
 */
import { DOMParser, type Document, type Element } from '@xmldom/xmldom'
import { SignedXml } from 'xml-crypto'
import { isSingleTextNode, readAssertion, SAML_ASSERTION_NS, samlChildren, SamlError, XML_ID, type SamlAssertion } from './assertion.js'
import { checkXmlText, MAX_SAML_ASSERTION_BYTES } from './xml-text.js'

export { SamlError, SAML_BEARER_METHOD, type SamlAssertion, type SamlConditions, type SamlSubjectConfirmation } from './assertion.js'
export { MAX_SAML_ASSERTION_BYTES } from './xml-text.js'

const DSIG_NS = 'http://www.w3.org/2000/09/xmldsig#'

// SECURITY: asymmetric RSA only. No rsa-sha1 (SHA-1 collisions) and no HMAC,
// which would turn the public certificate into a shared secret.
const SIGNATURE_ALGORITHMS = [
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
  'http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1',
]
const DIGEST_ALGORITHMS = ['http://www.w3.org/2001/04/xmlenc#sha256', 'http://www.w3.org/2001/04/xmlenc#sha512']
// XML-DSig §6.6: the transforms an enveloped SAML signature needs. No #WithComments
// variants, no XPath or XSLT transforms.
const TRANSFORMS = [
  'http://www.w3.org/2001/10/xml-exc-c14n#',
  'http://www.w3.org/TR/2001/REC-xml-c14n-20010315',
  'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
]

/** What `verifySamlAssertion` needs. */
export interface SamlVerifyOptions {
  /** The PEM certificate trusted for an Issuer, or undefined when the issuer is not trusted. */
  certificateFor(issuer: string): string | undefined
  /** Largest accepted size in bytes; default `MAX_SAML_ASSERTION_BYTES`. */
  maxBytes?: number
}

/** Parses XML, turning every warning and error of the parser into a refusal. */
function parseStrict(xml: string, what: string): Document {
  const parser = new DOMParser({
    locator: false,
    onError: (level, message) => {
      throw new SamlError(`${what} is not well-formed XML (${level}: ${String(message).slice(0, 200)})`)
    },
  })
  let doc: Document
  try {
    doc = parser.parseFromString(xml, 'application/xml')
  } catch (cause) {
    if (cause instanceof SamlError) throw cause
    // xmldom wraps what onError throws in a ParseError; keep our message.
    const inner = (cause as { cause?: unknown }).cause
    if (inner instanceof SamlError) throw inner
    throw new SamlError(`${what} is not well-formed XML`, { cause })
  }
  if (doc.documentElement === null) throw new SamlError(`${what} has no root element`)
  return doc
}

/** The one ds:Signature, which must be a direct child of the Assertion (SAML Core §5.4.1: enveloped). */
function theSignature(all: readonly Element[], root: Element): Element {
  // xml-crypto finds Signature and SignedInfo by local name alone, so count them the same way.
  const named = (name: string) => all.filter((e) => e.localName === name)
  const signatures = named('Signature')
  if (signatures.length === 0) throw new SamlError('assertion is not signed')
  if (signatures.length !== 1 || named('SignedInfo').length !== 1) throw new SamlError('exactly one Signature with one SignedInfo is allowed')
  const sig = signatures[0]!
  if (sig.namespaceURI !== DSIG_NS || sig.parentNode !== root) throw new SamlError('Signature must be a ds:Signature child of the Assertion')
  return sig
}

/** XSW: an ID must name exactly one element, whichever ID attribute spelling a resolver honours. */
function refuseDuplicateId(all: readonly Element[], id: string): void {
  let count = 0
  for (const el of all) {
    for (const attr of Array.from(el.attributes)) {
      if ((attr.localName === 'ID' || attr.localName === 'Id' || attr.localName === 'id') && attr.value === id) count++
    }
  }
  if (count !== 1) throw new SamlError('the assertion ID appears on more than one element')
}

function pick<T>(all: Record<string, T>, allowed: readonly string[]): Record<string, T> {
  return Object.fromEntries(allowed.filter((k) => k in all).map((k) => [k, all[k]!]))
}

/** Checks the signature with the configured certificate and returns the one canonical signed reference. */
function signedAssertionXml(xml: string, signature: Element, id: string, certificate: string): string {
  // SECURITY: the configured certificate only. getCertFromKeyInfo returning null means a
  // key or certificate carried in the document's KeyInfo is never used (XML-DSig §4.4).
  const sig = new SignedXml({ publicCert: certificate, getCertFromKeyInfo: () => null })
  sig.SignatureAlgorithms = pick(sig.SignatureAlgorithms, SIGNATURE_ALGORITHMS)
  sig.HashAlgorithms = pick(sig.HashAlgorithms, DIGEST_ALGORITHMS)
  sig.CanonicalizationAlgorithms = pick(sig.CanonicalizationAlgorithms, TRANSFORMS)
  try {
    // The node comes from our own stricter parse of the same string; xml-crypto's DOM types are lib.dom's.
    sig.loadSignature(signature as unknown as globalThis.Node)
    // SAML Core §5.4.2: one Reference, to the enveloping Assertion by its ID.
    const refs = sig.getReferences()
    if (refs.length !== 1) throw new SamlError('the Signature must have exactly one Reference')
    if (refs[0]!.uri !== `#${id}`) throw new SamlError('the Signature does not reference the Assertion')
    if (sig.checkSignature(xml) !== true) {
      // XML-DSig §3.2.1: reference validation failed (the digest does not match the content).
      const why = sig.getReferences().find((r) => r.validationError !== undefined)?.validationError?.message ?? 'reference not valid'
      throw new SamlError(`signature check failed: ${why.slice(0, 200)}`)
    }
  } catch (cause) {
    if (cause instanceof SamlError) throw cause
    throw new SamlError(`signature rejected: ${cause instanceof Error ? cause.message.slice(0, 200) : 'error'}`, { cause })
  }
  const signed = sig.getSignedReferences()
  if (signed.length !== 1) throw new SamlError('expected exactly one signed reference')
  return signed[0]!
}

/**
 * Verifies a SAML 2.0 assertion's enveloped XML signature (RFC 7522 §3 item 9)
 * against the certificate configured for its Issuer, and returns its claims as
 * read from the signed, canonical XML only. It checks authenticity and form;
 * audience, confirmation and validity times are the caller's to judge.
 *
 * @param xml The assertion as UTF-8 text (already base64url-decoded).
 * @throws SamlError with a message for logs when anything is wrong.
 * @example
 * const claims = verifySamlAssertion(xml, { certificateFor: (iss) => idps.get(iss)?.certificate })
 */
export function verifySamlAssertion(xml: string, options: SamlVerifyOptions): SamlAssertion {
  checkXmlText(xml, options.maxBytes ?? MAX_SAML_ASSERTION_BYTES)
  const doc = parseStrict(xml, 'assertion')
  const root = doc.documentElement!
  // RFC 7522 §2.1: the parameter holds a single Assertion, not a Response or anything wrapping one.
  if (root.namespaceURI !== SAML_ASSERTION_NS || root.localName !== 'Assertion') throw new SamlError('root is not a saml:Assertion')
  const id = root.getAttribute('ID') ?? ''
  if (!XML_ID.test(id)) throw new SamlError('assertion ID is missing or not an NCName')
  const all = Array.from(doc.getElementsByTagName('*'))
  const signature = theSignature(all, root)
  refuseDuplicateId(all, id)

  // The Issuer as received only chooses the certificate; the signed Issuer must match it below.
  const issuers = samlChildren(root, 'Issuer')
  if (issuers.length !== 1 || !isSingleTextNode(issuers[0]!)) throw new SamlError('assertion needs exactly one Issuer holding only text')
  const claimedIssuer = issuers[0]!.textContent!
  const certificate = options.certificateFor(claimedIssuer)
  if (certificate === undefined) throw new SamlError(`untrusted issuer ${claimedIssuer.slice(0, 100)}`)

  // A comment or CDATA split inside NameID reads differently to different parsers: refuse it
  // in the document as received, before the signed copy (where c14n has merged it) is read.
  for (const subject of samlChildren(root, 'Subject')) {
    for (const nameId of samlChildren(subject, 'NameID')) {
      if (!isSingleTextNode(nameId)) throw new SamlError('NameID must contain a single text node')
    }
  }

  const signedXml = signedAssertionXml(xml, signature, id, certificate)
  const signedRoot = parseStrict(signedXml, 'signed reference').documentElement!
  if (signedRoot.namespaceURI !== SAML_ASSERTION_NS || signedRoot.localName !== 'Assertion' || signedRoot.getAttribute('ID') !== id) {
    throw new SamlError('the signed reference is not the Assertion')
  }
  const claims = readAssertion(signedRoot)
  if (claims.issuer !== claimedIssuer) throw new SamlError('signed Issuer differs from the Issuer used to pick the certificate')
  return claims
}
