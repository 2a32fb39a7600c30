import { describe, expect, it } from 'vitest'
import { defaultFeatures } from '../../src/index.js'
import {
  authorizeAs,
  authorizeRequest,
  base,
  Browser,
  expectErrorPage,
  expectErrorRedirect,
  IMPLICIT_CB,
  ISSUER,
  MULTI_CBS,
  pkce,
  redirect,
  setup,
  SPA_CB,
  uidOf,
  WEB_CB,
  webParams,
} from './fixtures.js'

/** True when the request got as far as the interaction UI, i.e. was accepted. */
function expectAccepted(res: { status: number; headers: Record<string, string | string[]> }): void {
  expect(res.status).toBe(303)
  expect(String(res.headers.location)).toMatch(new RegExp(`^${ISSUER}/interaction/`))
}

describe('authorization endpoint: response_type (RFC 6749 §3.1.1, §4.1.1, §4.2.1; Multiple Response Types)', () => {
  it('accepts response_type=code from a client registered for code', async () => {
    const h = setup()
    expectAccepted(await h.server.authorize(authorizeRequest(webParams())))
  })

  it.each(['token', 'id_token', 'id_token token', 'token id_token'])('accepts response_type=%s from a client registered for it', async (rt) => {
    const h = setup()
    expectAccepted(await h.server.authorize(authorizeRequest({ response_type: rt, client_id: 'implicit', redirect_uri: IMPLICIT_CB, scope: 'openid', nonce: 'n-1' })))
  })

  it('refuses response_type=code from a client registered only for token types with unauthorized_client at the redirect_uri', async () => {
    const h = setup()
    const res = await h.server.authorize(authorizeRequest({ response_type: 'code', client_id: 'implicit', redirect_uri: IMPLICIT_CB, state: 's' }))
    const p = expectErrorRedirect(res, IMPLICIT_CB, 'unauthorized_client', 'query')
    expect(p.get('state')).toBe('s')
  })

  it.each(['token', 'id_token', 'id_token token'])('refuses response_type=%s from a code-only client with unauthorized_client in the fragment', async (rt) => {
    const h = setup()
    const res = await h.server.authorize(authorizeRequest({ response_type: rt, client_id: 'web', redirect_uri: WEB_CB, scope: 'openid', nonce: 'n', state: 's' }))
    const p = expectErrorRedirect(res, WEB_CB, 'unauthorized_client', 'fragment')
    expect(p.get('state')).toBe('s')
  })

  it('refuses a missing response_type with invalid_request at the redirect_uri', async () => {
    const h = setup()
    const { response_type: _, ...rest } = webParams()
    expectErrorRedirect(await h.server.authorize(authorizeRequest(rest)), WEB_CB, 'invalid_request')
  })

  it.each(['foo', 'code token', 'code id_token', 'none', 'CODE'])('refuses unknown response_type=%s with unsupported_response_type', async (rt) => {
    const h = setup()
    expectErrorRedirect(await h.server.authorize(authorizeRequest(webParams({ response_type: rt }))), WEB_CB, 'unsupported_response_type')
  })

  it.each(['token', 'id_token token'])('refuses response_mode=query for response_type=%s, answering in the fragment', async (rt) => {
    const h = setup()
    const res = await h.server.authorize(authorizeRequest({ response_type: rt, response_mode: 'query', client_id: 'implicit', redirect_uri: IMPLICIT_CB, scope: 'openid', nonce: 'n' }))
    expectErrorRedirect(res, IMPLICIT_CB, 'invalid_request', 'fragment')
  })
})

describe('authorization endpoint: redirect_uri (RFC 6749 §3.1.2.3, RFC 9700 §4.1.3)', () => {
  it('accepts the registered redirect_uri, compared as an exact string', async () => {
    const h = setup()
    expectAccepted(await h.server.authorize(authorizeRequest(webParams({ redirect_uri: WEB_CB }))))
  })

  it.each([
    ['a prefix of it', 'https://client.example/'],
    ['a string it is a prefix of', 'https://client.example/cbx'],
    ['an extra path segment', 'https://client.example/cb/extra'],
    ['a trailing slash', 'https://client.example/cb/'],
    ['a different case in the host', 'https://CLIENT.example/cb'],
    ['a different case in the path', 'https://client.example/CB'],
    ['an extra query', 'https://client.example/cb?x=1'],
    ['an added fragment', 'https://client.example/cb#x'],
    ['an explicit default port', 'https://client.example:443/cb'],
    ['percent-encoding of the path', 'https://client.example/%63b'],
    ['another scheme', 'http://client.example/cb'],
    ['another host', 'https://attacker.example/cb'],
  ])('refuses a redirect_uri with %s with an error page, never a redirect', async (_, uri) => {
    const h = setup()
    const res = await h.server.authorize(authorizeRequest(webParams({ redirect_uri: uri })))
    expectErrorPage(res)
    expect(res.body).toContain('invalid_request')
  })

  it('uses the single registered redirect_uri when the request omits it', async () => {
    const h = setup()
    const { redirect_uri: _, ...rest } = webParams()
    const res = await authorizeAs(h, new Browser(), rest)
    const r = redirect(res)
    expect(base(r.url)).toBe(WEB_CB)
    expect(r.query.get('code')).toBeTruthy()
  })

  it('refuses an omitted redirect_uri when the client registered more than one', async () => {
    const h = setup()
    expectErrorPage(await h.server.authorize(authorizeRequest({ response_type: 'code', client_id: 'multi', scope: 'api:read' })))
  })

  it('accepts each of several registered redirect_uris when it is sent', async () => {
    const h = setup()
    for (const uri of MULTI_CBS) {
      const res = await authorizeAs(h, new Browser(), { response_type: 'code', client_id: 'multi', redirect_uri: uri, scope: 'api:read' })
      expect(base(redirect(res).url)).toBe(uri)
    }
  })

  it('refuses a redirect_uri registered for another client', async () => {
    const h = setup()
    expectErrorPage(await h.server.authorize(authorizeRequest(webParams({ redirect_uri: SPA_CB }))))
  })
})

describe('authorization endpoint: client_id (RFC 6749 §4.1.2.1)', () => {
  it('shows an error page for an unknown client_id, never a redirect', async () => {
    const h = setup()
    expectErrorPage(await h.server.authorize(authorizeRequest(webParams({ client_id: 'nobody' }))))
  })

  it('shows an error page for a missing client_id', async () => {
    const h = setup()
    const { client_id: _, ...rest } = webParams()
    expectErrorPage(await h.server.authorize(authorizeRequest(rest)))
  })

  it('shows an error page for an empty client_id', async () => {
    const h = setup()
    expectErrorPage(await h.server.authorize(authorizeRequest(webParams({ client_id: '' }))))
  })

  it('shows an error page for an unknown client_id even with an otherwise valid redirect_uri', async () => {
    const h = setup()
    const res = await h.server.authorize(authorizeRequest({ ...webParams(), client_id: 'WEB' }))
    expectErrorPage(res)
  })
})

describe('authorization endpoint: repeated parameters (RFC 6749 §3.1)', () => {
  const pairs = (extra: [string, string][]): [string, string][] => [...Object.entries(webParams()), ...extra]

  it('shows an error page for a repeated client_id', async () => {
    const h = setup()
    expectErrorPage(await h.server.authorize(authorizeRequest(pairs([['client_id', 'web']]))))
  })

  it('shows an error page for a repeated redirect_uri, even with the same value', async () => {
    const h = setup()
    expectErrorPage(await h.server.authorize(authorizeRequest(pairs([['redirect_uri', WEB_CB]]))))
  })

  it('shows an error page for a repeated client_id whose first value is empty', async () => {
    const h = setup()
    const res = await h.server.authorize(authorizeRequest([['client_id', ''], ...pairs([])]))
    expectErrorPage(res)
  })

  it.each([
    ['response_type', 'code'],
    ['scope', 'api:read'],
    ['state', 'st-1'],
    ['nonce', 'n-1'],
    ['code_challenge', pkce().challenge],
    ['code_challenge_method', 'S256'],
    ['prompt', 'login'],
    ['login_hint', 'alice'],
  ])('answers a repeated %s, even with the same valid value, with invalid_request at the redirect_uri', async (name, value) => {
    const h = setup()
    const params = Object.entries({ ...webParams({ code_challenge: pkce().challenge, code_challenge_method: 'S256' }), [name]: value })
    const res = await h.server.authorize(authorizeRequest([...params, [name, value]]))
    expectErrorRedirect(res, WEB_CB, 'invalid_request')
  })

  it('answers a repeated scope whose first value is empty with invalid_request', async () => {
    const h = setup()
    const { scope: _, ...rest } = webParams()
    const res = await h.server.authorize(authorizeRequest([['scope', ''], ['scope', 'api:read'], ...Object.entries(rest)]))
    expectErrorRedirect(res, WEB_CB, 'invalid_request')
  })
})

describe('authorization endpoint: request objects (OIDC Core §6)', () => {
  it('answers request with request_not_supported at the redirect_uri when the request-objects feature is left out', async () => {
    const h = setup({ features: defaultFeatures.filter((f) => f.name !== 'request-objects') })
    expectErrorRedirect(await h.server.authorize(authorizeRequest(webParams({ request: 'eyJhbGciOiJub25lIn0.e30.' }))), WEB_CB, 'request_not_supported')
  })

  it('answers an unsigned request object with invalid_request_object, as a page (its redirect_uri is not trusted)', async () => {
    const h = setup()
    const res = await h.server.authorize(authorizeRequest(webParams({ request: 'eyJhbGciOiJub25lIn0.e30.' })))
    expectErrorPage(res)
    expect(res.body).toContain('invalid_request_object')
  })

  it('answers request_uri with request_uri_not_supported at the redirect_uri', async () => {
    const h = setup()
    expectErrorRedirect(await h.server.authorize(authorizeRequest(webParams({ request_uri: 'https://client.example/req.jwt' }))), WEB_CB, 'request_uri_not_supported')
  })
})

describe('authorization endpoint: POST (OIDC Core §3.1.2.1)', () => {
  it('accepts the request as a form POST, as it does a GET', async () => {
    const h = setup()
    const browser = new Browser()
    const start = browser.absorb(await h.server.authorize(authorizeRequest(webParams(), { method: 'POST' })))
    const uid = uidOf(start)
    const details = await h.server.interactions.details(browser.request(), uid)
    expect(details).toMatchObject({ client: { id: 'web' }, scopes: ['api:read'] })
    const done = await h.server.interactions.finish(browser.request(), uid, { login: { sub: 'sub-alice' }, consent: {} })
    expect(redirect(done).query.get('code')).toBeTruthy()
  })

  it('answers a POST error at the redirect_uri, as it does a GET', async () => {
    const h = setup()
    expectErrorRedirect(await h.server.authorize(authorizeRequest(webParams({ response_type: 'foo' }), { method: 'POST' })), WEB_CB, 'unsupported_response_type')
  })

  it('shows an error page for a POST with a body that is not a form', async () => {
    const h = setup()
    const res = await h.server.authorize({ method: 'POST', url: new URL(`${ISSUER}/authorize`), headers: { 'content-type': 'application/json' }, body: JSON.stringify(webParams()) })
    expectErrorPage(res)
  })

  it('refuses methods other than GET and POST', async () => {
    const h = setup()
    const res = await h.server.authorize({ ...authorizeRequest(webParams()), method: 'PUT' })
    expect(res.status).toBe(405)
  })
})

describe('authorization endpoint: PKCE request (RFC 7636 §4.3, RFC 9700 §2.1.1)', () => {
  const spa = (extra: Record<string, string> = {}) => ({ response_type: 'code', client_id: 'spa', redirect_uri: SPA_CB, scope: 'api:read', state: 's', ...extra })

  it('accepts code_challenge_method=S256 from a public client', async () => {
    const h = setup()
    expectAccepted(await h.server.authorize(authorizeRequest(spa({ code_challenge: pkce().challenge, code_challenge_method: 'S256' }))))
  })

  it('refuses code_challenge_method=plain by default', async () => {
    const h = setup()
    const res = await h.server.authorize(authorizeRequest(spa({ code_challenge: pkce().verifier, code_challenge_method: 'plain' })))
    expectErrorRedirect(res, SPA_CB, 'invalid_request')
  })

  it('refuses a challenge without a method, which means plain (RFC 7636 §4.3)', async () => {
    const h = setup()
    expectErrorRedirect(await h.server.authorize(authorizeRequest(spa({ code_challenge: pkce().challenge }))), SPA_CB, 'invalid_request')
  })

  it('accepts plain, also as the default method, when pkce.allowPlain is set', async () => {
    const h = setup({ pkce: { allowPlain: true } })
    expectAccepted(await h.server.authorize(authorizeRequest(spa({ code_challenge: pkce().verifier, code_challenge_method: 'plain' }))))
    expectAccepted(await h.server.authorize(authorizeRequest(spa({ code_challenge: pkce().verifier }))))
  })

  it('refuses an unknown code_challenge_method', async () => {
    const h = setup({ pkce: { allowPlain: true } })
    expectErrorRedirect(await h.server.authorize(authorizeRequest(spa({ code_challenge: pkce().challenge, code_challenge_method: 'S512' }))), SPA_CB, 'invalid_request')
  })

  it('requires a code_challenge from a public client', async () => {
    const h = setup()
    const p = expectErrorRedirect(await h.server.authorize(authorizeRequest(spa())), SPA_CB, 'invalid_request')
    expect(p.get('state')).toBe('s')
  })

  it('does not require a code_challenge from a confidential client by default', async () => {
    const h = setup()
    expectAccepted(await h.server.authorize(authorizeRequest(webParams())))
  })

  it("requires a code_challenge from every client with pkce.required 'all'", async () => {
    const h = setup({ pkce: { required: 'all' } })
    expectErrorRedirect(await h.server.authorize(authorizeRequest(webParams())), WEB_CB, 'invalid_request')
    expectAccepted(await h.server.authorize(authorizeRequest(webParams({ code_challenge: pkce().challenge, code_challenge_method: 'S256' }))))
  })

  it('refuses code_challenge_method without code_challenge', async () => {
    const h = setup()
    expectErrorRedirect(await h.server.authorize(authorizeRequest(webParams({ code_challenge_method: 'S256' }))), WEB_CB, 'invalid_request')
  })

  it.each([
    ['too short (42 characters)', 'a'.repeat(42), 'S256'],
    ['an S256 challenge that is not 43 characters', 'a'.repeat(44), 'S256'],
    ['too long (129 characters)', 'a'.repeat(129), 'plain'],
    ['characters outside the unreserved set', 'a'.repeat(42) + '+', 'S256'],
    ['base64 padding', 'a'.repeat(42) + '=', 'S256'],
  ])('refuses a malformed code_challenge: %s', async (_, challenge, method) => {
    const h = setup({ pkce: { allowPlain: true } })
    expectErrorRedirect(await h.server.authorize(authorizeRequest(spa({ code_challenge: challenge, code_challenge_method: method }))), SPA_CB, 'invalid_request')
  })
})

describe('authorization endpoint: OpenID Connect request (OIDC Core §3.1.2.1, §3.2.2.1)', () => {
  it.each(['id_token', 'id_token token'])('requires nonce for response_type=%s', async (rt) => {
    const h = setup()
    const res = await h.server.authorize(authorizeRequest({ response_type: rt, client_id: 'implicit', redirect_uri: IMPLICIT_CB, scope: 'openid', state: 's' }))
    const p = expectErrorRedirect(res, IMPLICIT_CB, 'invalid_request', 'fragment')
    expect(p.get('state')).toBe('s')
  })

  it('requires the openid scope for an id_token response', async () => {
    const h = setup()
    const res = await h.server.authorize(authorizeRequest({ response_type: 'id_token', client_id: 'implicit', redirect_uri: IMPLICIT_CB, scope: 'api:read', nonce: 'n' }))
    expectErrorRedirect(res, IMPLICIT_CB, 'invalid_scope', 'fragment')
  })

  it('requires redirect_uri in an openid request even when only one is registered', async () => {
    const h = setup()
    const { redirect_uri: _, ...rest } = webParams({ scope: 'openid' })
    expectErrorRedirect(await h.server.authorize(authorizeRequest(rest)), WEB_CB, 'invalid_request')
  })

  it('does not require nonce in the code flow', async () => {
    const h = setup()
    expectAccepted(await h.server.authorize(authorizeRequest(webParams({ scope: 'openid' }))))
  })

  it('refuses an unknown prompt value and prompt=none combined with another', async () => {
    const h = setup()
    expectErrorRedirect(await h.server.authorize(authorizeRequest(webParams({ prompt: 'maybe' }))), WEB_CB, 'invalid_request')
    expectErrorRedirect(await h.server.authorize(authorizeRequest(webParams({ prompt: 'none login' }))), WEB_CB, 'invalid_request')
  })

  it('refuses a max_age that is not a whole number of seconds', async () => {
    const h = setup()
    expectErrorRedirect(await h.server.authorize(authorizeRequest(webParams({ max_age: '-1' }))), WEB_CB, 'invalid_request')
    expectErrorRedirect(await h.server.authorize(authorizeRequest(webParams({ max_age: '1.5' }))), WEB_CB, 'invalid_request')
  })

  it('refuses a scope the client is not registered for with invalid_scope', async () => {
    const h = setup()
    expectErrorRedirect(await h.server.authorize(authorizeRequest(webParams({ scope: 'api:read admin' }))), WEB_CB, 'invalid_scope')
  })
})

describe('authorization endpoint: caps on what an unauthenticated request can make the server store (issue 12)', () => {
  const LIMITS = { state: 1024, nonce: 512, login_hint: 256, scope: 2048 }

  it.each(Object.entries(LIMITS))('accepts %s at its cap of %i characters and refuses one more with invalid_request at the redirect_uri', async (name, cap) => {
    const h = setup()
    // A scope at its cap: one known value padded with spaces, which RFC 6749 §3.3 lets separate values.
    const value = (n: number): string => (name === 'scope' ? 'api:read' + ' '.repeat(n - 8) : 'x'.repeat(n))
    expectAccepted(await h.server.authorize(authorizeRequest(webParams({ scope: 'openid api:read', nonce: 'n', [name]: value(cap) }))))
    const res = await h.server.authorize(authorizeRequest(webParams({ scope: 'openid api:read', nonce: 'n', [name]: value(cap + 1) })))
    const p = expectErrorRedirect(res, WEB_CB, 'invalid_request')
    if (name !== 'state') expect(p.get('state')).toBe('st-1')
  })

  it('drops a state over its cap from the error redirect rather than echoing it', async () => {
    const h = setup()
    const p = expectErrorRedirect(await h.server.authorize(authorizeRequest(webParams({ state: 's'.repeat(1025) }))), WEB_CB, 'invalid_request')
    expect(p.has('state')).toBe(false)
  })

  it('refuses more than 64 scope values with invalid_request', async () => {
    const h = setup()
    expectAccepted(await h.server.authorize(authorizeRequest(webParams({ scope: Array(64).fill('api:read').join(' ') }))))
    expectErrorRedirect(await h.server.authorize(authorizeRequest(webParams({ scope: Array(65).fill('api:read').join(' ') }))), WEB_CB, 'invalid_request')
  })

  it('refuses max_age past 2^31 - 1 seconds with invalid_request', async () => {
    const h = setup()
    expectAccepted(await h.server.authorize(authorizeRequest(webParams({ max_age: '2147483647' }))))
    expectErrorRedirect(await h.server.authorize(authorizeRequest(webParams({ max_age: '2147483648' }))), WEB_CB, 'invalid_request')
  })

  it('keeps a login_hint at its cap whole instead of cutting it', async () => {
    const h = setup()
    const hint = 'a'.repeat(244) + '@example.com'
    const res = await h.server.authorize(authorizeRequest(webParams({ login_hint: hint })))
    expectAccepted(res)
    const details = await h.server.interactions.details(authorizeRequest({}, { cookie: String(res.headers['set-cookie']).split(';')[0]! }), uidOf(res))
    expect(details?.loginHint).toBe(hint)
  })

  it('refuses a request whose values, each under its cap, add up to more than an interaction may store', async () => {
    const h = setup()
    // Control characters take six bytes each once the record is JSON.
    const res = await h.server.authorize(authorizeRequest(webParams({ scope: 'openid api:read', state: '\u0001'.repeat(1024), nonce: '\u0001'.repeat(512) })))
    expectErrorRedirect(res, WEB_CB, 'invalid_request')
  })
})
