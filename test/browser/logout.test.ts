/**
 * RP-initiated logout in a real browser (Debian's Chromium through
 * playwright-core): sign in, then the client sends the person to the
 * end-session endpoint without an id_token_hint, the person confirms with
 * "Sign out", lands back on the client with its state, and the next
 * authorization asks them to sign in again.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ALICE, authorizeUrl, chromiumForFile, launchChromium, redeemCode, startAuthServer, startClientApp, type AuthServer, type ClientApp } from './harness.js'

const chromium = chromiumForFile('test/browser/logout')


let browser: Browser
let closeBrowser: (() => Promise<void>) | undefined
let client: ClientApp | undefined
let server: AuthServer | undefined
let context: BrowserContext | undefined

beforeAll(async () => {
  if (!chromium) return
  const launched = await launchChromium()
  browser = launched.browser
  closeBrowser = launched.close
  client = await startClientApp()
  // The client is registered for post-logout redirection to its callback page.
  server = await startAuthServer(client.redirectUri, { client: { post_logout_redirect_uris: [client.redirectUri] } })
  context = await browser.newContext()
})

afterAll(async () => {
  await context?.close()
  await closeBrowser?.()
  await server?.close()
  await client?.close()
})

const startsWith = (prefix: string) => (url: URL): boolean => url.href.startsWith(prefix)

async function signInAndAllow(page: Page): Promise<void> {
  await page.locator('input[name="username"]').fill(ALICE.username)
  await page.locator('input[name="password"]').fill(ALICE.password)
  await page.locator('form button[type="submit"]').click()
  await page.getByRole('button', { name: 'Allow', exact: true }).click()
}

describe.skipIf(!chromium)('RP-initiated logout with the confirmation page', () => {
  it('signs out after "Sign out", returns to the client with its state, and the next authorization asks to sign in', async () => {
    const page = await context!.newPage()
    const as = server!
    const app = client!

    const first = authorizeUrl(as, app)
    await page.goto(first.url)
    await signInAndAllow(page)
    await page.waitForURL(startsWith(app.redirectUri + '?'))
    const code = new URL(page.url()).searchParams.get('code')
    const tokens = await redeemCode(as, app, code!, first.verifier)
    expect(tokens.status).toBe(200)
    const sid = JSON.parse(Buffer.from(String(tokens.body.id_token).split('.')[1]!, 'base64url').toString()).sid as string
    expect((await as.as.sessions.list('alice')).map((s) => s.id)).toEqual([sid])

    // Without an id_token_hint the server cannot tell the person asked: it asks them.
    const logout = new URL(as.endpoints.endSession)
    logout.search = new URLSearchParams({ client_id: 'spa', post_logout_redirect_uri: app.redirectUri, state: 'bye-1' }).toString()
    await page.goto(logout.toString())
    expect(await page.locator('h1').textContent()).toBe('Sign out?')
    expect(await page.locator('main').textContent()).toContain('Demo SPA')
    await page.getByRole('button', { name: 'Sign out', exact: true }).click()

    await page.waitForURL(startsWith(app.redirectUri + '?'))
    const back = new URL(page.url()).searchParams
    expect(back.get('state')).toBe('bye-1')
    expect(back.get('code')).toBeNull()
    expect(await as.as.sessions.list('alice')).toEqual([])

    // Single sign-on is over: the next authorization shows the login page again.
    await page.goto(authorizeUrl(as, app).url)
    await page.waitForURL(startsWith(as.issuer))
    expect(await page.locator('h1').textContent()).toBe('Sign in')
    await page.close()
  })
})
