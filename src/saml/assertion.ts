/**
 * Reads the claims of a SAML 2.0 Assertion (SAML Core §2.3.3) out of an
 * element tree. It is only ever handed the re-parsed output of
 * `getSignedReferences()` (see `verify.ts`), so every value it returns was
 * covered by the signature. It takes a minimal DOM shape so that the XML
 * libraries stay wrapped in `verify.ts` alone.
 */

export const SAML_ASSERTION_NS = 'urn:oasis:names:tc:SAML:2.0:assertion'
/** SAML Profiles §3.3: the bearer subject confirmation method, required by RFC 7522 §3. */
export const SAML_BEARER_METHOD = 'urn:oasis:names:tc:SAML:2.0:cm:bearer'
const ENTITY_FORMAT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:entity'

const ELEMENT_NODE = 1
const TEXT_NODE = 3

/** The part of a DOM node this module reads. */
export interface XmlNode {
  readonly nodeType: number
  readonly childNodes: ArrayLike<XmlNode>
  readonly textContent: string | null
}

/** The part of a DOM element this module reads. */
export interface XmlElement extends XmlNode {
  readonly localName: string | null
  readonly namespaceURI: string | null
  getAttribute(name: string): string | null
}

/** Why an assertion was refused; the message is for logs (an OAuthError `detail`), never for the client. */
export class SamlError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'SamlError'
  }
}

/** A `<SubjectConfirmation>` and its `<SubjectConfirmationData>` (SAML Core §2.4.1.1, §2.4.1.2). Times in seconds since the epoch. */
export interface SamlSubjectConfirmation {
  method: string
  recipient?: string
  notBefore?: number
  notOnOrAfter?: number
}

/** `<Conditions>` (SAML Core §2.5.1). Times in seconds since the epoch. */
export interface SamlConditions {
  notBefore?: number
  notOnOrAfter?: number
  /** One list per `<AudienceRestriction>`: each list is an OR, the lists together an AND (SAML Core §2.5.1.4). */
  audienceRestrictions: string[][]
  oneTimeUse: boolean
}

/** The signed claims of an assertion. Times are seconds since the epoch. */
export interface SamlAssertion {
  /** The assertion's `ID`: the one-time identifier for replay protection. */
  id: string
  issuer: string
  issueInstant: number
  /** Text of `<Subject><NameID>`. */
  nameId: string
  nameIdFormat?: string
  subjectConfirmations: SamlSubjectConfirmation[]
  conditions?: SamlConditions
}

/** xs:ID is an NCName; restricting it also keeps quotes out of the XPath xml-crypto builds from it. */
export const XML_ID = /^[A-Za-z_][A-Za-z0-9_.-]{0,255}$/

// SAML Core §1.3.3: times are xs:dateTime in UTC.
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?Z?$/

/** Parses a SAML time to seconds since the epoch, refusing anything but UTC. */
export function parseSamlTime(value: string, what: string): number {
  const m = DATE_TIME.exec(value)
  if (m === null) throw new SamlError(`${what} is not a UTC xs:dateTime`)
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number]
  const ms = Date.UTC(y, mo - 1, d, h, mi, s)
  const back = new Date(ms)
  // Date.UTC rolls 2024-02-31 over into March; a real date survives the round trip.
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || back.getUTCHours() !== h || back.getUTCMinutes() !== mi || back.getUTCSeconds() !== s) {
    throw new SamlError(`${what} is not a valid date`)
  }
  return ms / 1000 + (m[7] === undefined ? 0 : Number(m[7]))
}

/** The element children of an element in the SAML assertion namespace with a local name. */
export function samlChildren(el: XmlElement, localName: string): XmlElement[] {
  return elementChildren(el).filter((c) => c.namespaceURI === SAML_ASSERTION_NS && c.localName === localName)
}

function elementChildren(el: XmlNode): XmlElement[] {
  return Array.from(el.childNodes).filter((n): n is XmlElement => n.nodeType === ELEMENT_NODE)
}

function one(el: XmlElement, localName: string): XmlElement {
  const found = samlChildren(el, localName)
  if (found.length !== 1) throw new SamlError(`expected exactly one ${localName} in ${el.localName}, found ${found.length}`)
  return found[0]!
}

function optional(el: XmlElement, localName: string): XmlElement | undefined {
  const found = samlChildren(el, localName)
  if (found.length > 1) throw new SamlError(`more than one ${localName} in ${el.localName}`)
  return found[0]
}

/**
 * The text of an element that must hold only text. Used on the signed copy,
 * where canonicalization has already dropped comments and turned CDATA into text.
 */
function textOf(el: XmlElement): string {
  if (Array.from(el.childNodes).some((n) => n.nodeType !== TEXT_NODE)) throw new SamlError(`${el.localName} must contain only text`)
  const text = el.textContent ?? ''
  if (text === '') throw new SamlError(`${el.localName} is empty`)
  return text
}

/**
 * True when an element's content is exactly one text node. Checked on the
 * document as received: `admin@example.com<!---->.evil` is one value to the
 * signer but two text nodes to a careless reader (CVE-2017-11428 and kin).
 */
export function isSingleTextNode(el: XmlElement): boolean {
  return el.childNodes.length === 1 && el.childNodes[0]!.nodeType === TEXT_NODE
}

function timeAttr(el: XmlElement, name: string): number | undefined {
  const v = el.getAttribute(name)
  return v === null ? undefined : parseSamlTime(v, `${el.localName} ${name}`)
}

function readConfirmation(sc: XmlElement): SamlSubjectConfirmation {
  const method = sc.getAttribute('Method')
  if (method === null || method === '') throw new SamlError('SubjectConfirmation has no Method')
  const out: SamlSubjectConfirmation = { method }
  const data = optional(sc, 'SubjectConfirmationData')
  if (data === undefined) return out
  const recipient = data.getAttribute('Recipient')
  if (recipient !== null) out.recipient = recipient
  const nb = timeAttr(data, 'NotBefore')
  const noa = timeAttr(data, 'NotOnOrAfter')
  if (nb !== undefined) out.notBefore = nb
  if (noa !== undefined) out.notOnOrAfter = noa
  return out
}

function readConditions(c: XmlElement): SamlConditions {
  const out: SamlConditions = { audienceRestrictions: [], oneTimeUse: false }
  const nb = timeAttr(c, 'NotBefore')
  const noa = timeAttr(c, 'NotOnOrAfter')
  // SAML Core §2.5.1: if both are present, NotBefore MUST be earlier than NotOnOrAfter.
  if (nb !== undefined && noa !== undefined && nb >= noa) throw new SamlError('Conditions NotBefore is not before NotOnOrAfter')
  if (nb !== undefined) out.notBefore = nb
  if (noa !== undefined) out.notOnOrAfter = noa
  for (const child of elementChildren(c)) {
    const name = child.namespaceURI === SAML_ASSERTION_NS ? child.localName : undefined
    if (name === 'AudienceRestriction') {
      const audiences = samlChildren(child, 'Audience').map((a) => textOf(a).trim())
      if (audiences.length === 0) throw new SamlError('AudienceRestriction without Audience')
      out.audienceRestrictions.push(audiences)
    } else if (name === 'OneTimeUse') {
      // SAML Core §2.5.1.5: at most one. Every assertion is one-time here anyway (replay store).
      if (out.oneTimeUse) throw new SamlError('more than one OneTimeUse')
      out.oneTimeUse = true
    } else if (name !== 'ProxyRestriction') {
      // RFC 7522 §3 item 11 and SAML Core §2.5.1: an unknown condition makes the assertion invalid.
      // ProxyRestriction only limits onward assertions, which this server never issues.
      throw new SamlError(`unsupported condition ${child.localName}`)
    }
  }
  return out
}

/**
 * Reads the claims of an Assertion element. Only direct children are read:
 * `<Advice>` may carry other assertions whose Subject or Conditions must never be
 * mistaken for this one's.
 *
 * @throws SamlError when the assertion is malformed or uses what is not supported (EncryptedID, BaseID)
 * @example
 * const claims = readAssertion(signedRoot)
 */
export function readAssertion(a: XmlElement): SamlAssertion {
  if (a.namespaceURI !== SAML_ASSERTION_NS || a.localName !== 'Assertion') throw new SamlError('root is not a saml:Assertion')
  // SAML Core §2.3.3: Version, ID and IssueInstant are required.
  if (a.getAttribute('Version') !== '2.0') throw new SamlError('assertion Version is not 2.0')
  const id = a.getAttribute('ID') ?? ''
  if (!XML_ID.test(id)) throw new SamlError('assertion ID is missing or not an NCName')
  const instant = a.getAttribute('IssueInstant')
  if (instant === null) throw new SamlError('assertion has no IssueInstant')
  const issueInstant = parseSamlTime(instant, 'IssueInstant')

  // RFC 7522 §3 item 1; SAML Core §2.2.5: an Issuer's Format, when given, is the entity format.
  const issuerEl = one(a, 'Issuer')
  const issuerFormat = issuerEl.getAttribute('Format')
  if (issuerFormat !== null && issuerFormat !== ENTITY_FORMAT) throw new SamlError('Issuer Format is not entity')
  const issuer = textOf(issuerEl)

  // RFC 7522 §3 item 3: the Subject names the resource owner.
  const subject = one(a, 'Subject')
  for (const unsupported of ['BaseID', 'EncryptedID']) {
    if (samlChildren(subject, unsupported).length > 0) throw new SamlError(`Subject ${unsupported} is not supported`)
  }
  const nameIdEl = one(subject, 'NameID')
  const out: SamlAssertion = {
    id,
    issuer,
    issueInstant,
    nameId: textOf(nameIdEl),
    subjectConfirmations: samlChildren(subject, 'SubjectConfirmation').map(readConfirmation),
  }
  const format = nameIdEl.getAttribute('Format')
  if (format !== null) out.nameIdFormat = format
  const conditions = optional(a, 'Conditions')
  if (conditions !== undefined) out.conditions = readConditions(conditions)
  return out
}
