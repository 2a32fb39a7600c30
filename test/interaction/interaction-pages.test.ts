import { describe, expect, it } from 'vitest'
import { StaticUserSource, type GrantkitResponse } from '../../src/index.js'
import {
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
  type Harness,
} from '../authorize/fixtures.js'

// scrypt runs here once for the whole file; each test builds its own cheap server around it.
const users = new StaticUserSource([{ username: 'alice', password: 'wonderland', claims: { sub: 'sub-alice', name: 'Alice' } }])

const pageSetup = () => setup({ users })

async function start(h: Harness, browser: Browser, params: Record<string, string> = webParams()): Promise<string> {
  return uidOf(browser.absorb(await h.server.authorize(authorizeRequest(params, { cookie: browser.cookie }))))
}

function getPage(h: Harness, browser: Browser, uid: string): Promise<GrantkitResponse> {
  return h.server.handle({ method: 'GET', url: new URL(`${ISSUER}/interaction/${uid}`), headers: browser.cookie === '' ? {} : { cookie: browser.cookie } })
}

async function post(h: Harness, browser: Browser, uid: string, action: 'login' | 'consent', form: Record<string, string>): Promise<GrantkitResponse> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' }
  if (browser.cookie !== '') headers.cookie = browser.cookie
  return browser.absorb(await h.server.handle({ method: 'POST', url: new URL(`${ISSUER}/interaction/${uid}/${action}`), headers, body: new URLSearchParams(form).toString() }))
}

/** The anti-CSRF value a page printed into its form. */
function csrfOf(res: GrantkitResponse): string {
  const m = /name="csrf" value="([^"]+)"/.exec(res.body ?? '')
  expect(m).not.toBeNull()
  return m![1]!
}

function expectPageHeaders(res: GrantkitResponse): void {
  expect(res.headers['content-type']).toMatch(/^text\/html/)
  const csp = String(res.headers['content-security-policy'])
  expect(csp).toMatch(/frame-ancestors 'none'/)
  expect(csp).not.toMatch(/script-src [^;]*'unsafe-inline'/)
}

/** Signs alice in through the login page; returns the response to the login POST. */
async function signIn(h: Harness, browser: Browser, uid: string, password = 'wonderland'): Promise<GrantkitResponse> {
  const page = await getPage(h, browser, uid)
  return post(h, browser, uid, 'login', { csrf: csrfOf(page), username: 'alice', password })
}

describe('built-in login page', () => {
  it('has inputs named username and password and a CSRF value, posting to its own URL', async () => {
    const h = pageSetup()
    const browser = new Browser()
    const uid = await start(h, browser)
    const res = await getPage(h, browser, uid)
    expect(res.status).toBe(200)
    expect(res.body).toMatch(/<input[^>]+name="username"/)
    expect(res.body).toMatch(/<input[^>]+type="password"[^>]+name="password"/)
    expect(res.body).toContain(`action="${ISSUER}/interaction/${uid}/login"`)
    expect(res.body).toContain('Web App')
    expect(csrfOf(res)).toBeTruthy()
  })

  it('prefills the username with login_hint', async () => {
    const h = pageSetup()
    const browser = new Browser()
    const uid = await start(h, browser, webParams({ login_hint: 'alice@example.com' }))
    expect((await getPage(h, browser, uid)).body).toMatch(/name="username" value="alice@example.com"/)
  })

  it('signs in with the right password and goes on to consent, starting a session', async () => {
    const h = pageSetup()
    const browser = new Browser()
    const uid = await start(h, browser)
    const res = await signIn(h, browser, uid)
    expect(res.status).toBe(303)
    expect(res.headers.location).toBe(`${ISSUER}/interaction/${uid}`)
    expect(setCookies(res).some((c) => c.startsWith('__Host-grantkit_session='))).toBe(true)
  })

  it('re-renders with an error for a wrong password and does not finish', async () => {
    const h = pageSetup()
    const browser = new Browser()
    const uid = await start(h, browser)
    const res = await signIn(h, browser, uid, 'not-the-password')
    expect(res.headers.location).toBeUndefined()
    expect(res.status).toBe(401)
    expectPageHeaders(res)
    expect(res.body).toContain('role="alert"')
    expect(res.body).toMatch(/name="password"/)
    expect(res.body).toMatch(/name="username" value="alice"/)
    expect(setCookies(res).some((c) => c.startsWith('__Host-grantkit_session='))).toBe(false)
    expect(await h.server.interactions.details(browser.request(), uid)).toMatchObject({ prompt: 'login' })
  })

  it('re-renders for an unknown username the same way as for a wrong password', async () => {
    const h = pageSetup()
    const browser = new Browser()
    const uid = await start(h, browser)
    const wrong = await signIn(h, browser, uid, 'nope')
    const page = await getPage(h, browser, uid)
    const unknown = await post(h, browser, uid, 'login', { csrf: csrfOf(page), username: 'mallory', password: 'nope' })
    expect(unknown.status).toBe(wrong.status)
    expect(/role="alert">([^<]*)</.exec(unknown.body!)![1]).toBe(/role="alert">([^<]*)</.exec(wrong.body!)![1])
  })

  it('works with the users option given as a static list', async () => {
    const h = setup({ users: [{ username: 'carol', password: 'secret-1', claims: { name: 'Carol' } }] })
    const browser = new Browser()
    const uid = await start(h, browser)
    const page = await getPage(h, browser, uid)
    const res = await post(h, browser, uid, 'login', { csrf: csrfOf(page), username: 'carol', password: 'secret-1' })
    expect(res.status).toBe(303)
    expect(await h.server.interactions.details(browser.request(), uid)).toMatchObject({ prompt: 'consent', sub: 'carol' })
  })
})

describe('built-in consent page', () => {
  it('names the client and lists the scopes, with Allow and Deny buttons', async () => {
    const h = pageSetup()
    const browser = new Browser()
    const uid = await start(h, browser, webParams({ scope: 'openid email api:write' }))
    await signIn(h, browser, uid)
    const res = await getPage(h, browser, uid)
    expect(res.status).toBe(200)
    expect(res.body).toContain('Web App')
    for (const s of ['openid', 'email', 'api:write']) expect(res.body).toContain(`<code>${s}</code>`)
    expect(res.body).toMatch(/<button[^>]*name="decision" value="allow"[^>]*>Allow<\/button>/)
    expect(res.body).toMatch(/<button[^>]*name="decision" value="deny"[^>]*>Deny<\/button>/)
    expect(res.body).toContain(`action="${ISSUER}/interaction/${uid}/consent"`)
  })

  it('Allow sends the code to the redirect_uri', async () => {
    const h = pageSetup()
    const browser = new Browser()
    const uid = await start(h, browser, webParams({ state: 'st-p' }))
    await signIn(h, browser, uid)
    const res = await post(h, browser, uid, 'consent', { csrf: csrfOf(await getPage(h, browser, uid)), decision: 'allow' })
    const r = redirect(res)
    expect(base(r.url)).toBe(WEB_CB)
    expect(r.query.get('code')).toBeTruthy()
    expect(r.query.get('state')).toBe('st-p')
    expect(r.query.get('iss')).toBe(ISSUER)
  })

  it('Deny sends access_denied to the redirect_uri', async () => {
    const h = pageSetup()
    const browser = new Browser()
    const uid = await start(h, browser, webParams({ state: 'st-d' }))
    await signIn(h, browser, uid)
    const res = await post(h, browser, uid, 'consent', { csrf: csrfOf(await getPage(h, browser, uid)), decision: 'deny' })
    const p = expectErrorRedirect(res, WEB_CB, 'access_denied')
    expect(p.get('state')).toBe('st-d')
    expect(p.has('code')).toBe(false)
  })

  it('shows an error page after the interaction is done, and gives no second code', async () => {
    const h = pageSetup()
    const browser = new Browser()
    const uid = await start(h, browser)
    await signIn(h, browser, uid)
    const csrf = csrfOf(await getPage(h, browser, uid))
    const cookie = browser.cookie
    const first = await post(h, browser, uid, 'consent', { csrf, decision: 'allow' })
    expect(redirect(first).query.get('code')).toBeTruthy()
    const replay = await h.server.handle({
      method: 'POST',
      url: new URL(`${ISSUER}/interaction/${uid}/consent`),
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
      body: new URLSearchParams({ csrf, decision: 'allow' }).toString(),
    })
    expectErrorPage(replay)
  })
})

describe('built-in pages: CSRF', () => {
  it.each([
    ['a missing csrf', {}],
    ['a wrong csrf', { csrf: 'x'.repeat(43) }],
  ])('answers a login POST with %s with a 403 page and does not sign in', async (_, extra) => {
    const h = pageSetup()
    const browser = new Browser()
    const uid = await start(h, browser)
    const res = await post(h, browser, uid, 'login', { username: 'alice', password: 'wonderland', ...extra })
    expectErrorPage(res, 403)
    expectPageHeaders(res)
    expect(setCookies(res)).toEqual([])
    expect(await h.server.interactions.details(browser.request(), uid)).toMatchObject({ prompt: 'login' })
  })

  it.each([
    ['a missing csrf', {}],
    ['a wrong csrf', { csrf: 'x'.repeat(43) }],
  ])('answers a consent POST with %s with a 403 page and does not finish', async (_, extra) => {
    const h = pageSetup()
    const browser = new Browser()
    const uid = await start(h, browser)
    await signIn(h, browser, uid)
    const res = await post(h, browser, uid, 'consent', { decision: 'allow', ...extra })
    expectErrorPage(res, 403)
    expect(await h.server.interactions.details(browser.request(), uid)).toMatchObject({ prompt: 'consent' })
  })

  it("refuses another interaction's csrf value", async () => {
    const h = pageSetup()
    const browser = new Browser()
    const uidA = await start(h, browser)
    const csrfA = csrfOf(await getPage(h, browser, uidA))
    const uidB = await start(h, browser)
    const res = await post(h, browser, uidB, 'login', { csrf: csrfA, username: 'alice', password: 'wonderland' })
    expectErrorPage(res, 403)
  })

  it('shows an error page to a browser without the interaction cookie', async () => {
    const h = pageSetup()
    const browser = new Browser()
    const uid = await start(h, browser)
    expectErrorPage(await getPage(h, new Browser(), uid))
  })
})

describe('built-in pages: headers and escaping', () => {
  it("sends Content-Security-Policy with frame-ancestors 'none' on every page", async () => {
    const h = pageSetup()
    const browser = new Browser()
    const uid = await start(h, browser)
    const pages: GrantkitResponse[] = []
    pages.push(await getPage(h, browser, uid))
    pages.push(await signIn(h, browser, uid, 'wrong'))
    pages.push(await post(h, browser, uid, 'login', { username: 'alice', password: 'x' }))
    await signIn(h, browser, uid)
    pages.push(await getPage(h, browser, uid))
    pages.push(await getPage(h, new Browser(), uid))
    pages.push(await h.server.handle({ method: 'GET', url: new URL(`${ISSUER}/interaction/not-a-uid`), headers: {} }))
    pages.push(await h.server.handle(authorizeRequest(webParams({ redirect_uri: 'https://attacker.example/' }))))
    pages.push(await h.server.handle(authorizeRequest(webParams({ client_id: 'nobody' }))))
    for (const res of pages) {
      expectPageHeaders(res)
      expect(res.headers['x-frame-options']).toBe('DENY')
      expect(res.headers['cache-control']).toBe('no-store')
    }
  })

  it('escapes a client_name with <script> on the login and consent pages', async () => {
    const h = pageSetup()
    const browser = new Browser()
    const uid = await start(h, browser, { response_type: 'code', client_id: 'xss', redirect_uri: 'https://xss.example/cb', scope: 'api:read' })
    const login = await getPage(h, browser, uid)
    expect(login.body).not.toContain('<script>')
    expect(login.body).toContain('&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;')
    await signIn(h, browser, uid)
    const consent = await getPage(h, browser, uid)
    expect(consent.body).not.toContain('<script>')
    expect(consent.body).toContain('&lt;script&gt;')
  })

  it('escapes a login_hint with quotes in the username value', async () => {
    const h = pageSetup()
    const browser = new Browser()
    const hint = `"><script>alert(1)</script><input value="' onfocus='alert(2)`
    const uid = await start(h, browser, webParams({ login_hint: hint }))
    const res = await getPage(h, browser, uid)
    expect(res.body).not.toContain('<script>alert(1)')
    expect(res.body).not.toContain(`' onfocus='`)
    expect(res.body).toContain('value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;input value=&quot;&#39; onfocus=&#39;alert(2)"')
  })

  it('escapes the username echoed back after a failed login', async () => {
    const h = pageSetup()
    const browser = new Browser()
    const uid = await start(h, browser)
    const res = await post(h, browser, uid, 'login', { csrf: csrfOf(await getPage(h, browser, uid)), username: '"><img src=x onerror=alert(1)>', password: 'x' })
    expect(res.body).not.toContain('<img src=x')
    expect(res.body).toContain('value="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"')
  })
})
