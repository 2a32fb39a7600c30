import * as oauth from 'oauth4webapi'
import { describe, expect, it } from 'vitest'
import { createAuthorizationServer, createMemoryStorage } from '../../src/index.js'
import { authorizeAs, authorizeRequest, Browser, expectErrorPage, expectErrorRedirect, pkce, redirect, SPA_CB, testClients, tinyUsers, uidOf, WEB_AUTH, WEB_CB } from '../authorize/fixtures.js'
import { basic, ISSUER, json } from '../helpers.js'
import { parRequest, parSetup } from './helpers.js'

const URN = 'urn:ietf:params:oauth:request_uri:'

/** Pushes `params` for `web` (client_secret_basic) and returns the request_uri. */
async function push(h: Awaited<ReturnType<typeof parSetup>>, params: Record<string, string>, headers = WEB_AUTH): Promise<string> {
  const res = await h.server.handle(parRequest(params, headers))
  expect(res.status, res.body).toBe(201)
  return json(res).request_uri as string
}

const webPush = (extra: Record<string, string> = {}) => ({ response_type: 'code', redirect_uri: WEB_CB, scope: 'api:read', state: 'pushed-state', ...extra })

describe('PAR endpoint (RFC 9126 §2)', () => {
  it('runs a whole code flow through oauth4webapi: pushedAuthorizationRequest, the authorization endpoint, the code grant', async () => {
    const h = await parSetup()
    const client: oauth.Client = { client_id: 'web' }
    const auth = oauth.ClientSecretBasic('web-secret')
    const verifier = oauth.generateRandomCodeVerifier()
    const challenge = await oauth.calculatePKCECodeChallenge(verifier)
    const pushed = await oauth.pushedAuthorizationRequest(h.as, client, auth, { response_type: 'code', redirect_uri: WEB_CB, scope: 'api:read', state: 's-1', code_challenge: challenge, code_challenge_method: 'S256' }, h.http)
    expect(pushed.status).toBe(201)
    expect(pushed.headers.get('cache-control')).toBe('no-store')
    const { request_uri, expires_in } = await oauth.processPushedAuthorizationResponse(h.as, client, pushed)
    expect(request_uri.startsWith(URN)).toBe(true)
    // 256 random bits after the URN prefix.
    expect(request_uri.slice(URN.length)).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(expires_in).toBe(60)

    // RFC 9126 §4: client_id and request_uri are all the authorization request carries.
    const res = await authorizeAs(h, new Browser(), { client_id: 'web', request_uri })
    const callback = oauth.validateAuthResponse(h.as, client, new URL(redirect(res).url), 's-1')
    const tokens = await oauth.processAuthorizationCodeResponse(h.as, client, await oauth.authorizationCodeGrantRequest(h.as, client, auth, callback, WEB_CB, verifier, h.http))
    expect(tokens.access_token).toBeTypeOf('string')
    expect(tokens.scope).toBe('api:read')
  })

  it('lets a public client push with its client_id (oauth4webapi None), PKCE required as at the authorization endpoint', async () => {
    const h = await parSetup()
    const client: oauth.Client = { client_id: 'spa' }
    const withoutPkce = await oauth.pushedAuthorizationRequest(h.as, client, oauth.None(), { response_type: 'code', redirect_uri: SPA_CB, scope: 'api:read' }, h.http)
    expect(withoutPkce.status).toBe(400)
    expect((await withoutPkce.json()).error).toBe('invalid_request')
    const pushed = await oauth.pushedAuthorizationRequest(h.as, client, oauth.None(), { response_type: 'code', redirect_uri: SPA_CB, scope: 'api:read', code_challenge: pkce().challenge, code_challenge_method: 'S256' }, h.http)
    const { request_uri } = await oauth.processPushedAuthorizationResponse(h.as, client, pushed)
    const res = await authorizeAs(h, new Browser(), { client_id: 'spa', request_uri })
    expect(redirect(res).query.get('code')).toBeTypeOf('string')
  })

  it('keeps the pushed request through login and consent, and ignores the parameters sent beside request_uri (RFC 9126 §4)', async () => {
    const h = await parSetup()
    const requestUri = await push(h, webPush({ scope: 'api:read' }))
    const browser = new Browser()
    const start = browser.absorb(await h.server.authorize(authorizeRequest({ client_id: 'web', request_uri: requestUri, scope: 'api:write', state: 'outer', redirect_uri: 'https://evil.example/cb' }, { cookie: browser.cookie })))
    const uid = uidOf(start)
    const details = await h.server.interactions.details(browser.request(), uid)
    expect(details?.scopes).toEqual(['api:read'])
    const done = await h.server.interactions.finish(browser.request(), uid, { login: { sub: 'sub-alice' }, consent: {} })
    const r = redirect(done)
    expect(r.url.origin + r.url.pathname).toBe(WEB_CB)
    expect(r.query.get('state')).toBe('pushed-state')
    expect(r.query.get('code')).toBeTypeOf('string')
  })

  it('answers errors of the authorization request as JSON 400 with the code the authorization endpoint would send (RFC 9126 §2.3)', async () => {
    const h = await parSetup()
    const cases: [Record<string, string>, string][] = [
      [webPush({ redirect_uri: 'https://client.example/other' }), 'invalid_request'],
      [webPush({ scope: 'admin' }), 'invalid_scope'],
      [webPush({ response_type: 'token' }), 'unauthorized_client'],
      [webPush({ response_type: 'foo' }), 'unsupported_response_type'],
      [webPush({ code_challenge: 'short', code_challenge_method: 'S256' }), 'invalid_request'],
      [webPush({ prompt: 'bogus' }), 'invalid_request'],
    ]
    for (const [params, error] of cases) {
      const res = await h.server.handle(parRequest(params, WEB_AUTH))
      expect(res.status, JSON.stringify(params)).toBe(400)
      expect(json(res).error, JSON.stringify(params)).toBe(error)
      expect(res.headers.location).toBeUndefined()
    }
  })

  it('refuses a request_uri inside a pushed request (RFC 9126 §2.1)', async () => {
    const h = await parSetup()
    const res = await h.server.handle(parRequest(webPush({ request_uri: `${URN}abc` }), WEB_AUTH))
    expect(res.status).toBe(400)
    expect(json(res).error).toBe('invalid_request')
  })

  it('authenticates the client as the token endpoint does: 401 invalid_client for a wrong secret, none, or a confidential client without credentials', async () => {
    const h = await parSetup()
    for (const [params, headers] of [
      [webPush(), { authorization: basic('web', 'wrong') }],
      [{ ...webPush(), client_id: 'web' }, {}],
      [{ ...webPush(), client_id: 'nobody' }, {}],
    ] as const) {
      const res = await h.server.handle(parRequest(params, headers))
      expect(res.status).toBe(401)
      expect(json(res).error).toBe('invalid_client')
      expect(res.headers['www-authenticate']).toMatch(/^Basic /)
    }
    // Two methods at once is invalid_request (RFC 6749 §2.3).
    const both = await h.server.handle(parRequest({ ...webPush(), client_id: 'web', client_secret: 'web-secret' }, WEB_AUTH))
    expect(json(both).error).toBe('invalid_request')
    // A repeated credential is malformed.
    const repeated = await h.server.handle(parRequest([['client_id', 'spa'], ['client_id', 'spa'], ...Object.entries(webPush({ redirect_uri: SPA_CB }))]))
    expect(json(repeated).error).toBe('invalid_request')
  })

  it('refuses a body that is not a form, and methods other than POST', async () => {
    const h = await parSetup()
    const notForm = await h.server.handle({ ...parRequest(webPush(), WEB_AUTH), headers: { ...WEB_AUTH, 'content-type': 'application/json' } })
    expect(notForm.status).toBe(400)
    expect(json(notForm).error).toBe('invalid_request')
    const get = await h.server.handle({ method: 'GET', url: new URL(`${ISSUER}/par`), headers: {} })
    expect(get.status).toBe(405)
  })

  it('stores the request_uri only as a hash', async () => {
    const storage = createMemoryStorage()
    const saved: unknown[] = []
    const store = storage.pushedAuthorizationRequests
    const spy = { save: (r: never) => (saved.push(r), store.save(r)), consume: (k: string) => store.consume(k) }
    const server = createAuthorizationServer({ issuer: ISSUER, clients: testClients, users: tinyUsers, storage: { ...storage, pushedAuthorizationRequests: spy } })
    const res = await server.handle(parRequest(webPush(), WEB_AUTH))
    const uri = json(res).request_uri as string
    expect(JSON.stringify(saved)).not.toContain(uri.slice(URN.length))
  })
})

describe('request_uri at the authorization endpoint (RFC 9126 §4)', () => {
  it('is used once: the second use is invalid_request_uri, shown as a page', async () => {
    const h = await parSetup()
    const requestUri = await push(h, webPush())
    expect(uidOf(await h.server.authorize(authorizeRequest({ client_id: 'web', request_uri: requestUri })))).toBeTypeOf('string')
    const again = await h.server.authorize(authorizeRequest({ client_id: 'web', request_uri: requestUri }))
    expectErrorPage(again)
    expect(again.body).toContain('invalid_request_uri')
  })

  it('lets exactly one of two concurrent uses of a request_uri through', async () => {
    const h = await parSetup()
    const requestUri = await push(h, webPush())
    const results = await Promise.all([1, 2, 3, 4].map(() => h.server.authorize(authorizeRequest({ client_id: 'web', request_uri: requestUri }))))
    expect(results.filter((r) => r.status === 303)).toHaveLength(1)
    expect(results.filter((r) => r.status === 400)).toHaveLength(3)
  })

  it('dies after expires_in (60 seconds by default)', async () => {
    const h = await parSetup()
    const requestUri = await push(h, webPush())
    h.clock.advance(60)
    const res = await h.server.authorize(authorizeRequest({ client_id: 'web', request_uri: requestUri }))
    expectErrorPage(res)
    expect(res.body).toContain('invalid_request_uri')
  })

  it('is bound to the client that pushed it: another client_id gets invalid_request_uri', async () => {
    const h = await parSetup()
    const requestUri = await push(h, webPush())
    const res = await h.server.authorize(authorizeRequest({ client_id: 'other', request_uri: requestUri }))
    expectErrorPage(res)
    expect(res.body).toContain('invalid_request_uri')
  })

  it('needs client_id beside request_uri, and refuses an unknown request_uri', async () => {
    const h = await parSetup()
    const requestUri = await push(h, webPush())
    const without = await h.server.authorize(authorizeRequest({ request_uri: requestUri }))
    expectErrorPage(without)
    expect(without.body).toContain('invalid_request')
    const unknown = await h.server.authorize(authorizeRequest({ client_id: 'web', request_uri: `${URN}not-one-we-made` }))
    expectErrorPage(unknown)
    expect(unknown.body).toContain('invalid_request_uri')
  })

  it('answers a request_uri that is not one of ours with request_uri_not_supported at the redirect_uri', async () => {
    const h = await parSetup()
    expectErrorRedirect(await h.server.authorize(authorizeRequest({ response_type: 'code', client_id: 'web', redirect_uri: WEB_CB, request_uri: 'https://client.example/req.jwt' })), WEB_CB, 'request_uri_not_supported')
  })
})

describe('require_pushed_authorization_requests (RFC 9126 §5, §6)', () => {
  it('refuses a plain request of a client registered with it, at its redirect_uri, and accepts its pushed ones', async () => {
    const h = await parSetup({ clients: [{ client_id: 'strict', client_secret: 'strict-secret', redirect_uris: ['https://strict.example/cb'], scope: 'api:read', require_pushed_authorization_requests: true }] })
    const plain = await h.server.authorize(authorizeRequest({ response_type: 'code', client_id: 'strict', redirect_uri: 'https://strict.example/cb', scope: 'api:read', state: 's' }))
    expect(expectErrorRedirect(plain, 'https://strict.example/cb', 'invalid_request').get('state')).toBe('s')
    // The others are not affected.
    expect(uidOf(await h.server.authorize(authorizeRequest({ response_type: 'code', client_id: 'web', redirect_uri: WEB_CB, scope: 'api:read' })))).toBeTypeOf('string')
    const requestUri = await push(h, { response_type: 'code', redirect_uri: 'https://strict.example/cb', scope: 'api:read' }, { authorization: basic('strict', 'strict-secret') })
    expect(uidOf(await h.server.authorize(authorizeRequest({ client_id: 'strict', request_uri: requestUri })))).toBeTypeOf('string')
  })

  it('shows the refusal as a page while the redirect_uri is not registered', async () => {
    const h = await parSetup({ server: { requirePushedAuthorizationRequests: true } })
    expectErrorPage(await h.server.authorize(authorizeRequest({ response_type: 'code', client_id: 'web', redirect_uri: 'https://evil.example/cb' })))
  })

  it('with the server option, refuses every plain request and says so in discovery', async () => {
    const h = await parSetup({ server: { requirePushedAuthorizationRequests: true } })
    expectErrorRedirect(await h.server.authorize(authorizeRequest({ response_type: 'code', client_id: 'web', redirect_uri: WEB_CB, scope: 'api:read' })), WEB_CB, 'invalid_request')
    expect(h.as.require_pushed_authorization_requests).toBe(true)
    const requestUri = await push(h, webPush())
    expect(uidOf(await h.server.authorize(authorizeRequest({ client_id: 'web', request_uri: requestUri })))).toBeTypeOf('string')
  })

  it('refuses a non-boolean registration value, naming the field', () => {
    expect(() => createAuthorizationServer({ issuer: ISSUER, clients: [{ client_id: 'x', client_secret: 's', redirect_uris: [WEB_CB], require_pushed_authorization_requests: 'yes' as never }] })).toThrow(
      'clients[0].require_pushed_authorization_requests: must be a boolean',
    )
  })
})

describe('PAR options and discovery', () => {
  it('advertises the endpoint, and require_pushed_authorization_requests false by default', async () => {
    const h = await parSetup()
    expect(h.as.pushed_authorization_request_endpoint).toBe(`${ISSUER}/par`)
    expect(h.as.require_pushed_authorization_requests).toBe(false)
  })

  it('takes ttl.pushedAuthorizationRequest as expires_in, up to 600 seconds', async () => {
    const h = await parSetup({ server: { ttl: { pushedAuthorizationRequest: 30 } } })
    const res = await h.server.handle(parRequest(webPush(), WEB_AUTH))
    expect(json(res).expires_in).toBe(30)
    h.clock.advance(30)
    expectErrorPage(await h.server.authorize(authorizeRequest({ client_id: 'web', request_uri: json(res).request_uri as string })))
    expect(() => createAuthorizationServer({ issuer: ISSUER, clients: [], ttl: { pushedAuthorizationRequest: 601 } })).toThrow('ttl.pushedAuthorizationRequest: must be at most 600 seconds')
  })

  it('is off, serving and advertising nothing, when the feature is left out', async () => {
    const { defaultFeatures } = await import('../../src/index.js')
    const server = createAuthorizationServer({ issuer: ISSUER, clients: testClients, users: tinyUsers, features: defaultFeatures.filter((f) => f.name !== 'pushed-authorization-requests') })
    const metadata = json(server.metadata({ method: 'GET', url: new URL(`${ISSUER}/.well-known/oauth-authorization-server`), headers: {} }))
    expect(metadata.pushed_authorization_request_endpoint).toBeUndefined()
    expect(metadata.require_pushed_authorization_requests).toBeUndefined()
    expect((await server.handle(parRequest(webPush(), WEB_AUTH))).status).toBe(404)
    // A PAR-shaped request_uri is then just a request_uri this server does not fetch.
    expectErrorRedirect(await server.authorize(authorizeRequest({ response_type: 'code', client_id: 'web', redirect_uri: WEB_CB, request_uri: `${URN}x` })), WEB_CB, 'request_uri_not_supported')
  })
})
