import { decodeJwt } from 'jose'
import { describe, expect, it } from 'vitest'
import { SAML2_BEARER_GRANT, saml2Bearer } from '../../src/grants/saml2-bearer.js'
import {
  createAuthorizationServer,
  createMemoryStorage,
  defaultGrants,
  type AuthorizationServerOptions,
  type GrantkitEvent,
  type GrantkitResponse,
  type SamlIdpTrust,
  type UserSource,
} from '../../src/index.js'
import { basic, counterIds, fakeClock, json, tokenRequest } from '../helpers.js'
import { assertionXml, b64url, BEARER, iso, IDP_CERT, IDP_ENTITY_ID, ISSUER, OTHER_CERT, OTHER_KEY, sign, START, TOKEN_URL, type AssertionOptions } from '../saml/helpers.js'

const SKEW = 60

const CLIENTS = [
  { client_id: 'saml-app', client_secret: 'app-secret', grant_types: [SAML2_BEARER_GRANT], scope: 'api:read api:write' },
  { client_id: 'saml-pub', token_endpoint_auth_method: 'none' as const, grant_types: [SAML2_BEARER_GRANT], scope: 'api:read' },
  { client_id: 'other', client_secret: 'other-secret', grant_types: ['client_credentials'], scope: 'api:read' },
]
const APP = { authorization: basic('saml-app', 'app-secret') }

/** A tiny user source: no password hashing, just known subjects. */
const KNOWN = new Set(['alice', 'admin@example.com'])
const users: UserSource = {
  async findByUsername() {
    return undefined
  },
  async verifyPassword() {
    return false
  },
  async claims(sub) {
    return KNOWN.has(sub) ? { sub } : undefined
  },
}

function setup(options: { idp?: Partial<SamlIdpTrust>; extra?: Partial<AuthorizationServerOptions> } = {}) {
  const clock = fakeClock(START)
  const storage = createMemoryStorage({ now: clock.now })
  const replay = storage.replay
  const marked: Array<{ key: string; expiresAt: number }> = []
  storage.replay = {
    markUsed: (key, expiresAt) => {
      marked.push({ key, expiresAt })
      return replay.markUsed(key, expiresAt)
    },
  }
  const server = createAuthorizationServer({
    issuer: ISSUER,
    clients: CLIENTS,
    // Filtered so that these tests keep working once saml2Bearer is one of the defaults.
    grants: [...defaultGrants.filter((g) => g.grantType !== SAML2_BEARER_GRANT), saml2Bearer],
    trust: { samlIdps: [{ entityId: IDP_ENTITY_ID, certificate: IDP_CERT, ...options.idp }] },
    users,
    storage,
    clockSkew: SKEW,
    deps: { now: clock.now, randomId: counterIds() },
    ...options.extra,
  })
  const events: GrantkitEvent[] = []
  server.on('*', (e) => void events.push(e))
  return {
    clock,
    marked,
    events,
    token: (body: Record<string, string>, headers: Record<string, string> = APP) => server.handle(tokenRequest({ grant_type: SAML2_BEARER_GRANT, ...body }, headers)),
    /** The log-only detail of the last token error. */
    detail: () => events.filter((e): e is Extract<GrantkitEvent, { type: 'token.error' }> => e.type === 'token.error').at(-1)?.detail,
  }
}

type Harness = ReturnType<typeof setup>

const signed = (o: AssertionOptions = {}): string => b64url(sign(assertionXml(o)))

async function expectInvalidGrant(h: Harness, res: GrantkitResponse, detail: RegExp): Promise<void> {
  expect(res.status).toBe(400)
  const body = json(res)
  expect(body.error).toBe('invalid_grant')
  // The client gets the generic description; the reason stays in logs.
  expect(body.error_description).toBe('The grant is invalid, expired, revoked or was issued to another client.')
  expect(h.detail()).toMatch(detail)
}

describe('SAML 2.0 bearer assertion grant (RFC 7522)', () => {
  describe('issues tokens', () => {
    it('for a known user named by the NameID, with the client default scope', async () => {
      const h = setup()
      const res = await h.token({ assertion: signed() })
      expect(res.status).toBe(200)
      const body = json(res)
      expect(body).toMatchObject({ token_type: 'Bearer', scope: 'api:read api:write' })
      expect(body.refresh_token).toBeUndefined()
      expect(decodeJwt(body.access_token as string)).toMatchObject({ sub: 'alice', client_id: 'saml-app', scope: 'api:read api:write' })
      expect(h.events.find((e) => e.type === 'token.issued')).toMatchObject({ grantType: SAML2_BEARER_GRANT, sub: 'alice' })
    })

    it('for the client itself when the NameID is its client_id', async () => {
      const h = setup()
      const res = await h.token({ assertion: signed({ nameId: 'saml-app' }), scope: 'api:read' })
      expect(res.status).toBe(200)
      expect(decodeJwt(json(res).access_token as string)).toMatchObject({ sub: 'saml-app', scope: 'api:read' })
    })

    it('to a public client identified by client_id (RFC 7522 §3.1: client authentication is optional)', async () => {
      const h = setup()
      const res = await h.token({ assertion: signed(), client_id: 'saml-pub' }, {})
      expect(res.status).toBe(200)
      expect(json(res).scope).toBe('api:read')
    })

    it('with the audience set to the token endpoint URL, and padding present', async () => {
      const h = setup()
      const assertion = Buffer.from(sign(assertionXml({ audiences: [[TOKEN_URL]] }))).toString('base64').replace(/\+/g, '-').replace(/\//g, '_')
      expect((await h.token({ assertion })).status).toBe(200)
    })

    it('within the clock skew after NotOnOrAfter', async () => {
      const h = setup()
      const assertion = signed()
      h.clock.advance(240 + SKEW - 1)
      expect((await h.token({ assertion })).status).toBe(200)
    })

    it('remembers the assertion ID until the latest NotOnOrAfter (confirmation or Conditions) plus the clock skew', async () => {
      const h = setup()
      expect((await h.token({ assertion: signed({ notOnOrAfter: START + 300, confirmationNotOnOrAfter: START + 200 }) })).status).toBe(200)
      expect(h.marked).toEqual([{ key: `saml:${JSON.stringify([IDP_ENTITY_ID, '_a1'])}`, expiresAt: START + 300 + SKEW }])
    })
  })

  describe('scope and subject rules of the trusted IdP', () => {
    it('trims the default scope to what the IdP may grant', async () => {
      const h = setup({ idp: { scopes: ['api:read'] } })
      const res = await h.token({ assertion: signed() })
      expect(json(res).scope).toBe('api:read')
    })

    it('refuses an explicit scope beyond what the IdP may grant with invalid_scope', async () => {
      const h = setup({ idp: { scopes: ['api:read'] } })
      const res = await h.token({ assertion: signed(), scope: 'api:write' })
      expect(json(res).error).toBe('invalid_scope')
    })

    it('refuses a scope the client is not registered for', async () => {
      const h = setup()
      expect(json(await h.token({ assertion: signed(), scope: 'admin' })).error).toBe('invalid_scope')
    })

    it('refuses a subject the IdP may not assert', async () => {
      const h = setup({ idp: { subjects: ['bob'] } })
      await expectInvalidGrant(h, await h.token({ assertion: signed() }), /may not assert subject alice/)
    })

    it('refuses a NameID that maps to no user and is not the client', async () => {
      const h = setup()
      await expectInvalidGrant(h, await h.token({ assertion: signed({ nameId: 'mallory' }) }), /not a known user or the client/)
      // Another client's id is not "the client itself".
      await expectInvalidGrant(h, await h.token({ assertion: signed({ id: '_a2', nameId: 'other' }) }), /not a known user or the client/)
    })

    it('refuses a client not registered for the grant type with unauthorized_client', async () => {
      const h = setup()
      const res = await h.token({ assertion: signed() }, { authorization: basic('other', 'other-secret') })
      expect(json(res).error).toBe('unauthorized_client')
    })
  })

  describe('the assertion parameter (RFC 7522 §2.1)', () => {
    it('is required (invalid_request)', async () => {
      const h = setup()
      const res = await h.token({})
      expect(res.status).toBe(400)
      expect(json(res).error).toBe('invalid_request')
    })

    it('must be base64url', async () => {
      const h = setup()
      const std = Buffer.from(sign(assertionXml())).toString('base64')
      expect(std).toMatch(/[+/]/)
      await expectInvalidGrant(h, await h.token({ assertion: std }), /not base64url/)
      await expectInvalidGrant(h, await h.token({ assertion: 'abc*def' }), /not base64url/)
      await expectInvalidGrant(h, await h.token({ assertion: signed().slice(0, -1) + '=' + 'A' }), /not base64url/)
      await expectInvalidGrant(h, await h.token({ assertion: 'abcde' }), /not base64url/)
      // "QR" has non-zero padding bits: a second spelling of "A".
      await expectInvalidGrant(h, await h.token({ assertion: 'QR' }), /not canonical base64url/)
    })

    it('must decode to UTF-8 XML', async () => {
      const h = setup()
      await expectInvalidGrant(h, await h.token({ assertion: Buffer.from([0xff, 0xfe, 0x3c]).toString('base64url') }), /not UTF-8/)
      await expectInvalidGrant(h, await h.token({ assertion: b64url('not xml at all') }), /saml: .*(not well-formed|root)/)
    })

    it('may not exceed the size limit', async () => {
      const h = setup({ extra: { maxBodyBytes: 1_000_000 } })
      const padding = `<saml:Advice><x:P xmlns:x="urn:x">${'x'.repeat(70_000)}</x:P></saml:Advice>`
      await expectInvalidGrant(h, await h.token({ assertion: b64url(sign(assertionXml({ extra: padding }))) }), /too large|larger than/)
    })
  })

  describe('signature and XML', () => {
    it('refuses an unsigned assertion', async () => {
      const h = setup()
      await expectInvalidGrant(h, await h.token({ assertion: b64url(assertionXml()) }), /not signed/)
    })

    it('refuses an assertion whose NameID was changed after signing', async () => {
      const h = setup()
      const tampered = sign(assertionXml()).replace('>alice<', '>admin@example.com<')
      await expectInvalidGrant(h, await h.token({ assertion: b64url(tampered) }), /signature check failed/)
    })

    it('refuses an assertion signed by another key whose certificate is in KeyInfo', async () => {
      const h = setup()
      await expectInvalidGrant(h, await h.token({ assertion: b64url(sign(assertionXml(), { key: OTHER_KEY, keyInfoCert: OTHER_CERT })) }), /signature rejected/)
    })

    it('refuses an untrusted Issuer', async () => {
      const h = setup()
      await expectInvalidGrant(h, await h.token({ assertion: signed({ issuer: 'https://evil.example' }) }), /untrusted issuer/)
    })

    it('refuses a wrapped assertion (XSW)', async () => {
      const h = setup()
      const inner = sign(assertionXml())
      const evil = `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_evil" Version="2.0" IssueInstant="2027-01-15T08:00:00Z"><saml:Issuer>${IDP_ENTITY_ID}</saml:Issuer><saml:Subject><saml:NameID>admin@example.com</saml:NameID></saml:Subject><saml:Advice>${inner}</saml:Advice></saml:Assertion>`
      await expectInvalidGrant(h, await h.token({ assertion: b64url(evil) }), /Signature must be/)
    })

    it('refuses a comment inside NameID (admin@example.com<!---->.evil)', async () => {
      const h = setup()
      await expectInvalidGrant(h, await h.token({ assertion: signed({ nameId: 'admin@example.com<!---->.evil' }) }), /NameID must contain a single text node/)
    })

    it('refuses DOCTYPEs: entity expansion and external entities', async () => {
      const h = setup()
      const laughs = '<!DOCTYPE a [<!ENTITY l "lol"><!ENTITY l2 "&l;&l;&l;&l;&l;&l;&l;&l;&l;&l;"><!ENTITY l3 "&l2;&l2;&l2;&l2;&l2;&l2;&l2;&l2;&l2;&l2;">]>'
      await expectInvalidGrant(h, await h.token({ assertion: b64url(laughs + assertionXml({ nameId: '&l3;' })) }), /DOCTYPE/)
      const xxe = '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
      await expectInvalidGrant(h, await h.token({ assertion: b64url(xxe + assertionXml({ nameId: '&x;' })) }), /DOCTYPE/)
    })

    it('refuses an rsa-sha1 signature', async () => {
      const h = setup()
      const assertion = b64url(sign(assertionXml(), { signatureAlgorithm: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1' }))
      await expectInvalidGrant(h, await h.token({ assertion }), /rsa-sha1' is not supported/)
    })
  })

  describe('RFC 7522 §3 rules', () => {
    it('refuses an Audience that is not this server', async () => {
      const h = setup()
      await expectInvalidGrant(h, await h.token({ assertion: signed({ audiences: [['https://rp.example']] }) }), /audience is not this server/)
    })

    it('requires every AudienceRestriction to name this server (SAML Core §2.5.1.4)', async () => {
      const h = setup()
      await expectInvalidGrant(h, await h.token({ assertion: signed({ audiences: [[ISSUER], ['https://rp.example']] }) }), /audience is not this server/)
    })

    it('refuses an assertion with no AudienceRestriction or no Conditions', async () => {
      const h = setup()
      await expectInvalidGrant(h, await h.token({ assertion: signed({ audiences: [] }) }), /no AudienceRestriction/)
      await expectInvalidGrant(h, await h.token({ assertion: signed({ id: '_a2', conditions: null }) }), /no AudienceRestriction/)
    })

    it('refuses a Recipient other than the token endpoint', async () => {
      const h = setup()
      await expectInvalidGrant(h, await h.token({ assertion: signed({ recipient: 'https://rp.example/acs' }) }), /Recipient is not the token endpoint/)
      await expectInvalidGrant(h, await h.token({ assertion: signed({ id: '_a2', recipient: ISSUER }) }), /Recipient is not the token endpoint/)
      await expectInvalidGrant(h, await h.token({ assertion: signed({ id: '_a3', recipient: null }) }), /no Recipient/)
    })

    it('refuses an assertion without a bearer SubjectConfirmation', async () => {
      const h = setup()
      await expectInvalidGrant(h, await h.token({ assertion: signed({ method: 'urn:oasis:names:tc:SAML:2.0:cm:holder-of-key' }) }), /no bearer SubjectConfirmation/)
      await expectInvalidGrant(h, await h.token({ assertion: signed({ id: '_a2', confirmations: '' }) }), /no bearer SubjectConfirmation/)
    })

    it('uses a later bearer confirmation when an earlier one does not fit', async () => {
      const h = setup()
      const confirmations =
        `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData Recipient="https://rp.example/acs" NotOnOrAfter="2027-01-15T08:04:00Z"/></saml:SubjectConfirmation>` +
        `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData Recipient="${TOKEN_URL}" NotOnOrAfter="${new Date((START + 240) * 1000).toISOString()}"/></saml:SubjectConfirmation>`
      expect((await h.token({ assertion: signed({ confirmations }) })).status).toBe(200)
    })

    it('refuses a bearer confirmation without NotOnOrAfter', async () => {
      const h = setup()
      await expectInvalidGrant(h, await h.token({ assertion: signed({ confirmationNotOnOrAfter: null }) }), /no NotOnOrAfter/)
    })

    it('refuses an expired SubjectConfirmationData NotOnOrAfter', async () => {
      const h = setup()
      const assertion = signed({ confirmationNotOnOrAfter: START + 100 })
      h.clock.advance(100 + SKEW)
      await expectInvalidGrant(h, await h.token({ assertion }), /SubjectConfirmationData expired/)
    })

    it('refuses an expired Conditions NotOnOrAfter', async () => {
      const h = setup()
      const assertion = signed({ notOnOrAfter: START + 100 })
      h.clock.advance(100 + SKEW)
      await expectInvalidGrant(h, await h.token({ assertion }), /Conditions NotOnOrAfter has passed/)
    })

    it('refuses a Conditions NotBefore or confirmation NotBefore in the future', async () => {
      const h = setup()
      await expectInvalidGrant(h, await h.token({ assertion: signed({ notBefore: START + SKEW + 1 }) }), /Conditions NotBefore in the future/)
      await expectInvalidGrant(h, await h.token({ assertion: signed({ id: '_a2', confirmationNotBefore: START + SKEW + 1 }) }), /NotBefore in the future/)
    })

    it('accepts a NotBefore within the clock skew', async () => {
      const h = setup()
      expect((await h.token({ assertion: signed({ notBefore: START + SKEW }) })).status).toBe(200)
    })

    it('refuses an IssueInstant in the future', async () => {
      const h = setup()
      await expectInvalidGrant(h, await h.token({ assertion: signed({ issueInstant: START + SKEW + 1 }) }), /IssueInstant in the future/)
    })

    it('refuses an assertion that lives longer than maxAssertionLifetime', async () => {
      const h = setup()
      await expectInvalidGrant(h, await h.token({ assertion: signed({ notOnOrAfter: START + 3600, confirmationNotOnOrAfter: START + 3600 }) }), /maxAssertionLifetime/)
    })

    it('remembers an assertion ID until the latest bearer confirmation could still be used, not the first', async () => {
      const h = setup()
      const scd = (noa: number) =>
        `<saml:SubjectConfirmation Method="${BEARER}"><saml:SubjectConfirmationData Recipient="${TOKEN_URL}" NotOnOrAfter="${iso(noa)}"/></saml:SubjectConfirmation>`
      // Two bearer confirmations: the first runs out at +30 s, the second at +240 s (Conditions too).
      const assertion = signed({ confirmations: scd(START + 30) + scd(START + 240) })
      expect((await h.token({ assertion })).status).toBe(200)
      expect(h.marked.at(-1)!.expiresAt).toBeGreaterThanOrEqual(START + 240 + SKEW)
      // Past the first confirmation and its skew, the second still lets the assertion through: its ID must still be remembered.
      h.clock.advance(30 + SKEW + 10)
      await expectInvalidGrant(h, await h.token({ assertion }), /replayed/)
    })

    it('refuses a replayed assertion ID, even from another client', async () => {
      const h = setup()
      const assertion = signed()
      expect((await h.token({ assertion })).status).toBe(200)
      await expectInvalidGrant(h, await h.token({ assertion }), /replayed/)
      await expectInvalidGrant(h, await h.token({ assertion, client_id: 'saml-pub' }, {}), /replayed/)
    })
  })
})
