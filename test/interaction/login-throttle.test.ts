import { describe, expect, it } from 'vitest'
import type { AuthorizationServerOptions, GrantkitResponse } from '../../src/index.js'
import { authorizeRequest, Browser, ISSUER, setCookies, setup, uidOf, webParams, type Harness } from '../authorize/fixtures.js'
import { fakeUsers } from '../users/fixtures.js'

/** A source that normalises usernames as many do for e-mail addresses: case and spaces do not matter. */
function foldingUsers() {
  const inner = fakeUsers({ 'alice@example.com': { password: 'wonderland', claims: { sub: 'sub-alice' } }, 'bob@example.com': { password: 'builder' } })
  return { ...inner, findByUsername: (u: string) => inner.findByUsername(u.trim().toLowerCase()) }
}

function pageSetup(extra: Partial<AuthorizationServerOptions> = {}) {
  const users = foldingUsers()
  return { ...setup({ users, ...extra }), users }
}

/**
 * One sign-in attempt on the built-in login page, as a browser at `address`
 * makes it: authorization request, login page, POST. Returns the POST's answer.
 */
async function attempt(h: Harness, browser: Browser, address: string, username: string, password: string): Promise<GrantkitResponse> {
  // Signed out since (session gone), but the same browser: only the known-device cookie remains.
  browser.jar.delete('__Host-grantkit_session')
  const withCookies = (headers: Record<string, string>) => (browser.cookie === '' ? headers : { ...headers, cookie: browser.cookie })
  const uid = uidOf(browser.absorb(await h.server.authorize({ ...authorizeRequest(webParams()), headers: withCookies({}), remoteAddress: address })))
  const page = await h.server.handle({ method: 'GET', url: new URL(`${ISSUER}/interaction/${uid}`), headers: withCookies({}), remoteAddress: address })
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.body ?? '')![1]!
  return browser.absorb(
    await h.server.handle({
      method: 'POST',
      url: new URL(`${ISSUER}/interaction/${uid}/login`),
      headers: withCookies({ 'content-type': 'application/x-www-form-urlencoded' }),
      body: new URLSearchParams({ csrf, username, password }).toString(),
      remoteAddress: address,
    }),
  )
}

const signedIn = (res: GrantkitResponse) => res.status === 303
const throttledPage = (res: GrantkitResponse) => res.status !== 303 && /Too many attempts/.test(res.body ?? '')
const THROTTLE = { passwordGrant: { maxFailures: 3, maxDelay: 60 } }

describe('login page: throttling that cannot be aimed at a person (issue 12)', () => {
  it('(a) counts attempts per account as the user source identifies it: spelling variants share one counter', async () => {
    const h = pageSetup(THROTTLE)
    for (let i = 0; i < 3; i++) await attempt(h, new Browser(), '198.51.100.1', 'alice@example.com', `guess-${i}`)
    // Before issue 12 this spelling had a counter of its own.
    expect(throttledPage(await attempt(h, new Browser(), '198.51.100.2', 'ALICE@example.com ', `guess-x`))).toBe(true)
  })

  it('(a) counts unknown usernames too, under their folded spelling, with the same pages as for a known one', async () => {
    const h = pageSetup(THROTTLE)
    const known: GrantkitResponse[] = []
    const unknown: GrantkitResponse[] = []
    for (let i = 0; i < 4; i++) known.push(await attempt(h, new Browser(), '198.51.100.1', 'bob@example.com', `guess-${i}`))
    for (let i = 0; i < 4; i++) unknown.push(await attempt(h, new Browser(), '198.51.100.2', i % 2 === 0 ? 'nobody@example.com' : 'NOBODY@example.com', `guess-${i}`))
    expect(unknown.map((r) => [r.status, throttledPage(r)])).toEqual(known.map((r) => [r.status, throttledPage(r)]))
    expect(throttledPage(unknown[3]!)).toBe(true)
  })

  it('(b) limits attempts per source address, on any accounts, leaving other addresses alone', async () => {
    const h = pageSetup({ passwordGrant: { maxAttemptsPerAddress: 3, addressWindow: 60 } })
    for (const name of ['carol@example.com', 'dave@example.com', 'erin@example.com']) await attempt(h, new Browser(), '198.51.100.9', name, 'guess')
    expect(throttledPage(await attempt(h, new Browser(), '198.51.100.9', 'bob@example.com', 'builder'))).toBe(true)
    expect(signedIn(await attempt(h, new Browser(), '198.51.100.10', 'bob@example.com', 'builder'))).toBe(true)
  })

  it('(c) slows guessing spread over many addresses instead of locking the account: the owner gets in maxDelay after it stops', async () => {
    const h = pageSetup({ passwordGrant: { maxFailures: 3, maxDelay: 60, failureWindow: 3600 } })
    for (let t = 0; t < 120; t++) {
      await attempt(h, new Browser(), `10.0.0.${t}`, 'alice@example.com', `guess-${t}`)
      h.clock.advance(1)
    }
    // 3 free checks, then 1, 2, 4, … s apart, capped at 60 s.
    expect(h.users.verifyPassword.mock.calls.length).toBeLessThanOrEqual(3 + 6 + 2)
    h.clock.advance(60)
    expect(signedIn(await attempt(h, new Browser(), '192.0.2.1', 'alice@example.com', 'wonderland'))).toBe(true)
  })

  it('(d) lets a browser where the person signed in before sign in while someone else is guessing the account', async () => {
    const h = pageSetup(THROTTLE)
    const own = new Browser()
    const first = await attempt(h, own, '192.0.2.1', 'alice@example.com', 'wonderland')
    expect(signedIn(first)).toBe(true)
    const known = setCookies(first).find((c) => c.startsWith('__Host-grantkit_known_device='))
    expect(known).toMatch(/^__Host-grantkit_known_device=[^;]+; Path=\/; HttpOnly; SameSite=Lax; Secure; Max-Age=2592000$/)
    // Someone guesses from many addresses: the account is slowed to its longest wait …
    for (let i = 0; i < 20; i++) await attempt(h, new Browser(), `10.1.0.${i}`, 'alice@example.com', `guess-${i}`)
    expect(throttledPage(await attempt(h, new Browser(), '192.0.2.1', 'alice@example.com', 'wonderland'))).toBe(true)
    // … yet alice's own browser, even behind the guesser's address, signs in at once.
    expect(signedIn(await attempt(h, own, '10.1.0.1', 'alice@example.com', 'wonderland'))).toBe(true)
  })

  it('(d) still limits a known browser on its own: maxFailures free attempts, then the same waits', async () => {
    const h = pageSetup(THROTTLE)
    const own = new Browser()
    await attempt(h, own, '192.0.2.1', 'alice@example.com', 'wonderland')
    for (let i = 0; i < 3; i++) expect(throttledPage(await attempt(h, own, '192.0.2.1', 'alice@example.com', `typo-${i}`))).toBe(false)
    expect(throttledPage(await attempt(h, own, '192.0.2.1', 'alice@example.com', 'wonderland'))).toBe(true)
    h.clock.advance(1)
    expect(signedIn(await attempt(h, own, '192.0.2.1', 'alice@example.com', 'wonderland'))).toBe(true)
  })

  it('(d) takes no forged, other-account, other-server or expired known-device cookie', async () => {
    const h = pageSetup({ ...THROTTLE, cookieSecrets: ['k'.repeat(32)], passwordGrant: { maxFailures: 3, knownDeviceTtl: 3600 } })
    const other = pageSetup({ cookieSecrets: ['x'.repeat(32)] })
    const bobs = new Browser()
    await attempt(h, bobs, '192.0.2.2', 'bob@example.com', 'builder')
    const stranger = new Browser()
    await attempt(other, stranger, '192.0.2.3', 'alice@example.com', 'wonderland')
    const alices = new Browser()
    await attempt(h, alices, '192.0.2.4', 'alice@example.com', 'wonderland')
    const name = '__Host-grantkit_known_device'
    const [id, subHash, expiresAt] = alices.jar.get(name)!.split('.')[0]!.split('~')
    for (let i = 0; i < 5; i++) await attempt(h, new Browser(), `10.2.0.${i}`, 'alice@example.com', `guess-${i}`)
    const candidates = {
      forged: `${id}~${subHash}~${Number(expiresAt) + 10_000_000}.${'A'.repeat(43)}`,
      'bob’s': bobs.jar.get(name)!,
      'another server’s': stranger.jar.get(name)!,
    }
    for (const [what, value] of Object.entries(candidates)) {
      const b = new Browser()
      b.jar.set(name, value)
      expect(throttledPage(await attempt(h, b, '192.0.2.5', 'alice@example.com', 'wonderland')), what).toBe(true)
    }
    // Alice's own, once expired, is no known device either; her browser waits like any other.
    h.clock.advance(3601)
    for (let i = 0; i < 20; i++) await attempt(h, new Browser(), `10.3.0.${i}`, 'alice@example.com', `guess-${i}`)
    expect(throttledPage(await attempt(h, alices, '192.0.2.4', 'alice@example.com', 'wonderland'))).toBe(true)
  })
})
