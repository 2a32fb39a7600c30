import { describe, expect, it } from 'vitest'
import {
  authorizeAs,
  authorizeRequest,
  base,
  Browser,
  expectErrorPage,
  expectErrorRedirect,
  ISSUER,
  redirect,
  setCookies,
  setup,
  uidOf,
  WEB_CB,
  webParams,
  testClients,
  type Harness,
} from '../authorize/fixtures.js'
import { contextOf } from '../../src/server.js'

/** Starts an authorization in `browser` and returns the interaction uid. */
async function start(h: Harness, browser: Browser, params: Record<string, string> = webParams()): Promise<string> {
  return uidOf(browser.absorb(await h.server.authorize(authorizeRequest(params, { cookie: browser.cookie }))))
}

describe('interaction API: starting (OIDC Core §3.1.2.3)', () => {
  it('answers an authorization that needs a person with 303 to the interaction URL and an interaction cookie', async () => {
    const h = setup()
    const res = await h.server.authorize(authorizeRequest(webParams()))
    expect(res.status).toBe(303)
    const uid = uidOf(res)
    expect(res.headers.location).toBe(`${ISSUER}/interaction/${uid}`)
    const cookie = setCookies(res).find((c) => c.startsWith('__Host-grantkit_interaction='))
    expect(cookie).toBeDefined()
    expect(cookie).toMatch(/; HttpOnly/)
    expect(cookie).toMatch(/; SameSite=Lax/)
    expect(cookie).toMatch(/; Secure/)
    // The cookie value is not the uid: knowing the URL is not enough.
    expect(cookie).not.toContain(uid)
  })

  it('sends the person to the embedder UI when interaction.url is set', async () => {
    const h = setup({ interaction: { url: (uid) => 'https://app.example/login?uid=' + uid } })
    const browser = new Browser()
    const res = browser.absorb(await h.server.authorize(authorizeRequest(webParams())))
    const r = redirect(res)
    expect(base(r.url)).toBe('https://app.example/login')
    const uid = r.query.get('uid')!
    expect(uid).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(browser.jar.has('__Host-grantkit_interaction')).toBe(true)
    expect(await h.server.interactions.details(browser.request(), uid)).toMatchObject({ uid, prompt: 'login' })
    const done = await h.server.interactions.finish(browser.request(), uid, { login: { sub: 'sub-alice' }, consent: {} })
    expect(redirect(done).query.get('code')).toBeTruthy()
  })

  it('does not serve the built-in pages when the embedder has its own UI', async () => {
    const h = setup({ interaction: { url: (uid) => 'https://app.example/login?uid=' + uid } })
    const browser = new Browser()
    const res = browser.absorb(await h.server.authorize(authorizeRequest(webParams())))
    const uid = redirect(res).query.get('uid')!
    const page = await h.server.handle({ method: 'GET', url: new URL(`${ISSUER}/interaction/${uid}`), headers: { cookie: browser.cookie } })
    expect(page.status).toBe(404)
  })
})

describe('interaction API: details', () => {
  it('describes the client, the scopes and the login step, then the consent step', async () => {
    const h = setup()
    const browser = new Browser()
    const uid = await start(h, browser, webParams({ scope: 'openid email', login_hint: 'alice' }))
    const login = await h.server.interactions.details(browser.request(), uid)
    expect(login).toMatchObject({ uid, prompt: 'login', client: { id: 'web', name: 'Web App' }, scopes: ['openid', 'email'], grantedScopes: [], loginHint: 'alice' })
    expect(login!.csrf).toBeTypeOf('string')
    expect(login!.sub).toBeUndefined()

    const after = browser.absorb(await h.server.interactions.finish(browser.request(), uid, { login: { sub: 'sub-alice' } }))
    expect(after.status).toBe(303)
    expect(after.headers.location).toBe(`${ISSUER}/interaction/${uid}`)
    const consent = await h.server.interactions.details(browser.request(), uid)
    expect(consent).toMatchObject({ uid, prompt: 'consent', client: { id: 'web', name: 'Web App' }, scopes: ['openid', 'email'], sub: 'sub-alice' })
  })

  it('returns null to a request without the interaction cookie of the browser that started it', async () => {
    const h = setup()
    const browser = new Browser()
    const uid = await start(h, browser)
    expect(await h.server.interactions.details({ method: 'GET', url: new URL(`${ISSUER}/interaction/${uid}`), headers: {} }, uid)).toBeNull()
    const stranger = new Browser()
    await start(h, stranger)
    expect(await h.server.interactions.details(stranger.request(), uid)).toBeNull()
    expect(await h.server.interactions.details(browser.request(), uid)).not.toBeNull()
  })

  it('returns null for an unknown uid', async () => {
    const h = setup()
    const browser = new Browser()
    await start(h, browser)
    expect(await h.server.interactions.details(browser.request(), 'x'.repeat(43))).toBeNull()
  })

  it('returns null once the interaction has expired', async () => {
    const h = setup({ interactionTtl: 60 })
    const browser = new Browser()
    const uid = await start(h, browser)
    h.clock.advance(61)
    expect(await h.server.interactions.details(browser.request(), uid)).toBeNull()
    expectErrorPage(await h.server.interactions.finish(browser.request(), uid, { login: { sub: 'sub-alice' }, consent: {} }))
  })

  it('refuses to finish from a browser without the interaction cookie', async () => {
    const h = setup()
    const browser = new Browser()
    const uid = await start(h, browser)
    const res = await h.server.interactions.finish({ method: 'POST', url: new URL(`${ISSUER}/interaction/${uid}`), headers: {} }, uid, { login: { sub: 'sub-mallory' }, consent: {} })
    expectErrorPage(res)
  })
})

describe('interaction API: finish', () => {
  it('login then consent ends with 303 to the redirect_uri with code, state and iss, and starts a session', async () => {
    const h = setup()
    const browser = new Browser()
    const uid = await start(h, browser, webParams({ state: 'st-42' }))
    const login = browser.absorb(await h.server.interactions.finish(browser.request(), uid, { login: { sub: 'sub-alice' } }))
    const session = setCookies(login).find((c) => c.startsWith('__Host-grantkit_session='))
    expect(session).toMatch(/^__Host-grantkit_session=[^;]+; Path=\/; HttpOnly; SameSite=Lax; Secure; Max-Age=86400$/)
    const done = browser.absorb(await h.server.interactions.finish(browser.request(), uid, { consent: {} }))
    const r = redirect(done)
    expect(base(r.url)).toBe(WEB_CB)
    expect(r.query.get('code')).toBeTruthy()
    expect(r.query.get('state')).toBe('st-42')
    expect(r.query.get('iss')).toBe(ISSUER)
    expect(browser.jar.has('__Host-grantkit_session')).toBe(true)
    // The interaction binding is cleared once it is done.
    expect(browser.jar.has('__Host-grantkit_interaction')).toBe(false)
  })

  it('login and consent in one call finish at once', async () => {
    const h = setup()
    const browser = new Browser()
    const uid = await start(h, browser)
    const done = browser.absorb(await h.server.interactions.finish(browser.request(), uid, { login: { sub: 'sub-alice' }, consent: {} }))
    expect(redirect(done).query.get('code')).toBeTruthy()
    expect(setCookies(done).some((c) => c.startsWith('__Host-grantkit_session='))).toBe(true)
  })

  it('an access_denied result sends access_denied to the redirect_uri, with state and iss, and no code', async () => {
    const h = setup()
    const browser = new Browser()
    const uid = await start(h, browser, webParams({ state: 'st-7' }))
    const res = await h.server.interactions.finish(browser.request(), uid, { error: 'access_denied' })
    const p = expectErrorRedirect(res, WEB_CB, 'access_denied')
    expect(p.get('state')).toBe('st-7')
    expect(p.get('iss')).toBe(ISSUER)
    expect(p.has('code')).toBe(false)
  })

  it('an access_denied result goes to the fragment for an implicit request', async () => {
    const h = setup()
    const browser = new Browser()
    const uid = await start(h, browser, { response_type: 'token', client_id: 'implicit', redirect_uri: 'https://implicit.example/cb', scope: 'api:read' })
    expectErrorRedirect(await h.server.interactions.finish(browser.request(), uid, { error: 'access_denied' }), 'https://implicit.example/cb', 'access_denied', 'fragment')
  })

  it('answers a second finish with an error page and no second code', async () => {
    const h = setup()
    const browser = new Browser()
    const uid = await start(h, browser)
    const req = browser.request()
    const first = await h.server.interactions.finish(req, uid, { login: { sub: 'sub-alice' }, consent: {} })
    expect(redirect(first).query.get('code')).toBeTruthy()
    const second = await h.server.interactions.finish(req, uid, { login: { sub: 'sub-alice' }, consent: {} })
    expectErrorPage(second)
    const denied = await h.server.interactions.finish(req, uid, { error: 'access_denied' })
    expectErrorPage(denied)
  })

  it('gives one code to two finishes racing on the same interaction', async () => {
    const h = setup()
    const browser = new Browser()
    const uid = await start(h, browser)
    const req = browser.request()
    const results = await Promise.all([1, 2, 3].map(() => h.server.interactions.finish(req, uid, { login: { sub: 'sub-alice' }, consent: {} })))
    expect(results.filter((r) => r.status === 303)).toHaveLength(1)
  })

  it('grants a narrower scope when consent names one', async () => {
    const h = setup()
    const browser = new Browser()
    const uid = await start(h, browser, webParams({ scope: 'api:read api:write' }))
    const done = await h.server.interactions.finish(browser.request(), uid, { login: { sub: 'sub-alice' }, consent: { scope: 'api:read' } })
    expect(redirect(done).query.get('code')).toBeTruthy()
    expect(await contextOf(h.server).storage.consents.find('sub-alice', 'web')).toBe('api:read')
  })
})

describe('single sign-on and remembered consent', () => {
  it('skips login and consent for a second authorization with the session cookie and the same scopes', async () => {
    const h = setup()
    const browser = new Browser()
    await authorizeAs(h, browser, webParams({ scope: 'openid api:read' }))
    const again = await h.server.authorize(authorizeRequest(webParams({ scope: 'openid api:read', state: 'st-2' }), { cookie: browser.cookie }))
    const r = redirect(again)
    expect(base(r.url)).toBe(WEB_CB)
    expect(r.query.get('code')).toBeTruthy()
    expect(r.query.get('state')).toBe('st-2')
  })

  it('also skips them for a subset of the scopes already granted', async () => {
    const h = setup()
    const browser = new Browser()
    await authorizeAs(h, browser, webParams({ scope: 'openid api:read' }))
    const r = redirect(await h.server.authorize(authorizeRequest(webParams({ scope: 'api:read' }), { cookie: browser.cookie })))
    expect(r.query.get('code')).toBeTruthy()
  })

  it('asks for consent again, and only consent, when more scopes are requested', async () => {
    const h = setup()
    const browser = new Browser()
    await authorizeAs(h, browser, webParams({ scope: 'api:read' }))
    const uid = await start(h, browser, webParams({ scope: 'api:read api:write' }))
    const details = await h.server.interactions.details(browser.request(), uid)
    expect(details).toMatchObject({ prompt: 'consent', scopes: ['api:read', 'api:write'], grantedScopes: ['api:read'], sub: 'sub-alice' })
    const done = await h.server.interactions.finish(browser.request(), uid, { consent: {} })
    expect(redirect(done).query.get('code')).toBeTruthy()
  })

  it('asks another client for its own consent within the same session', async () => {
    const h = setup()
    const browser = new Browser()
    await authorizeAs(h, browser, webParams({ scope: 'api:read' }))
    const uid = await start(h, browser, { response_type: 'code', client_id: 'other', redirect_uri: WEB_CB, scope: 'api:read' })
    expect(await h.server.interactions.details(browser.request(), uid)).toMatchObject({ prompt: 'consent', client: { id: 'other' } })
  })

  it('asks for login again in a browser without the session cookie', async () => {
    const h = setup()
    await authorizeAs(h, new Browser(), webParams())
    const fresh = new Browser()
    const uid = await start(h, fresh)
    expect(await h.server.interactions.details(fresh.request(), uid)).toMatchObject({ prompt: 'login' })
  })
})

describe('OpenID Connect prompt and max_age (OIDC Core §3.1.2.1, §3.1.2.6)', () => {
  it('prompt=none without a session answers login_required at the redirect_uri, with state and iss', async () => {
    const h = setup()
    const res = await h.server.authorize(authorizeRequest(webParams({ scope: 'openid', prompt: 'none', state: 'st-n' })))
    const p = expectErrorRedirect(res, WEB_CB, 'login_required')
    expect(p.get('state')).toBe('st-n')
    expect(p.get('iss')).toBe(ISSUER)
    expect(setCookies(res)).toEqual([])
  })

  it('prompt=none with a session but without consent answers consent_required', async () => {
    const h = setup()
    const browser = new Browser()
    await authorizeAs(h, browser, webParams({ scope: 'openid' }))
    const res = await h.server.authorize(authorizeRequest(webParams({ scope: 'openid email', prompt: 'none' }), { cookie: browser.cookie }))
    expectErrorRedirect(res, WEB_CB, 'consent_required')
  })

  it("asks the person on a scope-less client's first authorization, and prompt=none then answers consent_required", async () => {
    const bare = { client_id: 'bare', client_secret: 'bare-secret', redirect_uris: ['https://bare.example/cb'], grant_types: ['authorization_code'] }
    const h = setup({ clients: [...testClients, bare] })
    const browser = new Browser()
    // Signed in through another client: the session exists, no consent for `bare` does.
    await authorizeAs(h, browser, webParams({ scope: 'openid' }))
    const params = { ...webParams({ client_id: 'bare', redirect_uri: 'https://bare.example/cb' }) }
    delete (params as Record<string, string>).scope
    expectErrorRedirect(await h.server.authorize(authorizeRequest({ ...params, prompt: 'none' }, { cookie: browser.cookie })), 'https://bare.example/cb', 'consent_required')
    const uid = await start(h, browser, params)
    expect(await h.server.interactions.details(browser.request(), uid)).toMatchObject({ prompt: 'consent', scopes: [] })
    // Once consented, the next one goes through without asking.
    browser.absorb(await h.server.interactions.finish(browser.request(), uid, { consent: {} }))
    const again = redirect(await h.server.authorize(authorizeRequest({ ...params, prompt: 'none' }, { cookie: browser.cookie })))
    expect(again.query.get('code')).toBeTruthy()
  })

  it('prompt=none with a session and consent answers with a code', async () => {
    const h = setup()
    const browser = new Browser()
    await authorizeAs(h, browser, webParams({ scope: 'openid' }))
    const r = redirect(await h.server.authorize(authorizeRequest(webParams({ scope: 'openid', prompt: 'none' }), { cookie: browser.cookie })))
    expect(r.query.get('code')).toBeTruthy()
  })

  it('prompt=login forces the login step even with a session', async () => {
    const h = setup()
    const browser = new Browser()
    await authorizeAs(h, browser, webParams({ scope: 'openid' }))
    const uid = await start(h, browser, webParams({ scope: 'openid', prompt: 'login' }))
    expect(await h.server.interactions.details(browser.request(), uid)).toMatchObject({ prompt: 'login' })
    // Signing in again is enough: consent was remembered.
    const done = await h.server.interactions.finish(browser.request(), uid, { login: { sub: 'sub-alice' } })
    expect(redirect(done).query.get('code')).toBeTruthy()
  })

  it('prompt=consent asks for consent even when it was remembered', async () => {
    const h = setup()
    const browser = new Browser()
    await authorizeAs(h, browser, webParams({ scope: 'openid' }))
    const uid = await start(h, browser, webParams({ scope: 'openid', prompt: 'consent' }))
    expect(await h.server.interactions.details(browser.request(), uid)).toMatchObject({ prompt: 'consent' })
  })

  it('max_age exceeded forces the login step; within max_age the session is enough', async () => {
    const h = setup()
    const browser = new Browser()
    await authorizeAs(h, browser, webParams({ scope: 'openid' }))
    h.clock.advance(120)
    const within = redirect(await h.server.authorize(authorizeRequest(webParams({ scope: 'openid', max_age: '600' }), { cookie: browser.cookie })))
    expect(within.query.get('code')).toBeTruthy()
    const uid = await start(h, browser, webParams({ scope: 'openid', max_age: '60' }))
    expect(await h.server.interactions.details(browser.request(), uid)).toMatchObject({ prompt: 'login' })
  })

  it('max_age exceeded with prompt=none answers login_required', async () => {
    const h = setup()
    const browser = new Browser()
    await authorizeAs(h, browser, webParams({ scope: 'openid' }))
    h.clock.advance(120)
    expectErrorRedirect(await h.server.authorize(authorizeRequest(webParams({ scope: 'openid', max_age: '60', prompt: 'none' }), { cookie: browser.cookie })), WEB_CB, 'login_required')
  })

  it('ends single sign-on when the session expires', async () => {
    const h = setup({ sessionTtl: 300 })
    const browser = new Browser()
    await authorizeAs(h, browser, webParams())
    h.clock.advance(301)
    expectErrorRedirect(await h.server.authorize(authorizeRequest(webParams({ prompt: 'none' }), { cookie: browser.cookie })), WEB_CB, 'login_required')
  })
})
