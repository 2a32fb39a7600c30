/**
 * The built-in pages through the server: the language each page is shown in
 * (ui_locales carried by the interaction, then Accept-Language, then the
 * default), the headers that go with it, the theme in the page and its CSP,
 * and discovery's ui_locales_supported.
 */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { GrantkitResponse } from '../../src/index.js'
import { authorizeRequest, Browser, ISSUER, setup, uidOf, webParams, type Harness } from '../authorize/fixtures.js'
import { Browser as DeviceBrowser, authorizeDevice, deviceServer } from '../device/flow.js'
import { parseConfig, createServer } from '../../src/cli/config.js'

async function start(h: Harness, browser: Browser, params: Record<string, string> = webParams(), acceptLanguage?: string): Promise<string> {
  const req = authorizeRequest(params, { cookie: browser.cookie })
  if (acceptLanguage !== undefined) req.headers['accept-language'] = acceptLanguage
  return uidOf(browser.absorb(await h.server.authorize(req)))
}

function send(h: Harness, browser: Browser, method: 'GET' | 'POST', path: string, acceptLanguage?: string, form?: Record<string, string>): Promise<GrantkitResponse> {
  const headers: Record<string, string> = {}
  if (browser.cookie !== '') headers.cookie = browser.cookie
  if (acceptLanguage !== undefined) headers['accept-language'] = acceptLanguage
  if (form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded'
  const req = { method, url: new URL(`${ISSUER}${path}`), headers, ...(form !== undefined && { body: new URLSearchParams(form).toString() }) }
  return h.server.handle(req).then((res) => browser.absorb(res))
}

const csrfOf = (res: GrantkitResponse): string => /name="csrf" value="([^"]+)"/.exec(res.body ?? '')![1]!
const langOf = (res: GrantkitResponse): string | undefined => /<html lang="([^"]+)">/.exec(res.body ?? '')?.[1]
const buttons = (res: GrantkitResponse): string[] => [...(res.body ?? '').matchAll(/<button[^>]*>([^<]*)<\/button>/g)].map((m) => m[1]!)

async function consentPageFor(h: Harness, params: Record<string, string>, acceptLanguage?: string): Promise<GrantkitResponse> {
  const browser = new Browser()
  const uid = await start(h, browser, params, acceptLanguage)
  const login = await send(h, browser, 'GET', `/interaction/${uid}`, acceptLanguage)
  const after = await send(h, browser, 'POST', `/interaction/${uid}/login`, acceptLanguage, { csrf: csrfOf(login), username: 'alice', password: 'wonderland' })
  expect(after.status).toBe(303)
  return send(h, browser, 'GET', `/interaction/${uid}`, acceptLanguage)
}

describe('language of the built-in pages', () => {
  it('is English without Accept-Language, with the contract texts exactly', async () => {
    const h = setup()
    const browser = new Browser()
    const uid = await start(h, browser)
    const login = await send(h, browser, 'GET', `/interaction/${uid}`)
    expect(langOf(login)).toBe('en')
    expect(buttons(login)).toEqual(['Sign in'])
    expect(login.headers.vary).toBe('Accept-Language')
    const consent = await consentPageFor(h, webParams())
    expect(buttons(consent)).toEqual(['Allow', 'Deny'])
  })

  it('follows Accept-Language, with the same field names and decision values', async () => {
    const h = setup()
    const browser = new Browser()
    const uid = await start(h, browser, webParams(), 'de-CH, de;q=0.9, en;q=0.5')
    const login = await send(h, browser, 'GET', `/interaction/${uid}`, 'de-CH, de;q=0.9, en;q=0.5')
    expect(langOf(login)).toBe('de')
    expect(login.body).toContain('<title>Anmelden</title>')
    expect(login.body).toContain('<label for="username">Benutzername</label>')
    expect(login.body).toMatch(/<input[^>]+name="username"/)
    expect(login.body).toMatch(/<input[^>]+type="password"[^>]+name="password"/)
    expect(buttons(login)).toEqual(['Anmelden'])

    const consent = await consentPageFor(h, webParams({ scope: 'openid api:read', nonce: 'n' }), 'de')
    expect(consent.body).toContain('<h1>Zugriff erlauben?</h1>')
    expect(consent.body).toContain('Wissen, wer Sie sind')
    expect(buttons(consent)).toEqual(['Erlauben', 'Ablehnen'])
    expect(consent.body).toContain('name="decision" value="allow"')
    expect(consent.body).toContain('name="decision" value="deny"')
  })

  it('shows a failed sign-in in the page language', async () => {
    const h = setup()
    const browser = new Browser()
    const uid = await start(h, browser)
    const login = await send(h, browser, 'GET', `/interaction/${uid}`, 'de')
    const wrong = await send(h, browser, 'POST', `/interaction/${uid}/login`, 'de', { csrf: csrfOf(login), username: 'alice', password: 'nope' })
    expect(wrong.status).toBe(401)
    expect(wrong.body).toContain('Benutzername oder Passwort ist falsch.')
  })

  it('prefers ui_locales of the authorization request, carried through the interaction to every page', async () => {
    const h = setup()
    const browser = new Browser()
    const uid = await start(h, browser, webParams({ ui_locales: 'fr de' }), 'en')
    const login = await send(h, browser, 'GET', `/interaction/${uid}`, 'en')
    expect(langOf(login)).toBe('de')
    const expired = await send(h, browser, 'POST', `/interaction/${uid}/login`, 'en', { csrf: 'wrong', username: 'alice', password: 'wonderland' })
    expect(expired.status).toBe(403)
    expect(langOf(expired)).toBe('de')
    expect(expired.body).toContain('Das Formular ist abgelaufen.')
    const details = await h.server.interactions.details({ method: 'GET', url: new URL(`${ISSUER}/interaction/${uid}`), headers: { cookie: browser.cookie } }, uid)
    expect(details?.uiLocales).toEqual(['fr', 'de'])
  })

  it('treats ui_locales as a hint: unsupported or malformed values neither fail nor outrank Accept-Language', async () => {
    const h = setup()
    const browser = new Browser()
    const uid = await start(h, browser, webParams({ ui_locales: 'xx <b>' }), 'de')
    expect(langOf(await send(h, browser, 'GET', `/interaction/${uid}`, 'de'))).toBe('de')
  })

  it('falls back to defaultLocale, and sends no Vary when there is only one language', async () => {
    const h = setup({ pages: { locales: ['en', 'de'], defaultLocale: 'de' } })
    const browser = new Browser()
    const uid = await start(h, browser)
    expect(langOf(await send(h, browser, 'GET', `/interaction/${uid}`, 'fr'))).toBe('de')
    const single = setup({ pages: { locales: ['en'] } })
    const b2 = new Browser()
    const uid2 = await start(single, b2)
    const page = await send(single, b2, 'GET', `/interaction/${uid2}`, 'de')
    expect(langOf(page)).toBe('en')
    expect(page.headers.vary).toBeUndefined()
  })

  it("uses an embedder's texts and languages", async () => {
    const h = setup({ pages: { messages: { en: { 'login.title': 'Welcome back' }, de: { 'consent.allow': 'Zulassen' } } } })
    const browser = new Browser()
    const uid = await start(h, browser)
    expect((await send(h, browser, 'GET', `/interaction/${uid}`)).body).toContain('<h1>Welcome back</h1>')
    expect(buttons(await consentPageFor(h, webParams(), 'de'))).toEqual(['Zulassen', 'Ablehnen'])
  })

  it('escapes embedder texts: they are text, not HTML', async () => {
    const h = setup({ pages: { messages: { en: { 'login.title': '<img src=x onerror=alert(1)>' } } } })
    const browser = new Browser()
    const uid = await start(h, browser)
    const body = (await send(h, browser, 'GET', `/interaction/${uid}`)).body!
    expect(body).toContain('&lt;img src=x onerror=alert(1)&gt;')
    expect(body).not.toContain('<img src=x')
  })
})

describe('error pages', () => {
  it("speak the person's language and keep an English description marked as English", async () => {
    const h = setup()
    const req = authorizeRequest({ ...webParams(), client_id: 'nobody' })
    req.headers['accept-language'] = 'de'
    const res = await h.server.authorize(req)
    expect(res.status).toBe(400)
    expect(langOf(res)).toBe('de')
    expect(res.body).toContain('<h1>Etwas ist schiefgelaufen</h1>')
    expect(res.body).toContain('<span lang="en">The client is not registered with this server.</span>')
    expect(res.body).toContain('Fehlercode: <code>invalid_request</code>')
    expect(res.headers.vary).toBe('Accept-Language')
  })

  it('read ui_locales of the authorization request query', async () => {
    const h = setup()
    const res = await h.server.authorize(authorizeRequest({ ...webParams(), client_id: 'nobody', ui_locales: 'de' }))
    expect(langOf(res)).toBe('de')
  })

  it('show texts of the catalogue translated', async () => {
    const h = setup()
    const res = await h.server.handle({ method: 'GET', url: new URL(`${ISSUER}/interaction/not-a-uid`), headers: { 'accept-language': 'de' } })
    expect(res.status).toBe(404)
    expect(res.body).toContain('<p class="error" role="alert">Diese Seite gibt es nicht.</p>')
    const en = await h.server.handle({ method: 'GET', url: new URL(`${ISSUER}/interaction/not-a-uid`), headers: {} })
    expect(en.body).toContain('<p class="error" role="alert">There is no such page.</p>')
  })
})

describe('device verification page', () => {
  it('follows Accept-Language, keeping the input named user_code', async () => {
    const { server } = deviceServer()
    const browser = new DeviceBrowser(server)
    const req = browser.request('GET', '/device')
    req.headers['accept-language'] = 'de'
    const res = await server.handle(req)
    expect(langOf(res)).toBe('de')
    expect(res.body).toContain('<h1>Gerät verbinden</h1>')
    expect(res.body).toMatch(/<input[^>]*name="user_code"/)
    expect(buttons(res)).toEqual(['Weiter'])
  })

  it('tells about a wrong code in the page language', async () => {
    const { server } = deviceServer()
    await authorizeDevice(server)
    const browser = new DeviceBrowser(server)
    await browser.openDevicePage()
    const req = browser.request('POST', '/device', { csrf: browser.cookies.get('__Host-grantkit_device')!, user_code: 'BCDF-GHJK' })
    req.headers['accept-language'] = 'de'
    const res = await server.handle(req)
    expect(res.status).toBe(400)
    expect(res.body).toContain('Dieser Code ist ungültig oder abgelaufen.')
  })
})

describe('theme in the page', () => {
  it('shows the name and logo and admits the style element by its hash', async () => {
    const h = setup({ pages: { theme: { name: 'Acme <ID>', logoUrl: 'https://cdn.example/logo.svg', colors: { primary: '#0a7f5a' }, css: 'h1{letter-spacing:.02em}' } } })
    const browser = new Browser()
    const uid = await start(h, browser)
    const res = await send(h, browser, 'GET', `/interaction/${uid}`)
    const body = res.body!
    expect(body).toContain('<header class="brand"><img src="https://cdn.example/logo.svg" alt=""><span>Acme &lt;ID&gt;</span></header>')
    expect(body).toContain('<title>Sign in · Acme &lt;ID&gt;</title>')
    const style = /<style>([\s\S]*?)<\/style>/.exec(body)![1]!
    expect(style).toContain('--gk-primary:#0a7f5a')
    expect(style).toContain('h1{letter-spacing:.02em}')
    const csp = String(res.headers['content-security-policy'])
    expect(csp).toContain(`style-src 'sha256-${createHash('sha256').update(style).digest('base64')}'`)
    expect(csp).toContain('img-src \'self\' data: https://cdn.example/logo.svg')
    expect(csp).not.toContain('unsafe-inline')
    expect(body).not.toMatch(/ style="/)
  })

  it('without a theme, still admits the built-in style by hash, not unsafe-inline', async () => {
    const h = setup()
    const res = await h.server.authorize(authorizeRequest({ ...webParams(), client_id: 'nobody' }))
    const style = /<style>([\s\S]*?)<\/style>/.exec(res.body!)![1]!
    expect(res.headers['content-security-policy']).toContain(`style-src 'sha256-${createHash('sha256').update(style).digest('base64')}'`)
    expect(res.headers['content-security-policy']).not.toContain('unsafe-inline')
    expect(res.body).not.toContain('class="brand"')
  })
})

describe('discovery', () => {
  it('advertises ui_locales_supported (OIDC Discovery §3)', async () => {
    const h = setup({ pages: { locales: ['de', 'en'] } })
    const res = await h.server.handle({ method: 'GET', url: new URL(`${ISSUER}/.well-known/openid-configuration`), headers: {} })
    expect(JSON.parse(res.body!).ui_locales_supported).toEqual(['de', 'en'])
  })

  it('does not advertise languages for an embedder\'s own UI', async () => {
    const h = setup({ interaction: { url: (uid) => `https://ui.example/${uid}` } })
    const res = await h.server.handle({ method: 'GET', url: new URL(`${ISSUER}/.well-known/openid-configuration`), headers: {} })
    expect(JSON.parse(res.body!).ui_locales_supported).toBeUndefined()
  })
})

describe('grantkit serve config', () => {
  it('accepts a pages field and hands it to the server', async () => {
    const config = parseConfig(
      { clients: [], pages: { theme: { name: 'Acme', colors: { primary: 'teal' } }, locales: ['de', 'en'], messages: { en: { 'login.title': 'Hello' } } } },
      'grantkit.json',
      '/',
    )
    const server = createServer(config, 'http://127.0.0.1:4000')
    const meta = await server.handle({ method: 'GET', url: new URL('http://127.0.0.1:4000/.well-known/openid-configuration'), headers: {} })
    expect(JSON.parse(meta.body!).ui_locales_supported).toEqual(['de', 'en'])
  })

  it('names the file and the field of a misspelt or bad pages setting', () => {
    expect(() => parseConfig({ clients: [], pages: { theme: { colours: {} } } }, 'grantkit.json', '/')).toThrow(/^grantkit\.json: pages\.theme\.colours: unknown field; did you mean pages\.theme\.colors\?/)
    expect(() => parseConfig({ clients: [], pages: { messages: { en: { 'consent.alow': 'x' } } } }, 'grantkit.json', '/')).toThrow(/^grantkit\.json: pages\.messages\.en\.consent\.alow: unknown message/)
    const bad = parseConfig({ clients: [], pages: { theme: { css: '</style>' } } }, 'grantkit.json', '/')
    expect(() => createServer(bad, 'http://127.0.0.1:4000')).toThrow(/^grantkit\.json: pages\.theme\.css: must not contain "<\/style"/)
  })
})
