/**
 * CORS in a real browser: the public client's own page (its redirect URI's
 * origin) redeems its code with fetch and reads the tokens; a page of an
 * origin nobody registered cannot, and its attempt uses up nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BrowserContext, Page } from 'playwright-core'
import { ALICE, authorizeUrl, chromiumForFile, launchChromium, startAuthServer, startClientApp, type AuthServer, type ClientApp } from './harness.js'

const chromium = chromiumForFile('test/browser/cors')

/** Redeems a code with fetch from the page's own origin; what the page script could see. */
function redeemFromPage(page: Page, token: string, form: Record<string, string>): Promise<{ status?: number; body?: Record<string, unknown>; error?: string }> {
  return page.evaluate(
    async ({ token, form }) => {
      try {
        const res = await fetch(token, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) })
        return { status: res.status, body: (await res.json()) as Record<string, unknown> }
      } catch (e) {
        return { error: String(e) }
      }
    },
    { token, form },
  )
}

describe.skipIf(!chromium)('CORS: a browser client redeems its code from its own origin only', () => {
  let close: () => Promise<void>
  let context: BrowserContext
  let client: ClientApp
  let as: AuthServer

  beforeAll(async () => {
    const launched = await launchChromium()
    close = launched.close
    client = await startClientApp()
    as = await startAuthServer(client.redirectUri)
    context = await launched.browser.newContext()
  })
  afterAll(async () => {
    await context?.close()
    await close?.()
    await as?.close()
    await client?.close()
  })

  it('answers the registered origin and not another one', async () => {
    const page = await context.newPage()
    const pending = authorizeUrl(as, client)
    await page.goto(pending.url)
    await page.locator('input[name="username"]').fill(ALICE.username)
    await page.locator('input[name="password"]').fill(ALICE.password)
    await page.locator('form button[type="submit"]').click()
    await page.getByRole('button', { name: 'Allow', exact: true }).click()
    await page.waitForURL((url) => url.href.startsWith(client.redirectUri + '?'))
    const code = new URL(page.url()).searchParams.get('code')!
    const form = { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, client_id: 'spa', code_verifier: pending.verifier }

    // Same port, other host name: another origin, registered by nobody.
    const stranger = await context.newPage()
    await stranger.goto(client.redirectUri.replace('127.0.0.1', 'localhost'))
    const refused = await redeemFromPage(stranger, as.endpoints.token, form)
    expect(refused.error).toMatch(/TypeError/)

    // The client's own page reads the tokens, and the code was not used up by the stranger.
    const mine = await redeemFromPage(page, as.endpoints.token, form)
    expect(mine.status).toBe(200)
    expect(typeof mine.body?.access_token).toBe('string')

    // Discovery is open to every origin.
    const discovery = await stranger.evaluate(async (url) => (await fetch(url)).status, `${as.issuer}/.well-known/openid-configuration`)
    expect(discovery).toBe(200)
  })
})
