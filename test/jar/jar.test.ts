import { createHmac } from 'node:crypto'
import * as oauth from 'oauth4webapi'
import { describe, expect, it } from 'vitest'
import { createAuthorizationServer, defaultFeatures } from '../../src/index.js'
import { authorizeAs, authorizeRequest, Browser, expectErrorPage, expectErrorRedirect, redirect, testClients, tinyUsers, uidOf, WEB_AUTH, WEB_CB } from '../authorize/fixtures.js'
import { ISSUER, json } from '../helpers.js'
import { clientKeys, parRequest, parSetup, SIGNER_CB, type ParHarness } from '../par/helpers.js'

const signer: oauth.Client = { client_id: 'signer' }
const signerParams = (extra: Record<string, string> = {}) => ({ response_type: 'code', redirect_uri: SIGNER_CB, scope: 'api:read', state: 'inner-state', ...extra })

/** A request object of `signer`, signed by oauth4webapi; `modify` changes header and claims before signing. */
function requestObject(h: ParHarness, params: Record<string, string> = signerParams(), modify?: (header: Record<string, unknown>, claims: Record<string, unknown>) => void, key = h.signerKey): Promise<string> {
  return oauth.issueRequestObject(h.as, signer, params, key, modify === undefined ? {} : { [oauth.modifyAssertion]: modify as never })
}

/** Sends a request object by value, with only client_id beside it. */
const byValue = (h: ParHarness, request: string, outer: Record<string, string> = {}) => h.server.authorize(authorizeRequest({ client_id: 'signer', request, ...outer }))

/** Asserts that a request object was refused with invalid_request_object, as a page. */
async function expectRefused(h: ParHarness, request: string): Promise<void> {
  const res = await byValue(h, request)
  expectErrorPage(res)
  expect(res.body).toContain('invalid_request_object')
}

/** An unsigned JWT (alg none) with these claims. */
const unsigned = (claims: Record<string, unknown>) => `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`

describe('request objects by value (RFC 9101 §5.1, §6)', () => {
  it('runs a code flow with a request object from oauth4webapi issueRequestObject; the parameters inside win over those outside (§6.3)', async () => {
    const h = await parSetup()
    const request = await requestObject(h)
    const browser = new Browser()
    const start = browser.absorb(await byValue(h, request, { scope: 'api:write', state: 'outer-state', redirect_uri: 'https://evil.example/cb', response_type: 'token' }))
    const uid = uidOf(start)
    expect((await h.server.interactions.details(browser.request(), uid))?.scopes).toEqual(['api:read'])
    const done = redirect(await h.server.interactions.finish(browser.request(), uid, { login: { sub: 'sub-alice' }, consent: {} }))
    expect(done.url.origin + done.url.pathname).toBe(SIGNER_CB)
    expect(done.query.get('state')).toBe('inner-state')
    const callback = oauth.validateAuthResponse(h.as, signer, done.url, 'inner-state')
    const auth = oauth.PrivateKeyJwt(h.signerKey)
    const tokens = await oauth.processAuthorizationCodeResponse(h.as, signer, await oauth.authorizationCodeGrantRequest(h.as, signer, auth, callback, SIGNER_CB, oauth.nopkce, h.http))
    expect(tokens.scope).toBe('api:read')
  })

  it('accepts a request object without typ and with typ JWT (OIDC Core §6.1), and reads numbers and arrays', async () => {
    const h = await parSetup()
    for (const typ of [undefined, 'JWT']) {
      const request = await requestObject(h, signerParams({ max_age: '300' }), (header) => {
        if (typ === undefined) delete header.typ
        else header.typ = typ
      })
      expect(uidOf(await byValue(h, request))).toBeTypeOf('string')
    }
  })

  it('refuses alg none, whatever the claims', async () => {
    const h = await parSetup()
    const now = h.clock.now()
    await expectRefused(h, unsigned({ iss: 'signer', aud: ISSUER, exp: now + 60, client_id: 'signer', ...signerParams() }))
  })

  it('refuses an HMAC request object, even one keyed with something the client knows', async () => {
    const h = await parSetup()
    const now = h.clock.now()
    const head = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'oauth-authz-req+jwt' })).toString('base64url')
    const body = Buffer.from(JSON.stringify({ iss: 'signer', aud: ISSUER, exp: now + 60, client_id: 'signer', ...signerParams() })).toString('base64url')
    const sig = createHmac('sha256', JSON.stringify((await clientKeys()).jwk)).update(`${head}.${body}`).digest('base64url')
    await expectRefused(h, `${head}.${body}.${sig}`)
  })

  it('refuses a request object signed by a key the client did not register', async () => {
    const h = await parSetup()
    const other = await clientKeys()
    await expectRefused(h, await requestObject(h, signerParams(), undefined, { key: other.privateKey, kid: 'k1' }))
  })

  it.each([
    ['aud another server', (_: Record<string, unknown>, c: Record<string, unknown>) => void (c.aud = 'https://other.example')],
    ['iss another client', (_: Record<string, unknown>, c: Record<string, unknown>) => void (c.iss = 'web')],
    ['no exp', (_: Record<string, unknown>, c: Record<string, unknown>) => void delete c.exp],
    ['expired', (_: Record<string, unknown>, c: Record<string, unknown>) => void ((c.exp as number) -= 3600, (c.iat as number) -= 3600, (c.nbf as number) -= 3600)],
    ['exp beyond maxAssertionLifetime', (_: Record<string, unknown>, c: Record<string, unknown>) => void ((c.exp as number) += 3600)],
    ['iat in the future', (_: Record<string, unknown>, c: Record<string, unknown>) => void ((c.iat as number) += 600, (c.exp as number) += 600)],
    ['nbf in the future', (_: Record<string, unknown>, c: Record<string, unknown>) => void ((c.nbf as number) += 600)],
    ['client_id inside differs (§5)', (_: Record<string, unknown>, c: Record<string, unknown>) => void (c.client_id = 'web')],
    ['request_uri inside', (_: Record<string, unknown>, c: Record<string, unknown>) => void (c.request_uri = 'urn:ietf:params:oauth:request_uri:x')],
    ['request inside', (_: Record<string, unknown>, c: Record<string, unknown>) => void (c.request = 'a.b.c')],
    ['typ of another kind of JWT (RFC 8725 §3.11)', (hd: Record<string, unknown>) => void (hd.typ = 'dpop+jwt')],
  ])('refuses a request object with %s: invalid_request_object', async (_, modify) => {
    const h = await parSetup()
    await expectRefused(h, await requestObject(h, signerParams(), modify))
  })

  it('takes a request object once: its jti is spent (RFC 9101 §10.8)', async () => {
    const h = await parSetup()
    const request = await requestObject(h)
    expect(uidOf(await byValue(h, request))).toBeTypeOf('string')
    await expectRefused(h, request)
  })

  it('needs client_id outside, naming a registered client with keys', async () => {
    const h = await parSetup()
    const request = await requestObject(h)
    const without = await h.server.authorize(authorizeRequest({ request }))
    expectErrorPage(without)
    expect(without.body).toContain('invalid_request')
    const unknown = await h.server.authorize(authorizeRequest({ client_id: 'nobody', request }))
    expectErrorPage(unknown)
    // `web` has no keys: nothing can verify a request object of its.
    const keyless = await h.server.authorize(authorizeRequest({ client_id: 'web', request }))
    expectErrorPage(keyless)
    expect(keyless.body).toContain('invalid_request_object')
  })

  it('refuses request and request_uri together (§5)', async () => {
    const h = await parSetup()
    const res = await byValue(h, await requestObject(h), { request_uri: 'urn:ietf:params:oauth:request_uri:x' })
    expectErrorPage(res)
    expect(res.body).toContain('invalid_request')
  })

  it('validates the parameters inside as any request: an unregistered redirect_uri inside is a page, a bad scope goes to the redirect_uri', async () => {
    const h = await parSetup()
    expectErrorPage(await byValue(h, await requestObject(h, signerParams({ redirect_uri: 'https://evil.example/cb' }))))
    expectErrorRedirect(await byValue(h, await requestObject(h, signerParams({ scope: 'admin' }))), SIGNER_CB, 'invalid_scope')
  })

  it('holds a request object to request_object_signing_alg when the client registered one', async () => {
    const h = await parSetup({ signer: { request_object_signing_alg: 'RS256' } })
    await expectRefused(h, await requestObject(h))
    const es = await parSetup({ signer: { request_object_signing_alg: 'ES256' } })
    expect(uidOf(await byValue(es, await requestObject(es)))).toBeTypeOf('string')
  })
})

describe('request objects pushed (RFC 9126 §3)', () => {
  it('accepts a request object pushed through oauth4webapi with private_key_jwt, and the pushed request counts as signed', async () => {
    const h = await parSetup({ signer: { require_signed_request_object: true, require_pushed_authorization_requests: true } })
    const request = await requestObject(h)
    const pushed = await oauth.pushedAuthorizationRequest(h.as, signer, oauth.PrivateKeyJwt(h.signerKey), { request }, h.http)
    const { request_uri } = await oauth.processPushedAuthorizationResponse(h.as, signer, pushed)
    const res = await authorizeAs(h, new Browser(), { client_id: 'signer', request_uri })
    const r = redirect(res)
    expect(r.query.get('code')).toBeTypeOf('string')
    expect(r.query.get('state')).toBe('inner-state')
  })

  it('refuses at the PAR endpoint, as JSON, a request object that fails or belongs to another client', async () => {
    const h = await parSetup({ clients: [] })
    const forged = await requestObject(h, signerParams(), (_, c) => void (c.aud = 'https://other.example'))
    const res = await h.server.handle(parRequest({ client_id: 'web', request: await requestObject(h) }, WEB_AUTH))
    expect(res.status).toBe(400)
    expect(json(res).error).toBe('invalid_request_object')
    const auth = oauth.PrivateKeyJwt(h.signerKey)
    const bad = await oauth.pushedAuthorizationRequest(h.as, signer, auth, { request: forged }, h.http)
    expect(bad.status).toBe(400)
    expect((await bad.json()).error).toBe('invalid_request_object')
  })
})

describe('require_signed_request_object (RFC 9101 §10.5)', () => {
  it('refuses a plain request of a client registered with it, at its redirect_uri, and a plain push as JSON', async () => {
    const h = await parSetup({ signer: { require_signed_request_object: true } })
    expectErrorRedirect(await h.server.authorize(authorizeRequest({ client_id: 'signer', ...signerParams() })), SIGNER_CB, 'invalid_request')
    const pushed = await oauth.pushedAuthorizationRequest(h.as, signer, oauth.PrivateKeyJwt(h.signerKey), signerParams(), h.http)
    expect(pushed.status).toBe(400)
    expect((await pushed.json()).error).toBe('invalid_request')
    expect(uidOf(await byValue(h, await requestObject(h)))).toBeTypeOf('string')
  })

  it('with the server option, refuses every plain request and says so in discovery', async () => {
    const h = await parSetup({ server: { requireSignedRequestObject: true } })
    expect(h.as.require_signed_request_object).toBe(true)
    expectErrorRedirect(await h.server.authorize(authorizeRequest({ response_type: 'code', client_id: 'web', redirect_uri: WEB_CB, scope: 'api:read' })), WEB_CB, 'invalid_request')
  })
})

describe('request object client metadata and discovery', () => {
  const make = (extra: Record<string, unknown>) => () =>
    createAuthorizationServer({ issuer: ISSUER, clients: [{ client_id: 'x', client_secret: 's', redirect_uris: [WEB_CB], ...extra }] })

  it('refuses none, HMAC and unknown algorithms, non-booleans, and a signing requirement without keys, naming the field', () => {
    expect(make({ request_object_signing_alg: 'none' })).toThrow('clients[0].request_object_signing_alg: "none" is refused')
    expect(make({ request_object_signing_alg: 'HS256' })).toThrow('clients[0].request_object_signing_alg: "HS256" is symmetric')
    expect(make({ request_object_signing_alg: 'XS1' })).toThrow('clients[0].request_object_signing_alg: "XS1" is not supported')
    expect(make({ require_signed_request_object: 1 })).toThrow('clients[0].require_signed_request_object: must be a boolean')
    expect(make({ require_signed_request_object: true })).toThrow('clients[0].jwks: is required to verify')
  })

  it('advertises request objects: by value yes, fetched request_uri no, asymmetric algorithms only', async () => {
    const h = await parSetup()
    expect(h.as.request_parameter_supported).toBe(true)
    expect(h.as.request_uri_parameter_supported).toBe(false)
    expect(h.as.require_signed_request_object).toBe(false)
    const algs = h.as.request_object_signing_alg_values_supported!
    expect(algs).toContain('ES256')
    expect(algs.some((a) => a === 'none' || a.startsWith('HS'))).toBe(false)
  })

  it('advertises request_parameter_supported false and refuses request when the feature is left out', () => {
    const server = createAuthorizationServer({ issuer: ISSUER, clients: testClients, users: tinyUsers, features: defaultFeatures.filter((f) => f.name !== 'request-objects') })
    const metadata = json(server.metadata({ method: 'GET', url: new URL(`${ISSUER}/.well-known/oauth-authorization-server`), headers: {} }))
    expect(metadata.request_parameter_supported).toBe(false)
    expect(metadata.request_object_signing_alg_values_supported).toBeUndefined()
    expect(metadata.require_signed_request_object).toBeUndefined()
  })
})
