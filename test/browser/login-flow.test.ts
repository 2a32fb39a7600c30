/**
 * The login and consent pages in a real browser (Debian's Chromium through
 * playwright-core): what a person sees and clicks, from the client's redirect to
 * the authorization endpoint until the callback, with the client's side (PKCE,
 * token request, id_token and userinfo) done as a real client would.
 */
import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ALICE,
  PHONE,
  authorizeUrl,
  chromiumForFile,
  launchChromium,
  redeemCode,
  startAuthServer,
  startClientApp,
  type AuthServer,
  type ClientApp,
} from './harness.js'

const SCREENSHOTS = join(dirname(fileURLToPath(import.meta.url)), '__screenshots__')
const chromium = chromiumForFile('test/browser/login-flow')


let browser: Browser
let closeBrowser: (() => Promise<void>) | undefined
let client: ClientApp | undefined

beforeAll(async () => {
  if (!chromium) return
  const launched = await launchChromium()
  browser = launched.browser
  closeBrowser = launched.close
  client = await startClientApp()
})

afterAll(async () => {
  await closeBrowser?.()
  await client?.close()
})

/** Per scenario: its own authorization server (no consent remembered from another) and browser context (no cookies). */
function scenario(options: { phone?: boolean } = {}) {
  const s = {} as { as: AuthServer; client: ClientApp; context: BrowserContext; page: Page }
  beforeAll(async () => {
    s.client = client!
    s.as = await startAuthServer(s.client.redirectUri)
    s.context = await browser.newContext(options.phone === true ? PHONE : {})
    s.page = await s.context.newPage()
  })
  afterAll(async () => {
    await s.context?.close()
    await s.as?.close()
  })
  return s
}

const startsWith = (prefix: string) => (url: URL): boolean => url.href.startsWith(prefix)

async function signIn(page: Page, password = ALICE.password): Promise<void> {
  await page.locator('input[name="username"]').fill(ALICE.username)
  await page.locator('input[name="password"]').fill(password)
  await page.locator('form button[type="submit"]').click()
}

/** The callback's parameters, once the browser has landed on the client's /cb. */
async function callbackParams(page: Page, client: ClientApp): Promise<URLSearchParams> {
  await page.waitForURL(startsWith(client.redirectUri + '?'))
  await page.locator('#query').waitFor()
  const url = new URL(page.url())
  // The client app shows what it received: the page and the address bar agree.
  expect(await page.locator('#query').textContent()).toBe(url.search)
  return url.searchParams
}

async function expectNoHorizontalScroll(page: Page): Promise<void> {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }))
  expect(scrollWidth).toBeLessThanOrEqual(innerWidth)
}

describe.skipIf(!chromium)('code flow with PKCE: login, consent, callback, tokens, userinfo', () => {
  const s = scenario({ phone: true })

  it('signs in, consents, and the client redeems the code for tokens that work', async () => {
    const { page, as, client } = s
    const pending = authorizeUrl(as, client)

    await page.goto(pending.url)
    await page.waitForURL(startsWith(as.issuer))
    expect(await page.locator('h1').textContent()).toBe('Sign in')
    expect(await page.locator('main').textContent()).toContain('Demo SPA')
    await expectNoHorizontalScroll(page)
    mkdirSync(SCREENSHOTS, { recursive: true })
    await page.screenshot({ path: join(SCREENSHOTS, 'login-phone.png'), fullPage: true })

    await signIn(page)
    // After the login POST, the server sends the browser on (303) to the consent step.
    await page.getByRole('button', { name: 'Allow', exact: true }).waitFor()
    expect(page.url().startsWith(as.issuer)).toBe(true)
    expect(await page.locator('h1').textContent()).toBe('Allow access?')
    expect(await page.locator('main').textContent()).toContain('Demo SPA')
    const scopes = (await page.locator('main li').allTextContents()).map((t) => t.split(' ')[0])
    expect(scopes).toEqual(['openid', 'profile', 'email'])
    expect(await page.getByRole('button', { name: 'Deny', exact: true }).count()).toBe(1)
    await expectNoHorizontalScroll(page)
    await page.screenshot({ path: join(SCREENSHOTS, 'consent-phone.png'), fullPage: true })

    await page.getByRole('button', { name: 'Allow', exact: true }).click()
    const params = await callbackParams(page, client)
    expect(params.get('state')).toBe(pending.state)
    // RFC 9207 §2: the response names the issuer.
    expect(params.get('iss')).toBe(as.issuer)
    expect(params.get('error')).toBeNull()
    const code = params.get('code')
    expect(code).toMatch(/^[A-Za-z0-9_-]{16,}$/)

    const tokens = await redeemCode(as, client, code!, pending.verifier)
    expect(tokens.status).toBe(200)
    expect(tokens.body.token_type).toMatch(/^bearer$/i)
    expect(typeof tokens.body.access_token).toBe('string')

    const { payload } = await jwtVerify(String(tokens.body.id_token), createRemoteJWKSet(new URL(as.endpoints.jwks)), {
      issuer: as.issuer,
      audience: 'spa',
    })
    expect(payload.nonce).toBe(pending.nonce)
    expect(payload.sub).toBe('alice')

    const userinfo = await fetch(as.endpoints.userinfo, { headers: { authorization: `Bearer ${String(tokens.body.access_token)}` } })
    expect(userinfo.status).toBe(200)
    const claims = (await userinfo.json()) as Record<string, unknown>
    expect(claims).toMatchObject({ sub: 'alice', name: 'Alice Liddell', email: 'alice@example.com' })
  })
})

describe.skipIf(!chromium)('deny at the consent page', () => {
  const s = scenario()

  it('sends the client access_denied with its state', async () => {
    const { page, as, client } = s
    const pending = authorizeUrl(as, client)
    await page.goto(pending.url)
    await signIn(page)
    await page.getByRole('button', { name: 'Deny', exact: true }).click()
    const params = await callbackParams(page, client)
    expect(params.get('error')).toBe('access_denied')
    expect(params.get('state')).toBe(pending.state)
    expect(params.get('iss')).toBe(as.issuer)
    expect(params.get('code')).toBeNull()
  })
})

describe.skipIf(!chromium)('single sign-on in the same browser', () => {
  const s = scenario()

  it('a second authorization goes straight to the callback with a code, without login or consent pages', async () => {
    const { page, as, client } = s
    const first = authorizeUrl(as, client)
    await page.goto(first.url)
    await signIn(page)
    await page.getByRole('button', { name: 'Allow', exact: true }).click()
    const firstParams = await callbackParams(page, client)
    expect(firstParams.get('code')).not.toBeNull()

    const second = authorizeUrl(as, client)
    expect(second.state).not.toBe(first.state)
    const documents: string[] = []
    page.on('request', (r) => {
      if (r.isNavigationRequest()) documents.push(r.url())
    })
    await page.goto(second.url)
    const params = await callbackParams(page, client)
    expect(params.get('state')).toBe(second.state)
    expect(params.get('iss')).toBe(as.issuer)
    const code = params.get('code')
    expect(code).not.toBeNull()
    expect(code).not.toBe(firstParams.get('code'))
    // Only the authorization endpoint and the callback: no interaction page in between.
    expect(documents.map((u) => u.split('?')[0])).toEqual([as.endpoints.authorization, client.redirectUri])

    const tokens = await redeemCode(as, client, code!, second.verifier)
    expect(tokens.status).toBe(200)
    const { payload } = await jwtVerify(String(tokens.body.id_token), createRemoteJWKSet(new URL(as.endpoints.jwks)), { issuer: as.issuer, audience: 'spa' })
    expect(payload.nonce).toBe(second.nonce)
  })
})

describe.skipIf(!chromium)('error page for a redirect_uri that is not registered', () => {
  const s = scenario({ phone: true })

  it('shows an HTML error page on the authorization server and never goes to that URI', async () => {
    const { page, as, client } = s
    const unregistered = `${client.origin}/evil`
    const before = client.hits.length
    const requested: string[] = []
    page.on('request', (r) => requested.push(r.url()))

    const pending = authorizeUrl(as, client, { redirectUri: unregistered })
    const response = await page.goto(pending.url)
    expect(response?.status()).toBe(400)
    expect(response?.headers()['content-type']).toMatch(/^text\/html/)
    expect(page.url()).toBe(pending.url)
    const text = (await page.locator('main').textContent()) ?? ''
    expect(text).toContain('The redirect_uri is not registered for this client.')
    expect(text).toContain('invalid_request')
    await expectNoHorizontalScroll(page)
    mkdirSync(SCREENSHOTS, { recursive: true })
    await page.screenshot({ path: join(SCREENSHOTS, 'error-phone.png'), fullPage: true })

    expect(requested.filter((u) => u.startsWith(unregistered))).toEqual([])
    expect(client.hits.slice(before)).toEqual([])
  })
})

describe.skipIf(!chromium)('wrong password', () => {
  const s = scenario({ phone: true })

  it('shows an error on the login page, stays there, and the right password then works', async () => {
    const { page, as, client } = s
    const pending = authorizeUrl(as, client)
    await page.goto(pending.url)
    await signIn(page, 'not-the-password')

    const alert = page.getByRole('alert')
    await alert.waitFor()
    expect(await alert.textContent()).toBe('The username or password is wrong.')
    expect(page.url().startsWith(as.issuer)).toBe(true)
    expect(await page.locator('h1').textContent()).toBe('Sign in')
    // The username is kept, the password is not echoed back.
    expect(await page.locator('input[name="username"]').inputValue()).toBe('alice')
    expect(await page.locator('input[name="password"]').inputValue()).toBe('')
    expect(client.hits.some((h) => h.includes(pending.state))).toBe(false)
    await expectNoHorizontalScroll(page)
    mkdirSync(SCREENSHOTS, { recursive: true })
    await page.screenshot({ path: join(SCREENSHOTS, 'login-error-phone.png'), fullPage: true })

    await signIn(page)
    await page.getByRole('button', { name: 'Allow', exact: true }).click()
    const params = await callbackParams(page, client)
    expect(params.get('state')).toBe(pending.state)
    expect(params.get('code')).not.toBeNull()
  })
})
