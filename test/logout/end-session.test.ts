import { describe, expect, it } from 'vitest'
import { generateSigningKey, hashToken } from '../../src/index.js'
import { signJwt } from '../../src/crypto/jose.js'
import { contextOf } from '../../src/server.js'
import { expectErrorPage, setCookies } from '../authorize/fixtures.js'
import { Browser, claimsOf, confirmRequest, endSessionRequest, ISSUER, needsLogin, OTHER_BYE, redirect, setup, signIn, WEB_BYE } from './fixtures.js'

const metadata = (h: ReturnType<typeof setup>, path = '/.well-known/openid-configuration') =>
  JSON.parse(h.server.metadata({ method: 'GET', url: new URL(ISSUER + path), headers: {} }).body!) as Record<string, unknown>

/** Whether a response clears the session cookie. */
const clearsSession = (res: { headers: Record<string, string | string[]> }) =>
  setCookies(res as never).some((c) => c.startsWith('__Host-grantkit_session=;') && /Max-Age=0/.test(c))

describe('discovery (RP-Initiated Logout §2.1, Back-Channel Logout §2.1)', () => {
  it('advertises the end-session endpoint and back-channel logout with sid, in both documents', () => {
    const h = setup()
    for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
      expect(metadata(h, path)).toMatchObject({
        end_session_endpoint: `${ISSUER}/session/end`,
        backchannel_logout_supported: true,
        backchannel_logout_session_supported: true,
        frontchannel_logout_supported: false,
      })
    }
  })

  it('advertises nothing of logout when the feature is left out', async () => {
    const { defaultFeatures } = await import('../../src/index.js')
    const h = setup({ features: defaultFeatures.filter((f) => f.name !== 'logout') })
    expect(metadata(h).end_session_endpoint).toBeUndefined()
    expect(h.server.routes('/session/end')).toBe(false)
  })
})

describe('sid (Back-Channel Logout §2.1)', () => {
  it('puts the session id in ID tokens: the same for every client of one browser session, another for another browser', async () => {
    const h = setup()
    const browser = new Browser()
    const web = claimsOf(await signIn(h, browser, 'web'))
    const other = claimsOf(await signIn(h, browser, 'other'))
    expect(web.sid).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(other.sid).toBe(web.sid)
    const elsewhere = claimsOf(await signIn(h, new Browser(), 'web'))
    expect(elsewhere.sid).not.toBe(web.sid)
    // The sid is the session's public id: server.sessions shows it with the clients signed in through it.
    const sessions = await h.server.sessions.list('sub-alice')
    expect(sessions.map((s) => s.id).sort()).toEqual([web.sid, elsewhere.sid].sort())
    expect(sessions.find((s) => s.id === web.sid)!.clients.sort()).toEqual(['other', 'web'])
  })

  it('keeps the sid in ID tokens refreshed later (OIDC Core §12.2)', async () => {
    const h = setup()
    const browser = new Browser()
    const { authorizeAs, redeem, json } = await import('../authorize/fixtures.js')
    const res = await authorizeAs(h, browser, { response_type: 'code', client_id: 'web', redirect_uri: 'https://client.example/cb', scope: 'openid offline_access', state: 's' })
    const tokens = json(await redeem(h, { code: redirect(res).query.get('code')!, redirect_uri: 'https://client.example/cb' }))
    const { basic, tokenRequest } = await import('../helpers.js')
    const refreshed = json(await h.server.token(tokenRequest({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string }, { authorization: basic('web', 'web-secret') })))
    expect(claimsOf(refreshed.id_token as string).sid).toBe(claimsOf(tokens.id_token as string).sid)
  })

  it('gives a session stored before sids existed (0.1) a sid when it is next used, and loads it unchanged otherwise', async () => {
    const h = setup()
    const storage = contextOf(h.server).storage
    const now = Math.floor(h.clock.now())
    await storage.sessions.save({ idHash: hashToken('old-secret'), sub: 'sub-alice', authTime: now - 100, expiresAt: now + 1000 })
    await storage.consents.save('sub-alice', 'web', 'openid', now + 1000)
    const browser = new Browser()
    browser.jar.set('__Host-grantkit_session', 'old-secret')
    const idToken = await signIn(h, browser, 'web')
    const sid = claimsOf(idToken).sid
    expect(sid).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(claimsOf(idToken).auth_time).toBe(now - 100)
    expect(await storage.sessions.find(hashToken('old-secret'))).toMatchObject({ sid, clients: ['web'] })
  })
})

describe('end-session endpoint: a trusted request (RP-Initiated Logout §2, §3)', () => {
  for (const method of ['GET', 'POST'] as const) {
    it(`ends the session at once for a valid id_token_hint of this session (${method}), and returns to the registered URI with state`, async () => {
      const h = setup()
      const browser = new Browser()
      const idToken = await signIn(h, browser)
      const ended: unknown[] = []
      h.server.on('session.ended', (e) => ended.push(e))
      const res = browser.absorb(await h.server.handle(endSessionRequest(browser, { id_token_hint: idToken, post_logout_redirect_uri: WEB_BYE, state: 'xyz' }, method)))
      const r = redirect(res)
      expect(r.url.origin + r.url.pathname).toBe(WEB_BYE)
      expect(r.query.get('state')).toBe('xyz')
      expect(clearsSession(res)).toBe(true)
      expect(ended).toMatchObject([{ type: 'session.ended', sid: claimsOf(idToken).sid, sub: 'sub-alice', reason: 'logout', clients: ['web'] }])
      expect(await h.server.sessions.list('sub-alice')).toEqual([])
      expect(await needsLogin(h, browser)).toBe(true)
    })
  }

  it('never ends a session on HEAD', async () => {
    const h = setup()
    const browser = new Browser()
    const idToken = await signIn(h, browser)
    const res = await h.server.handle({ ...endSessionRequest(browser, { id_token_hint: idToken }), method: 'HEAD' })
    expect(res.headers.location).toBeUndefined()
    expect(await h.server.sessions.list('sub-alice')).toHaveLength(1)
  })

  it('keeps the registered URI\'s own query and adds state to it', async () => {
    const h = setup()
    const browser = new Browser()
    const idToken = await signIn(h, browser)
    const res = await h.server.handle(endSessionRequest(browser, { id_token_hint: idToken, post_logout_redirect_uri: 'https://client.example/other-bye?keep=1', state: 'a b' }))
    expect(res.headers.location).toBe('https://client.example/other-bye?keep=1&state=a+b')
  })

  it('accepts an expired id_token_hint (§4): the RP logs out long after the token was issued', async () => {
    const h = setup()
    const browser = new Browser()
    const idToken = await signIn(h, browser)
    h.clock.advance(2 * 3600)
    const res = await h.server.handle(endSessionRequest(browser, { id_token_hint: idToken, client_id: 'web', post_logout_redirect_uri: WEB_BYE }))
    expect(redirect(res).url.href).toBe(WEB_BYE)
    expect(await h.server.sessions.list('sub-alice')).toEqual([])
  })

  it('finds the client from the hint\'s audience when client_id is absent', async () => {
    const h = setup()
    const browser = new Browser()
    const idToken = await signIn(h, browser, 'other')
    const res = await h.server.handle(endSessionRequest(browser, { id_token_hint: idToken, post_logout_redirect_uri: OTHER_BYE }))
    expect(redirect(res).url.href).toBe(OTHER_BYE)
  })

  it('shows a signed-out page when no post_logout_redirect_uri is given, and never echoes state anywhere', async () => {
    const h = setup()
    const browser = new Browser()
    const idToken = await signIn(h, browser)
    const res = await h.server.handle(endSessionRequest(browser, { id_token_hint: idToken, state: 'st' }))
    expect(res.status).toBe(200)
    expect(res.headers.location).toBeUndefined()
    expect(res.body).toContain('You are signed out')
    expect(clearsSession(res)).toBe(true)
  })
})

describe('end-session endpoint: requests that are refused with a page, never redirected (§3)', () => {
  it('refuses a post_logout_redirect_uri not registered for the client, and keeps the session', async () => {
    const h = setup()
    const browser = new Browser()
    const idToken = await signIn(h, browser)
    for (const uri of ['https://evil.example/', `${WEB_BYE}/`, `${WEB_BYE}?x=1`, OTHER_BYE, 'https://client.example/other-bye']) {
      const res = await h.server.handle(endSessionRequest(browser, { id_token_hint: idToken, post_logout_redirect_uri: uri, state: 's' }))
      expectErrorPage(res)
      expect(res.body).toContain('not registered')
    }
    expect(await h.server.sessions.list('sub-alice')).toHaveLength(1)
  })

  it('refuses a post_logout_redirect_uri when neither client_id nor a valid id_token_hint says whose it is', async () => {
    const h = setup()
    const browser = new Browser()
    await signIn(h, browser)
    expectErrorPage(await h.server.handle(endSessionRequest(browser, { post_logout_redirect_uri: WEB_BYE })))
    expectErrorPage(await h.server.handle(endSessionRequest(browser, { id_token_hint: 'not.a.jwt', post_logout_redirect_uri: WEB_BYE })))
  })

  it('refuses a client_id that is not the audience of the id_token_hint', async () => {
    const h = setup()
    const browser = new Browser()
    const idToken = await signIn(h, browser, 'web')
    const res = await h.server.handle(endSessionRequest(browser, { id_token_hint: idToken, client_id: 'other', post_logout_redirect_uri: OTHER_BYE }))
    expectErrorPage(res)
    expect(await h.server.sessions.list('sub-alice')).toHaveLength(1)
  })

  it('refuses an unknown client_id and a repeated parameter', async () => {
    const h = setup()
    const browser = new Browser()
    await signIn(h, browser)
    expectErrorPage(await h.server.handle(endSessionRequest(browser, { client_id: 'nobody' })))
    expectErrorPage(await h.server.handle(endSessionRequest(browser, [['client_id', 'web'], ['client_id', 'web']])))
    expect(await h.server.sessions.list('sub-alice')).toHaveLength(1)
  })
})

describe('end-session endpoint: untrusted requests ask the person (§2)', () => {
  /** An ID token for the same person and client, but signed by a key that is not the server's. */
  function forgedHint(idToken: string, iss = ISSUER): string {
    const claims = { ...claimsOf(idToken), iss }
    const header = JSON.parse(Buffer.from(idToken.split('.')[0]!, 'base64url').toString()) as { kid: string }
    return signJwt({ ...generateSigningKey('ES256'), kid: header.kid }, 'JWT', claims)
  }

  async function expectConfirmation(h: ReturnType<typeof setup>, browser: Browser, params: Record<string, string>) {
    const page = await h.server.handle(endSessionRequest(browser, params))
    expect(page.status).toBe(200)
    expect(page.headers['content-type']).toMatch(/^text\/html/)
    expect(page.body).toMatch(/<button type="submit">Sign out<\/button>/)
    expect(page.headers['x-frame-options']).toBe('DENY')
    // Nothing has ended yet.
    expect(await h.server.sessions.list('sub-alice')).toHaveLength(1)
    return page
  }

  it('asks when the hint is forged, then ends the session on "Sign out" and returns with state', async () => {
    const h = setup()
    const browser = new Browser()
    const idToken = await signIn(h, browser)
    const page = await expectConfirmation(h, browser, { id_token_hint: forgedHint(idToken), client_id: 'web', post_logout_redirect_uri: WEB_BYE, state: 'st-9' })
    expect(page.body).toContain('Web App')
    const res = browser.absorb(await h.server.handle(confirmRequest(browser, page)))
    const r = redirect(res)
    expect(r.url.origin + r.url.pathname).toBe(WEB_BYE)
    expect(r.query.get('state')).toBe('st-9')
    expect(clearsSession(res)).toBe(true)
    expect(await h.server.sessions.list('sub-alice')).toEqual([])
    expect(await needsLogin(h, browser)).toBe(true)
  })

  it('asks when the hint comes from another issuer, when there is no hint, and when the hint is for another session', async () => {
    const h = setup()
    const browser = new Browser()
    const idToken = await signIn(h, browser)
    await expectConfirmation(h, browser, { id_token_hint: forgedHint(idToken, 'https://evil.example'), client_id: 'web' })
    await expectConfirmation(h, browser, { client_id: 'web', post_logout_redirect_uri: WEB_BYE })
    await expectConfirmation(h, browser, {})
    // Bob's valid ID token does not sign Alice out; nor does Alice's from another browser session.
    const bobs = await signIn(h, new Browser(), 'web', 'sub-bob')
    await expectConfirmation(h, browser, { id_token_hint: bobs })
    const elsewhere = new Browser()
    const otherSession = await signIn(h, elsewhere, 'web')
    const page = await h.server.handle(endSessionRequest(browser, { id_token_hint: otherSession }))
    expect(page.body).toContain('Sign out')
    expect(await h.server.sessions.list('sub-alice')).toHaveLength(2)
  })

  it('asks in the language of the browser or of ui_locales, with the same form', async () => {
    const h = setup()
    const browser = new Browser()
    await signIn(h, browser)
    const german = endSessionRequest(browser, { client_id: 'web' })
    const page = await h.server.handle({ ...german, headers: { ...german.headers, 'accept-language': 'de-CH, en;q=0.5' } })
    expect(page.body).toContain('<html lang="de"')
    expect(page.body).toMatch(/<button type="submit">Abmelden<\/button>/)
    expect(page.body).toContain('<h1>Abmelden?</h1>')
    expect(page.body).toContain('name="csrf"')
    const byUiLocales = await h.server.handle(endSessionRequest(browser, { client_id: 'web', ui_locales: 'de' }))
    expect(byUiLocales.body).toMatch(/<button type="submit">Abmelden<\/button>/)
    const english = await h.server.handle(endSessionRequest(browser, { client_id: 'web' }))
    expect(english.body).toMatch(/<button type="submit">Sign out<\/button>/)
  })

  it('does not take an access token or a tampered ID token as a hint', async () => {
    const h = setup({ accessTokenFormat: 'jwt' })
    const browser = new Browser()
    const idToken = await signIn(h, browser)
    const [head, , sig] = idToken.split('.')
    const tampered = `${head}.${Buffer.from(JSON.stringify({ ...claimsOf(idToken), sub: 'sub-alice', extra: 1 })).toString('base64url')}.${sig}`
    await expectConfirmation(h, browser, { id_token_hint: tampered })
  })

  it('refuses the confirmation without the CSRF value of this session, and keeps the session', async () => {
    const h = setup()
    const browser = new Browser()
    await signIn(h, browser)
    const page = await expectConfirmation(h, browser, { client_id: 'web' })
    expectErrorPage(await h.server.handle(confirmRequest(browser, page, { csrf: 'forged' })), 403)
    const other = new Browser()
    await signIn(h, other)
    const otherPage = await h.server.handle(endSessionRequest(other, { client_id: 'web' }))
    // Another session's value is no good here.
    const csrf = /name="csrf" value="([^"]+)"/.exec(otherPage.body!)![1]!
    expectErrorPage(await h.server.handle(confirmRequest(browser, page, { csrf })), 403)
    expect(await h.server.sessions.list('sub-alice')).toHaveLength(2)
  })

  it('re-checks the carried post_logout_redirect_uri on confirmation', async () => {
    const h = setup()
    const browser = new Browser()
    await signIn(h, browser)
    const page = await expectConfirmation(h, browser, { client_id: 'web', post_logout_redirect_uri: WEB_BYE })
    expectErrorPage(await h.server.handle(confirmRequest(browser, page, { post_logout_redirect_uri: 'https://evil.example/' })))
    expect(await h.server.sessions.list('sub-alice')).toHaveLength(1)
  })
})

describe('end-session endpoint: without a session', () => {
  it('has nothing to end: returns to the registered URI with state, or shows the signed-out page', async () => {
    const h = setup()
    const browser = new Browser()
    const res = await h.server.handle(endSessionRequest(browser, { client_id: 'web', post_logout_redirect_uri: WEB_BYE, state: 'q' }))
    expect(res.headers.location).toBe(`${WEB_BYE}?state=q`)
    const page = await h.server.handle(endSessionRequest(browser, {}))
    expect(page.status).toBe(200)
    expect(page.body).toContain('You are signed out')
  })

  it('still refuses an unregistered post_logout_redirect_uri', async () => {
    const h = setup()
    expectErrorPage(await h.server.handle(endSessionRequest(new Browser(), { client_id: 'web', post_logout_redirect_uri: 'https://evil.example/' })))
  })

  it('turns a cross-site form POST, which carries no SameSite=Lax cookie, into the same request as a top-level GET', async () => {
    const h = setup()
    const res = await h.server.handle(endSessionRequest(new Browser(), { client_id: 'web', post_logout_redirect_uri: WEB_BYE, state: 'p', ui_locales: 'fr', ignored: 'x' }, 'POST'))
    expect(res.status).toBe(303)
    const url = new URL(res.headers.location as string)
    expect(url.origin + url.pathname).toBe(`${ISSUER}/session/end`)
    expect(Object.fromEntries(url.searchParams)).toEqual({ client_id: 'web', post_logout_redirect_uri: WEB_BYE, state: 'p', ui_locales: 'fr' })
  })

  it('moves with paths.endSession, and discovery follows', async () => {
    const h = setup({ paths: { endSession: '/logout', endSessionConfirm: '/logout/confirm' } })
    expect(metadata(h).end_session_endpoint).toBe(`${ISSUER}/logout`)
    const browser = new Browser()
    await signIn(h, browser)
    const page = await h.server.handle({ method: 'GET', url: new URL(`${ISSUER}/logout?client_id=web`), headers: { cookie: browser.cookie } })
    expect(page.body).toContain(`action="${ISSUER}/logout/confirm"`)
  })

  it('answers other methods with 405', async () => {
    const h = setup()
    const res = await h.server.handle({ method: 'PUT', url: new URL(`${ISSUER}/session/end`), headers: {} })
    expect(res.status).toBe(405)
    const confirm = await h.server.handle({ method: 'GET', url: new URL(`${ISSUER}/session/end/confirm`), headers: {} })
    expect(confirm.status).toBe(405)
  })
})
