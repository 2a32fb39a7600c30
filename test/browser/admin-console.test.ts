/**
 * The admin console end to end in Debian's Chromium (playwright-core), at
 * desktop width and at phone width (390x844): an administrator signs in
 * through the real login page, creates a client, edits it (a rule broken,
 * then fixed), rotates its secret, revokes a person's consent and ends their
 * session, and reads the audit log; a non-administrator is refused. Every
 * page is saved as a screenshot in test-artifacts/console/, and at phone
 * width no page scrolls sideways. No page reports a CSP violation.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { ALICE, authorizeUrl, chromiumForFile, launchChromium, PHONE, startAuthServer, startClientApp, type AuthServer, type ClientApp } from './harness.js'

const chromium = chromiumForFile('test/browser/admin-console')
// Each step drives a real browser through several pages.
vi.setConfig({ testTimeout: 60_000 })


/** Where the screenshots land (docs/testing.md), relative to the repository root. */
const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'console')

const BOB = { username: 'bob', password: 'builder', claims: { sub: 'bob', name: 'Bob Builder' } }

let browser: Browser
let closeBrowser: (() => Promise<void>) | undefined
let client: ClientApp | undefined
let as: AuthServer | undefined

beforeAll(async () => {
  if (!chromium) return
  mkdirSync(ARTIFACTS, { recursive: true })
  const launched = await launchChromium()
  browser = launched.browser
  closeBrowser = launched.close
  client = await startClientApp()
  as = await startAuthServer(client.redirectUri, {
    options: {
      users: [{ ...ALICE, admin: true }, BOB],
      admin: { enabled: true, console: { enabled: true } },
    },
  })
}, 60_000)

afterAll(async () => {
  await closeBrowser?.()
  await as?.close()
  await client?.close()
})

const VIEWPORTS = [
  { name: 'desktop', options: { viewport: { width: 1280, height: 900 } } },
  { name: 'phone', options: PHONE },
] as const

describe.skipIf(!chromium).each(VIEWPORTS)('admin console at $name width', ({ name, options }) => {
  let context: BrowserContext
  let page: Page
  const violations: string[] = []

  beforeAll(async () => {
    context = await browser.newContext(options)
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        const w = window as unknown as { __violations?: string[] }
        ;(w.__violations ??= []).push(`${e.violatedDirective} ${e.blockedURI}`)
      })
    })
    page = await context.newPage()
    page.on('console', (m) => {
      if (/Content[ -]Security[ -]Policy/i.test(m.text())) violations.push(m.text())
    })
  })
  afterAll(async () => {
    await context?.close()
  })

  /** Saves the page, checks it has no CSP violation and, at phone width, no sideways scrolling. */
  async function snap(step: string): Promise<void> {
    await page.screenshot({ path: join(ARTIFACTS, `${name}-${step}.png`), fullPage: true })
    const reported = await page.evaluate(() => (window as unknown as { __violations?: string[] }).__violations ?? [])
    expect([...violations, ...reported], step).toEqual([])
    if (name === 'phone') {
      const widths = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }))
      expect(widths.scroll, `${step}: page wider than the phone`).toBeLessThanOrEqual(widths.inner)
    }
  }

  const consoleUrl = (path = '') => `${as!.issuer}/admin${path}`
  /** The text of the first element a locator finds, once it is there. */
  const textOf = async (locator: ReturnType<Page['locator']>): Promise<string> => {
    await locator.first().waitFor()
    return (await locator.first().textContent()) ?? ''
  }

  it('signs an administrator in through the real login page', async () => {
    await page.goto(consoleUrl())
    await page.waitForURL(/\/interaction\//)
    await snap('01-login')
    await page.fill('input[name=username]', 'alice')
    await page.fill('input[name=password]', 'wonderland')
    await page.click('button[type=submit]')
    // The console's first sign-in asks consent like any client's (once per person).
    if (await page.locator('button[value=allow]').count()) {
      await snap('02-consent')
      await page.click('button[value=allow]')
    }
    await page.waitForURL(consoleUrl('/clients'))
    expect(await textOf(page.locator('nav.console'))).toContain('alice')
    await snap('03-clients-empty')
    const cookies = await context.cookies(as!.issuer)
    const session = cookies.find((c) => c.name === 'grantkit_console')
    expect(session?.httpOnly).toBe(true)
    expect(session?.sameSite).toBe('Strict')
  })

  let clientId = ''
  let firstSecret = ''

  it('creates a client and sees its secret once', async () => {
    await page.click('text=New client')
    await page.waitForURL(consoleUrl('/clients/new'))
    await snap('04-client-new')
    await page.fill('#client_name', `Shop (${name})`)
    await page.fill('#redirect_uris', 'https://shop.example/cb')
    await page.check('input[name=grant_types][value=refresh_token]')
    await page.fill('#scope', 'openid profile')
    await page.click('form[action$="/clients/new"] button[type=submit]')
    await page.locator('#client-secret').waitFor()
    firstSecret = (await page.locator('#client-secret').textContent())!.trim()
    clientId = (await page.locator('#client-id').textContent())!.trim()
    expect(firstSecret.length).toBeGreaterThanOrEqual(32)
    await snap('05-secret-created')
    await page.click('text=Done: back to the client')
    await page.waitForURL(consoleUrl(`/clients/${clientId}`))
    expect(await page.content()).not.toContain(firstSecret)
    await snap('06-client')
  })

  it('edits the client: a broken rule shown next to its field, then saved', async () => {
    await page.fill('#redirect_uris', 'http://shop.example/cb')
    await page.fill('#client_name', `Shop 2 (${name})`)
    await page.click(`form[action$="/clients/${clientId}"] button[type=submit]`)
    await page.locator('#redirect_uris-error').waitFor()
    expect(await page.locator('#redirect_uris').inputValue()).toBe('http://shop.example/cb')
    await snap('07-client-invalid')
    await page.fill('#redirect_uris', 'https://shop.example/cb')
    await page.click(`form[action$="/clients/${clientId}"] button[type=submit]`)
    expect(await textOf(page.locator('.notice'))).toContain('Changes saved.')
    expect(await page.locator('#client_name').inputValue()).toBe(`Shop 2 (${name})`)
    await snap('08-client-saved')
  })

  it('rotates the secret, keeping the old one for an hour, and never shows either again', async () => {
    await page.selectOption('#overlap', '3600')
    await page.click('form[action$="/secret"] button[type=submit]')
    const second = (await page.locator('#client-secret').textContent())!.trim()
    expect(second).not.toBe(firstSecret)
    await snap('09-secret-rotated')
    await page.goto(consoleUrl(`/clients/${clientId}`))
    const html = await page.content()
    expect(html).not.toContain(second)
    expect(html).not.toContain(firstSecret)
    expect(await textOf(page.locator('main'))).toContain('The previous secret keeps working until')
    // The new secret works at the token endpoint (and is kept nowhere readable).
    const res = await fetch(as!.endpoints.token, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic ' + Buffer.from(`${clientId}:${second}`).toString('base64') },
      body: 'grant_type=authorization_code&code=nothing&redirect_uri=https%3A%2F%2Fshop.example%2Fcb',
    })
    // Authenticated, so the refusal is about the code, not the client.
    expect(((await res.json()) as { error: string }).error).toBe('invalid_grant')
    await snap('10-client-after-rotation')
  })

  it('revokes a person\'s consent and ends their session', async () => {
    // bob signs in to the spa in a browser of his own: a consent and a live session.
    const bobContext = await browser.newContext()
    try {
      const bobPage = await bobContext.newPage()
      const pending = authorizeUrl(as!, client!)
      await bobPage.goto(pending.url)
      await bobPage.fill('input[name=username]', 'bob')
      await bobPage.fill('input[name=password]', 'builder')
      await bobPage.click('button[type=submit]')
      await bobPage.click('button[value=allow]')
      await bobPage.waitForURL((url) => url.href.startsWith(client!.redirectUri))
    } finally {
      await bobContext.close()
    }
    await page.click('nav.console >> text=People')
    await page.waitForURL(consoleUrl('/people'))
    await snap('11-people')
    await page.fill('#sub', 'bob')
    await page.click('main form[method=get] button[type=submit]')
    await page.waitForURL(consoleUrl('/people/bob'))
    expect(await textOf(page.locator('#consents'))).toContain('spa')
    expect(await textOf(page.locator('#sessions'))).toContain('spa')
    await snap('12-person')
    // Only spa's row: bob may also have consented to the console itself (the refused sign-in below, at the other width).
    await page.click('#consents tr:has-text("spa") button')
    expect(await textOf(page.locator('.notice'))).toContain('is revoked')
    expect(await page.locator('#consents tr:has-text("spa")').count()).toBe(0)
    await snap('13-consent-revoked')
    await page.click('#sessions tr:has-text("spa") button')
    expect(await textOf(page.locator('.notice'))).toContain('The session has ended.')
    expect(await page.locator('#sessions tr:has-text("spa")').count()).toBe(0)
    await snap('14-session-ended')
  })

  it('shows the audit log with the administrator as the actor of each change', async () => {
    await page.click('nav.console >> text=Audit log')
    await page.waitForURL(consoleUrl('/audit'))
    const table = page.locator('#audit')
    for (const action of ['console.signin', 'client.create', 'client.update', 'client.secret.rotate', 'consent.revoke', 'session.end']) expect(await textOf(table)).toContain(action)
    expect(await textOf(table)).toContain('alice (grantkit-console)')
    await snap('15-audit')
  })

  it('lists the client among the stored clients, then deletes it', async () => {
    await page.click('nav.console >> text=Clients')
    expect(await textOf(page.locator('main table'))).toContain(clientId)
    await snap('16-clients')
    await page.goto(consoleUrl(`/clients/${clientId}`))
    await page.click('form[action$="/delete"] button[type=submit]')
    expect(await textOf(page.locator('.notice'))).toContain('deleted')
    await snap('17-client-deleted')
  })

  it('signs out', async () => {
    await page.click('nav.console button[type=submit]')
    expect((await textOf(page.locator('h1'))).trim()).toBe('Signed out')
    await snap('18-signed-out')
    expect((await context.cookies(as!.issuer)).some((c) => c.name === 'grantkit_console')).toBe(false)
  })

  it('refuses a person who is not an administrator with a 403 page', async () => {
    const bobContext = await browser.newContext(options)
    try {
      const bobPage = await bobContext.newPage()
      await bobPage.goto(consoleUrl())
      await bobPage.fill('input[name=username]', 'bob')
      await bobPage.fill('input[name=password]', 'builder')
      await bobPage.click('button[type=submit]')
      if (await bobPage.locator('button[value=allow]').count()) await bobPage.click('button[value=allow]')
      expect((await textOf(bobPage.locator('h1'))).trim()).toBe('Not an administrator')
      await bobPage.screenshot({ path: join(ARTIFACTS, `${name}-19-forbidden.png`), fullPage: true })
      const res = await bobPage.goto(consoleUrl('/clients'))
      // No session was made: back to sign-in (single sign-on, then the 403 again).
      expect(res?.status()).toBe(403)
    } finally {
      await bobContext.close()
    }
  })
})
