/**
 * RFC 8628 in a real browser: a device polls the token endpoint while a person
 * opens verification_uri_complete, signs in and allows; the next poll collects
 * the tokens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { toNodeListener } from '../../adapters/node.js'
import { createAuthorizationServer, DEVICE_CODE_GRANT } from '../../src/index.js'
import { ALICE, chromiumForFile, launchChromium, listen, PHONE, type Listening } from './harness.js'

const chromium = chromiumForFile('test/browser/device-flow')

describe.skipIf(!chromium)('device flow: the device polls while a person enters the code, signs in and allows', () => {
  let browser: Awaited<ReturnType<typeof launchChromium>>
  let server: Listening
  let issuer: string

  beforeAll(async () => {
    browser = await launchChromium()
    const handler = { listener: ((_req, res) => void res.writeHead(503).end()) as Parameters<typeof listen>[0]['listener'] }
    server = await listen(handler)
    issuer = server.origin
    const as = createAuthorizationServer({
      issuer,
      users: [ALICE],
      // A short interval keeps the test quick; the rules are the same.
      deviceFlow: { interval: 1 },
      clients: [
        {
          client_id: 'tv',
          client_name: 'Living Room TV',
          token_endpoint_auth_method: 'none',
          grant_types: [DEVICE_CODE_GRANT, 'refresh_token'],
          scope: 'openid profile offline_access',
        },
      ],
    })
    handler.listener = toNodeListener(as)
  })
  afterAll(async () => {
    await browser?.close()
    await server?.close()
  })

  it('hands the device its tokens after the person allows, and never before', async () => {
    const form = (body: Record<string, string>) => ({
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(body).toString(),
    })
    const start = (await (await fetch(`${issuer}/device_authorization`, form({ client_id: 'tv', scope: 'openid profile offline_access' }))).json()) as Record<string, string | number>
    expect(start.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/)

    // The device polls in the background, honouring interval and slow_down.
    const results: string[] = []
    const poll = (async () => {
      let interval = Number(start.interval)
      for (let i = 0; i < 120; i++) {
        await new Promise((r) => setTimeout(r, interval * 1000 + 100))
        const res = await fetch(`${issuer}/token`, form({ grant_type: DEVICE_CODE_GRANT, client_id: 'tv', device_code: String(start.device_code) }))
        const body = (await res.json()) as Record<string, unknown>
        if (res.status === 200) return body
        results.push(String(body.error))
        if (body.error === 'slow_down') interval += 5
        else if (body.error !== 'authorization_pending') throw new Error(`device poll failed: ${String(body.error)}`)
      }
      throw new Error('device never got its tokens')
    })()

    const context = await browser.browser.newContext(PHONE)
    const page = await context.newPage()
    await page.goto(String(start.verification_uri_complete))
    // verification_uri_complete pre-fills the code (RFC 8628 §3.3.1).
    expect(await page.inputValue('input[name="user_code"]')).toBe(start.user_code)
    await page.click('button[type="submit"]')
    await page.fill('input[name="username"]', ALICE.username)
    await page.fill('input[name="password"]', ALICE.password)
    await page.click('button[type="submit"]')
    // Consent names the client, so a person can spot a phishing attempt (RFC 8628 §5.4).
    await expect.poll(() => page.textContent('main')).toContain('Living Room TV')
    expect(results.every((e) => e === 'authorization_pending')).toBe(true)
    await page.getByRole('button', { name: 'Allow' }).click()
    await expect.poll(() => page.textContent('h1')).toBe('Device connected')

    const tokens = await poll
    expect(tokens).toMatchObject({ token_type: 'Bearer', scope: 'openid profile offline_access' })
    expect(typeof tokens.refresh_token).toBe('string')
    expect(typeof tokens.id_token).toBe('string')
    expect(results.length).toBeGreaterThan(0)
    const userinfo = await fetch(`${issuer}/userinfo`, { headers: { authorization: `Bearer ${String(tokens.access_token)}` } })
    expect(await userinfo.json()).toMatchObject({ sub: 'alice', name: 'Alice Liddell' })
    await context.close()
  }, 60_000)
})
