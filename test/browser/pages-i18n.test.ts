/**
 * Themed and translated built-in pages in a real browser (Debian's Chromium
 * through playwright-core): the browser's language (Accept-Language from the
 * context's locale) or the client's ui_locales choose the texts, the flow
 * completes by clicking the translated buttons, and a theme's colours and CSS
 * apply under the pages' CSP without a single violation.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AuthorizationServerOptions } from '../../src/index.js'
import { ALICE, authorizeUrl, chromiumForFile, launchChromium, redeemCode, startAuthServer, startClientApp, type AuthServer, type ClientApp } from './harness.js'

const chromium = chromiumForFile('test/browser/pages-i18n')


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

interface Scenario {
  as: AuthServer
  client: ClientApp
  context: BrowserContext
  page: Page
  /** CSP violations the pages reported (securitypolicyviolation events and console errors). */
  violations: string[]
}

/** Per scenario: its own server (with `pages` options), and a browser context with the given locale. */
function scenario(options: { locale?: string; pages?: AuthorizationServerOptions['pages']; setup?: (context: BrowserContext) => Promise<void> }) {
  const s = {} as Scenario
  beforeAll(async () => {
    s.client = client!
    s.as = await startAuthServer(s.client.redirectUri, { options: { pages: options.pages } })
    // Playwright sends Accept-Language from the context's locale, as the browser's language setting would.
    s.context = await browser.newContext(options.locale !== undefined ? { locale: options.locale } : {})
    await options.setup?.(s.context)
    s.violations = []
    // Injected by DevTools, outside the page's CSP: it records every violation the page reports.
    await s.context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        const w = window as unknown as { __violations?: string[] }
        ;(w.__violations ??= []).push(`${e.violatedDirective} ${e.blockedURI}`)
      })
    })
    s.page = await s.context.newPage()
    s.page.on('console', (m) => {
      if (/Content[ -]Security[ -]Policy/i.test(m.text())) s.violations.push(m.text())
    })
  })
  afterAll(async () => {
    await s.context?.close()
    await s.as?.close()
  })
  return s
}

const startsWith = (prefix: string) => (url: URL): boolean => url.href.startsWith(prefix)

async function reportedViolations(s: Scenario): Promise<string[]> {
  const fromPage = await s.page.evaluate(() => (window as unknown as { __violations?: string[] }).__violations ?? [])
  return [...fromPage, ...s.violations]
}

async function fillLogin(page: Page): Promise<void> {
  await page.locator('input[name="username"]').fill(ALICE.username)
  await page.locator('input[name="password"]').fill(ALICE.password)
}

async function callbackCode(s: Scenario): Promise<URLSearchParams> {
  await s.page.waitForURL(startsWith(s.client.redirectUri + '?'))
  return new URL(s.page.url()).searchParams
}

describe.skipIf(!chromium)('a browser set to German (Accept-Language from the locale)', () => {
  const s = scenario({ locale: 'de-DE' })

  it('shows the login and consent pages in German and completes the flow with the German buttons', async () => {
    const { page, as, client } = s
    const pending = authorizeUrl(as, client)
    await page.goto(pending.url)
    await page.waitForURL(startsWith(as.issuer))
    expect(await page.locator('html').getAttribute('lang')).toBe('de')
    expect(await page.title()).toBe('Anmelden')
    expect(await page.locator('h1').textContent()).toBe('Anmelden')
    expect(await page.locator('main').textContent()).toContain('Weiter zu Demo SPA')
    expect(await page.getByLabel('Benutzername').getAttribute('name')).toBe('username')
    expect(await page.getByLabel('Passwort').getAttribute('name')).toBe('password')

    await fillLogin(page)
    await page.getByRole('button', { name: 'Anmelden', exact: true }).click()
    await page.getByRole('button', { name: 'Erlauben', exact: true }).waitFor()
    expect(await page.locator('h1').textContent()).toBe('Zugriff erlauben?')
    expect(await page.locator('main').textContent()).toContain('Demo SPA')
    expect(await page.locator('main').textContent()).toContain('Wissen, wer Sie sind')
    expect(await page.getByRole('button', { name: 'Ablehnen', exact: true }).count()).toBe(1)
    expect(await page.getByRole('button', { name: 'Allow', exact: true }).count()).toBe(0)

    await page.getByRole('button', { name: 'Erlauben', exact: true }).click()
    const params = await callbackCode(s)
    expect(params.get('state')).toBe(pending.state)
    const tokens = await redeemCode(as, client, params.get('code')!, pending.verifier)
    expect(tokens.status).toBe(200)
    expect(await reportedViolations(s)).toEqual([])
  })
})

describe.skipIf(!chromium)('ui_locales=de in an English browser', () => {
  const s = scenario({ locale: 'en-US' })

  it('shows every page of the interaction in German, and a denial reaches the client', async () => {
    const { page, as, client } = s
    const pending = authorizeUrl(as, client)
    const url = new URL(pending.url)
    url.searchParams.set('ui_locales', 'fr-CA de')
    await page.goto(url.toString())
    await page.waitForURL(startsWith(as.issuer))
    expect(await page.locator('html').getAttribute('lang')).toBe('de')
    await fillLogin(page)
    await page.getByRole('button', { name: 'Anmelden', exact: true }).click()
    await page.getByRole('button', { name: 'Ablehnen', exact: true }).click()
    const params = await callbackCode(s)
    expect(params.get('error')).toBe('access_denied')
    expect(params.get('state')).toBe(pending.state)
  })
})

const LOGO = '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect width="40" height="20" fill="#0a7f5a"/></svg>'

describe.skipIf(!chromium)('a theme, in English by default', () => {
  const s = scenario({
    pages: {
      theme: {
        name: 'Acme ID',
        logoUrl: 'https://cdn.acme.example/logo.svg',
        colors: { primary: '#0a7f5a', onPrimary: 'rgb(255, 250, 240)', background: 'hsl(0, 0%, 96%)' },
        css: 'h1{text-transform:uppercase;letter-spacing:1px}',
      },
    },
    // The logo's origin, served by the test: the CSP must admit exactly this URL.
    setup: async (context) => {
      await context.route('https://cdn.acme.example/**', (route) => route.fulfill({ status: 200, contentType: 'image/svg+xml', body: LOGO }))
    },
  })

  it('applies the colours and CSS under the CSP, shows the logo, and keeps Sign in, Allow and Deny', async () => {
    const { page, as, client } = s
    const pending = authorizeUrl(as, client)
    await page.goto(pending.url)
    await page.waitForURL(startsWith(as.issuer))
    expect(await page.locator('html').getAttribute('lang')).toBe('en')
    expect(await page.title()).toBe('Sign in · Acme ID')
    const submit = page.getByRole('button', { name: 'Sign in', exact: true })
    expect(await submit.evaluate((b) => getComputedStyle(b).backgroundColor)).toBe('rgb(10, 127, 90)')
    expect(await submit.evaluate((b) => getComputedStyle(b).color)).toBe('rgb(255, 250, 240)')
    expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgb(245, 245, 245)')
    expect(await page.locator('h1').evaluate((h) => getComputedStyle(h).textTransform)).toBe('uppercase')
    const logo = page.locator('header.brand img')
    await expect.poll(() => logo.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(40)
    expect(await page.locator('header.brand').textContent()).toBe('Acme ID')

    await fillLogin(page)
    await submit.click()
    await page.getByRole('button', { name: 'Allow', exact: true }).waitFor()
    expect(await page.getByRole('button', { name: 'Deny', exact: true }).count()).toBe(1)
    const deny = page.getByRole('button', { name: 'Deny', exact: true })
    // The secondary button: the primary colour as text on the surface.
    expect(await deny.evaluate((b) => getComputedStyle(b).color)).toBe('rgb(10, 127, 90)')
    expect(await reportedViolations(s)).toEqual([])

    await page.getByRole('button', { name: 'Allow', exact: true }).click()
    const params = await callbackCode(s)
    expect(params.get('code')).not.toBeNull()
  })

  it('would have seen a violation: an image from another origin is reported', async () => {
    const { page, as } = s
    // An error page: the same CSP as every page.
    await page.goto(`${as.issuer}/interaction/not-a-uid`)
    expect(await page.locator('h1').textContent()).toBe('Something went wrong')
    await page.evaluate(() => {
      const img = document.createElement('img')
      img.src = 'https://elsewhere.example/pixel.png'
      document.body.append(img)
    })
    await expect.poll(async () => (await reportedViolations(s)).some((v) => v.includes('img-src'))).toBe(true)
  })
})
