/**
 * Builds and signs SAML 2.0 assertions for the tests, honest and hostile.
 * Only tests may import xml-crypto directly; the server goes through src/saml/verify.ts.
 */
import { readFileSync } from 'node:fs'
import { SignedXml } from 'xml-crypto'
import { ISSUER } from '../helpers.js'

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')

/** TEST-ONLY key pairs (see fixtures/README.md). */
export const IDP_KEY = fixture('idp.key.pem')
export const IDP_CERT = fixture('idp.cert.pem')
export const OTHER_KEY = fixture('other.key.pem')
export const OTHER_CERT = fixture('other.cert.pem')

export const IDP_ENTITY_ID = 'https://idp.example/saml'
export { ISSUER }
export const TOKEN_URL = `${ISSUER}/token`
export const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer'
export const START = 1_800_000_000

export const ALG = {
  rsaSha1: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
  rsaSha256: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  rsaSha512: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
  hmacSha1: 'http://www.w3.org/2000/09/xmldsig#hmac-sha1',
  sha1: 'http://www.w3.org/2000/09/xmldsig#sha1',
  sha256: 'http://www.w3.org/2001/04/xmlenc#sha256',
  excC14n: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  enveloped: 'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
} as const

export const iso = (seconds: number): string => new Date(seconds * 1000).toISOString()

export interface AssertionOptions {
  /** Seconds; the clock the other defaults are relative to. */
  now?: number
  id?: string
  issuer?: string
  /** Raw XML content of NameID, so tests can put comments in it. */
  nameId?: string
  issueInstant?: number
  method?: string
  /** null leaves the attribute out. */
  recipient?: string | null
  confirmationNotOnOrAfter?: number | null
  confirmationNotBefore?: number
  /** Replaces the whole SubjectConfirmation(s). */
  confirmations?: string
  /** null leaves out the Conditions element. */
  conditions?: null
  notBefore?: number | null
  notOnOrAfter?: number | null
  /** One list per AudienceRestriction. */
  audiences?: string[][]
  /** Raw XML appended inside Conditions. */
  extraConditions?: string
  /** Raw XML appended at the end of the Assertion. */
  extra?: string
}

/** An unsigned assertion that passes every RFC 7522 §3 rule for the test server. */
export function assertionXml(o: AssertionOptions = {}): string {
  const now = o.now ?? START
  const id = o.id ?? '_a1'
  const recipient = o.recipient === undefined ? TOKEN_URL : o.recipient
  const scNoa = o.confirmationNotOnOrAfter === undefined ? now + 240 : o.confirmationNotOnOrAfter
  const scdAttrs = [
    recipient === null ? '' : ` Recipient="${recipient}"`,
    scNoa === null ? '' : ` NotOnOrAfter="${iso(scNoa)}"`,
    o.confirmationNotBefore === undefined ? '' : ` NotBefore="${iso(o.confirmationNotBefore)}"`,
  ].join('')
  const confirmations =
    o.confirmations ??
    `<saml:SubjectConfirmation Method="${o.method ?? BEARER}"><saml:SubjectConfirmationData${scdAttrs}/></saml:SubjectConfirmation>`
  const nb = o.notBefore === undefined ? now - 30 : o.notBefore
  const noa = o.notOnOrAfter === undefined ? now + 240 : o.notOnOrAfter
  const audiences = (o.audiences ?? [[ISSUER]])
    .map((list) => `<saml:AudienceRestriction>${list.map((a) => `<saml:Audience>${a}</saml:Audience>`).join('')}</saml:AudienceRestriction>`)
    .join('')
  const conditions =
    o.conditions === null
      ? ''
      : `<saml:Conditions${nb === null ? '' : ` NotBefore="${iso(nb)}"`}${noa === null ? '' : ` NotOnOrAfter="${iso(noa)}"`}>${audiences}${o.extraConditions ?? ''}</saml:Conditions>`
  return (
    `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${id}" Version="2.0" IssueInstant="${iso(o.issueInstant ?? now)}">` +
    `<saml:Issuer>${o.issuer ?? IDP_ENTITY_ID}</saml:Issuer>` +
    `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified">${o.nameId ?? 'alice'}</saml:NameID>${confirmations}</saml:Subject>` +
    conditions +
    `<saml:AuthnStatement AuthnInstant="${iso(now - 60)}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
    (o.extra ?? '') +
    `</saml:Assertion>`
  )
}

export interface SignOptions {
  key?: string
  /** Put into KeyInfo; the server must ignore it. Default the IdP's certificate. */
  keyInfoCert?: string | Buffer
  signatureAlgorithm?: string
  digestAlgorithm?: string
  /** ID of the element the Reference points at; default the root's. */
  referenceId?: string
  /** ID attribute name of that element; default ID. */
  referenceAttr?: string
  /** An extra Reference to the same target (two References in SignedInfo). */
  twoReferences?: boolean
  /** ds:Object elements inside the signature. */
  objects?: Array<{ content: string; attributes: Record<string, string> }>
  /** XPath of where the signature goes (after it); default the root's Issuer. */
  after?: string
  hmac?: boolean
}

/** Signs an assertion as an IdP would: enveloped signature, exclusive c14n, placed after Issuer (SAML Core §5.4). */
export function sign(xml: string, o: SignOptions = {}): string {
  const rootId = /ID="([^"]+)"/.exec(xml)![1]!
  const sig = new SignedXml({
    privateKey: o.key ?? IDP_KEY,
    publicCert: o.keyInfoCert ?? IDP_CERT,
    signatureAlgorithm: o.signatureAlgorithm ?? ALG.rsaSha256,
    canonicalizationAlgorithm: ALG.excC14n,
    ...(o.objects !== undefined && { objects: o.objects }),
  })
  if (o.hmac === true) {
    sig.enableHMAC()
    sig.signatureAlgorithm = ALG.hmacSha1
  }
  const ref = o.referenceId ?? rootId
  const attr = o.referenceAttr ?? 'ID'
  const inObject = o.objects?.some((obj) => obj.attributes[attr] === ref) === true
  const reference = {
    xpath: `//*[@${attr}='${ref}']`,
    // An Object is not an ancestor of its signature: no enveloped transform there.
    transforms: inObject ? [ALG.excC14n] : [ALG.enveloped, ALG.excC14n],
    digestAlgorithm: o.digestAlgorithm ?? ALG.sha256,
  }
  sig.addReference(reference)
  if (o.twoReferences === true) sig.addReference(reference)
  sig.computeSignature(xml, {
    prefix: 'ds',
    location: { reference: o.after ?? `/*[local-name()='Assertion']/*[local-name()='Issuer']`, action: 'after' },
  })
  return sig.getSignedXml()
}

export const b64url = (xml: string): string => Buffer.from(xml, 'utf8').toString('base64url')
