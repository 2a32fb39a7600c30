import { describe, expect, it } from 'vitest'
import { MAX_SAML_ASSERTION_BYTES, SamlError, verifySamlAssertion } from '../../src/saml/verify.js'
import { ALG, assertionXml, BEARER, IDP_CERT, IDP_ENTITY_ID, ISSUER, OTHER_CERT, OTHER_KEY, sign, START, TOKEN_URL } from './helpers.js'

const trusted = { certificateFor: (issuer: string) => (issuer === IDP_ENTITY_ID ? IDP_CERT : undefined) }

function rejects(xml: string, message: RegExp): void {
  let thrown: unknown
  try {
    verifySamlAssertion(xml, trusted)
  } catch (err) {
    thrown = err
  }
  expect(thrown).toBeInstanceOf(SamlError)
  expect((thrown as Error).message).toMatch(message)
}

describe('verifySamlAssertion (XML-DSig, SAML Core §5)', () => {
  describe('accepts', () => {
    it('a signed assertion and reads every claim from the signed XML', () => {
      const claims = verifySamlAssertion(sign(assertionXml()), trusted)
      expect(claims).toEqual({
        id: '_a1',
        issuer: IDP_ENTITY_ID,
        issueInstant: START,
        nameId: 'alice',
        nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
        subjectConfirmations: [{ method: BEARER, recipient: TOKEN_URL, notOnOrAfter: START + 240 }],
        conditions: { notBefore: START - 30, notOnOrAfter: START + 240, audienceRestrictions: [[ISSUER]], oneTimeUse: false },
      })
    })

    it('rsa-sha512 signatures and an XML declaration', () => {
      const xml = '<?xml version="1.0" encoding="UTF-8"?>' + sign(assertionXml(), { signatureAlgorithm: ALG.rsaSha512 })
      expect(verifySamlAssertion(xml, trusted).nameId).toBe('alice')
    })

    it('a KeyInfo carrying some other certificate, because KeyInfo is never read', () => {
      expect(verifySamlAssertion(sign(assertionXml(), { keyInfoCert: OTHER_CERT }), trusted).nameId).toBe('alice')
    })
  })

  describe('signature', () => {
    it('rejects an unsigned assertion', () => {
      rejects(assertionXml(), /not signed/)
    })

    it('rejects an assertion whose NameID was changed after signing', () => {
      rejects(sign(assertionXml()).replace('>alice<', '>admin<'), /signature check failed: .*digest/)
    })

    it('rejects an assertion whose Audience was changed after signing', () => {
      rejects(sign(assertionXml({ audiences: [['https://rp.example']] })).replace('https://rp.example', ISSUER), /signature check failed: .*digest/)
    })

    it('rejects an assertion signed by another key whose certificate is embedded in KeyInfo', () => {
      rejects(sign(assertionXml(), { key: OTHER_KEY, keyInfoCert: OTHER_CERT }), /signature rejected/)
    })

    it('rejects an untrusted Issuer before looking at the signature', () => {
      rejects(sign(assertionXml({ issuer: 'https://evil.example' }), { key: OTHER_KEY, keyInfoCert: OTHER_CERT }), /untrusted issuer/)
    })

    it('rejects rsa-sha1 signatures and sha1 digests', () => {
      rejects(sign(assertionXml(), { signatureAlgorithm: ALG.rsaSha1 }), /rsa-sha1' is not supported/)
      rejects(sign(assertionXml(), { digestAlgorithm: ALG.sha1 }), /sha1' is not supported/)
    })

    it('rejects an HMAC signature keyed with the public certificate (key confusion)', () => {
      rejects(sign(assertionXml(), { hmac: true, key: IDP_CERT }), /hmac-sha1' is not supported/)
    })

    it('rejects a Signature with two References', () => {
      rejects(sign(assertionXml(), { twoReferences: true }), /exactly one Reference/)
    })
  })

  describe('signature wrapping (XSW)', () => {
    const evilSubject = '<saml:Subject><saml:NameID>admin</saml:NameID></saml:Subject>'

    it('rejects a signed assertion wrapped inside an evil unsigned Assertion root', () => {
      const signed = sign(assertionXml())
      const evil = `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_evil" Version="2.0" IssueInstant="${new Date(START * 1000).toISOString()}"><saml:Issuer>${IDP_ENTITY_ID}</saml:Issuer>${evilSubject}<saml:Advice>${signed}</saml:Advice></saml:Assertion>`
      rejects(evil, /Signature must be a ds:Signature child of the Assertion/)
    })

    it('rejects the signature moved up to an evil root whose ID differs', () => {
      const signed = sign(assertionXml())
      const signature = /<ds:Signature[\s\S]*<\/ds:Signature>/.exec(signed)![0]
      const inner = signed.replace(signature, '')
      const evil = `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_evil" Version="2.0" IssueInstant="${new Date(START * 1000).toISOString()}"><saml:Issuer>${IDP_ENTITY_ID}</saml:Issuer>${signature}${evilSubject}<saml:Advice>${inner}</saml:Advice></saml:Assertion>`
      rejects(evil, /does not reference the Assertion/)
    })

    it('rejects an evil root that copies the signed ID (duplicate IDs)', () => {
      const signed = sign(assertionXml())
      const signature = /<ds:Signature[\s\S]*<\/ds:Signature>/.exec(signed)![0]
      const inner = signed.replace(signature, '')
      const evil = `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a1" Version="2.0" IssueInstant="${new Date(START * 1000).toISOString()}"><saml:Issuer>${IDP_ENTITY_ID}</saml:Issuer>${signature}${evilSubject}<saml:Advice>${inner}</saml:Advice></saml:Assertion>`
      rejects(evil, /more than one element/)
    })

    it('rejects an element elsewhere carrying the signed ID in another spelling (Id, id)', () => {
      for (const attr of ['ID', 'Id', 'id']) {
        const xml = sign(assertionXml({ extra: `<saml:Advice><x:Evil xmlns:x="urn:x" ${attr}="_a1">admin</x:Evil></saml:Advice>` }))
        rejects(xml, /more than one element/)
      }
    })

    it('rejects an evil assertion before or after the signed one inside a wrapper', () => {
      const signed = sign(assertionXml())
      const evil = sign(assertionXml({ id: '_evil', nameId: 'admin' }), { key: OTHER_KEY, keyInfoCert: OTHER_CERT })
      rejects(`<w:Wrapper xmlns:w="urn:w">${evil}${signed}</w:Wrapper>`, /root is not a saml:Assertion/)
      rejects(`<w:Wrapper xmlns:w="urn:w">${signed}${evil}</w:Wrapper>`, /root is not a saml:Assertion/)
      const response = `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r" Version="2.0">${signed}</samlp:Response>`
      rejects(response, /root is not a saml:Assertion/)
    })

    it('rejects a signature over the Subject alone, with the claims outside the signed part', () => {
      const xml = assertionXml().replace('<saml:Subject>', '<saml:Subject ID="_subj">')
      rejects(sign(xml, { referenceId: '_subj' }), /does not reference the Assertion/)
    })

    it('rejects a signature over a ds:Object with an ID, with the claims outside the signed part', () => {
      const objects = [{ content: '<x:Note xmlns:x="urn:x">harmless</x:Note>', attributes: { Id: '_obj' } }]
      rejects(sign(assertionXml({ nameId: 'admin' }), { referenceId: '_obj', referenceAttr: 'Id', objects }), /does not reference the Assertion/)
    })

    it('rejects a second Signature anywhere in the document', () => {
      const signed = sign(assertionXml())
      const signature = /<ds:Signature[\s\S]*<\/ds:Signature>/.exec(signed)![0]
      rejects(signed.replace('</saml:Assertion>', `<saml:Advice>${signature}</saml:Advice></saml:Assertion>`), /exactly one Signature/)
    })

    it('refuses a comment inside NameID that the signature does not see', () => {
      // Signed as "admin@example.com.evil"; a reader of the first text node would see "admin@example.com".
      rejects(sign(assertionXml({ nameId: 'admin@example.com<!---->.evil' })), /NameID must contain a single text node/)
      rejects(sign(assertionXml({ nameId: 'admin@example.com<![CDATA[.evil]]>' })), /NameID must contain a single text node/)
    })
  })

  describe('XML hygiene', () => {
    it('refuses a DOCTYPE with entity expansion (billion laughs)', () => {
      const dtd = '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
      rejects(dtd + sign(assertionXml({ nameId: '&lol2;' })), /DOCTYPE/)
      rejects('<?xml version="1.0"?>' + dtd + sign(assertionXml()), /DOCTYPE/)
    })

    it('refuses an external entity (XXE)', () => {
      rejects('<!DOCTYPE a [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' + sign(assertionXml({ nameId: '&xxe;' })), /DOCTYPE/)
    })

    it('refuses processing instructions other than the XML declaration', () => {
      rejects('<?xml-stylesheet href="x"?>' + sign(assertionXml()), /processing instructions/)
      rejects(sign(assertionXml()).replace('</saml:Assertion>', '<?evil?></saml:Assertion>'), /processing instructions/)
    })

    it('refuses an assertion over the size limit', () => {
      const padding = 'x'.repeat(MAX_SAML_ASSERTION_BYTES)
      rejects(sign(assertionXml({ extra: `<saml:Advice><x:P xmlns:x="urn:x">${padding}</x:P></saml:Advice>` })), /larger than/)
    })

    it('refuses deep nesting and too many elements before parsing', () => {
      const deep = '<x:a xmlns:x="urn:x">' + '<x:a>'.repeat(5000) + '</x:a>'.repeat(5000) + '</x:a>'
      rejects(sign(assertionXml()).replace('</saml:Assertion>', `<saml:Advice>${deep}</saml:Advice></saml:Assertion>`), /nested deeper than 64/)
      const many = '<x:a xmlns:x="urn:x">' + '<x:b/>'.repeat(2000) + '</x:a>'
      rejects(sign(assertionXml({ extra: `<saml:Advice>${many}</saml:Advice>` })), /more than 1000 elements/)
    })

    it('refuses what is not well-formed XML or not an assertion', () => {
      rejects('hello', /not well-formed|root/)
      rejects('<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a1">', /not well-formed/)
      rejects(sign(assertionXml()) + '<junk/>', /not well-formed/)
      rejects('<Assertion ID="_a1"/>', /root is not a saml:Assertion/)
      rejects(sign(assertionXml()).replace('<saml:Issuer>', '<saml:Issuer a="1" a="2">'), /not well-formed/)
    })

    it('refuses an ID that is not an NCName', () => {
      rejects(assertionXml({ id: "_a'1" }), /NCName/)
    })
  })

  describe('structure of the signed assertion', () => {
    it('refuses an unknown condition (SAML Core §2.5.1)', () => {
      rejects(sign(assertionXml({ extraConditions: '<saml:Condition xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="x:Custom"/>' })), /unsupported condition/)
    })

    it('refuses an EncryptedID subject', () => {
      const xml = assertionXml().replace('<saml:Subject>', '<saml:Subject><saml:EncryptedID>x</saml:EncryptedID>')
      rejects(sign(xml), /EncryptedID is not supported/)
    })

    it('refuses times that are not UTC xs:dateTime', () => {
      rejects(sign(assertionXml().replace(/NotBefore="[^"]+"/, 'NotBefore="2027-01-15T08:00:00+02:00"')), /not a UTC xs:dateTime/)
      rejects(sign(assertionXml().replace(/NotBefore="[^"]+"/, 'NotBefore="2027-02-31T08:00:00Z"')), /not a valid date/)
    })

    it('reads only direct children, not a Subject nested in Advice', () => {
      const xml = assertionXml().replace(/<saml:Subject>[\s\S]*<\/saml:Subject>/, '') + ''
      const advice = '<saml:Advice><saml:Assertion ID="_n" Version="2.0" IssueInstant="2027-01-15T08:00:00Z"><saml:Issuer>x</saml:Issuer><saml:Subject><saml:NameID>admin</saml:NameID></saml:Subject></saml:Assertion></saml:Advice>'
      rejects(sign(xml.replace('</saml:Assertion>', `${advice}</saml:Assertion>`)), /exactly one Subject/)
    })
  })
})
