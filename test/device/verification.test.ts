import { describe, expect, it } from 'vitest'
import { json } from '../helpers.js'
import { authorizeDevice, Browser, deviceServer, expectError, ISSUER, poll, uidOf } from './flow.js'
import { contextOf } from '../../src/server.js'

const bare = (userCode: string) => userCode.replace('-', '').toLowerCase()
/** A well-formed user code (RFC 8628 §6.1 alphabet) that was never issued, different for each i. */
const wrongCode = (i: number): string => {
  const letters = 'BCDFGHJKLMNPQRSTVWXZ'
  return `BCDF-${letters[Math.floor(i / 400) % 20]}${letters[Math.floor(i / 20) % 20]}${letters[i % 20]}Z`
}

describe('device verification page (RFC 8628 §3.3)', () => {
  describe('GET', () => {
    it('shows a form with an input named user_code and sets the grantkit_device cookie it uses as CSRF value', async () => {
      const { server } = deviceServer()
      const browser = new Browser(server)
      const res = await browser.openDevicePage()
      expect(res.status).toBe(200)
      expect(res.headers['content-type']).toMatch(/^text\/html/)
      expect(res.headers['cache-control']).toBe('no-store')
      expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'")
      expect(res.body).toMatch(/<input[^>]*name="user_code"/)
      const cookie = res.headers['set-cookie'] as string
      // A random browser id and its HMAC: the server recognises only values it issued.
      expect(cookie).toMatch(/^__Host-grantkit_device=[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}; Path=\/; /)
      expect(cookie).toContain('HttpOnly')
      expect(cookie).toContain('SameSite=Lax')
      expect(cookie).toContain('Secure')
      const csrf = browser.cookies.get('__Host-grantkit_device')!
      expect(res.body).toContain(`name="csrf" value="${csrf}"`)
    })

    it('keeps the cookie a browser already has', async () => {
      const { server } = deviceServer()
      const browser = new Browser(server)
      await browser.openDevicePage()
      const first = browser.cookies.get('__Host-grantkit_device')
      await browser.openDevicePage()
      expect(browser.cookies.get('__Host-grantkit_device')).toBe(first)
    })

    it('pre-fills the code from ?user_code= (verification_uri_complete), escaped', async () => {
      const { server } = deviceServer()
      const { user_code, verification_uri_complete } = await authorizeDevice(server)
      const browser = new Browser(server)
      const res = await browser.send('GET', verification_uri_complete)
      expect(res.body).toMatch(new RegExp(`<input[^>]*name="user_code"[^>]*value="${user_code}"`))
      const hostile = await browser.openDevicePage('"><script>alert(1)</script>')
      expect(hostile.body).not.toContain('<script>alert(1)</script>')
      expect(hostile.body).toContain('&quot;&gt;&lt;script&gt;')
    })

    it('answers other methods with 405', async () => {
      const { server } = deviceServer()
      const res = await new Browser(server).send('PUT', '/device')
      expect(res.status).toBe(405)
    })
  })

  describe('code entry', () => {
    it('accepts the code in lower case without the dash and sends the person to the interaction (303)', async () => {
      const { server } = deviceServer()
      const { user_code } = await authorizeDevice(server)
      const browser = new Browser(server)
      await browser.openDevicePage()
      const res = await browser.enterCode(bare(user_code))
      expect(res.status).toBe(303)
      expect(res.headers.location).toMatch(new RegExp(`^${ISSUER}/interaction/[A-Za-z0-9_-]{16,}$`))
      expect(browser.cookies.has('__Host-grantkit_interaction')).toBe(true)
    })

    it('approves the device after login and consent, shows the "connected" page naming the client, and the device gets its tokens', async () => {
      const { server } = deviceServer()
      const { user_code, device_code } = await authorizeDevice(server, 'tv', 'openid offline_access api:read')
      const browser = new Browser(server)
      const uid = await browser.startApproval(bare(user_code))

      const loginPage = await browser.send('GET', `/interaction/${uid}`)
      expect(loginPage.body).toContain('name="username"')
      expect(loginPage.body).toContain('Living Room TV')
      const afterLogin = await browser.login(uid)
      expect(afterLogin.status).toBe(303)
      expect(uidOf(afterLogin.headers.location as string)).toBe(uid)
      expect(browser.cookies.has('__Host-grantkit_session')).toBe(true)

      const consentPage = await browser.send('GET', `/interaction/${uid}`)
      expect(consentPage.status).toBe(200)
      expect(consentPage.body).toContain('Allow access?')
      expect(consentPage.body).toContain('Living Room TV')
      expectError(await poll(server, device_code), 'authorization_pending')

      const done = await browser.consent(uid, 'allow')
      expect(done.status).toBe(200)
      expect(done.body).toContain('Device connected')
      expect(done.body).toContain('Living Room TV')
      expect(browser.cookies.has('__Host-grantkit_interaction')).toBe(false)

      const tokens = json(await poll(server, device_code))
      expect(tokens).toMatchObject({ token_type: 'Bearer', scope: 'openid offline_access api:read' })
      expect(typeof tokens.access_token).toBe('string')
      expect(typeof tokens.refresh_token).toBe('string')
      expect(typeof tokens.id_token).toBe('string')
      const userinfo = await server.handle({ method: 'GET', url: new URL(ISSUER + '/userinfo'), headers: { authorization: `Bearer ${tokens.access_token as string}` } })
      expect(json(userinfo)).toEqual({ sub: 'alice-sub' })
    })

    it('shows "Request denied" after Deny, and the device is told access_denied', async () => {
      const { server } = deviceServer()
      const { user_code, device_code } = await authorizeDevice(server)
      const page = await new Browser(server).answer(user_code, 'deny')
      expect(page.status).toBe(200)
      expect(page.body).toContain('Request denied')
      expect(page.body).toContain('Living Room TV')
      expectError(await poll(server, device_code), 'access_denied')
    })

    it('answers a wrong, malformed or unknown code with the form again and status 400', async () => {
      const { server } = deviceServer()
      await authorizeDevice(server)
      const browser = new Browser(server)
      await browser.openDevicePage()
      for (const code of ['BCDF-GHJK', 'AAAA-AAAA', '12345678', 'x'.repeat(40)]) {
        const res = await browser.enterCode(code)
        expect(res.status).toBe(400)
        expect(res.body).toMatch(/<input[^>]*name="user_code"/)
        expect(res.body).toContain('not valid')
      }
    })

    it('answers an expired code with 400', async () => {
      const { server, clock } = deviceServer()
      const { user_code } = await authorizeDevice(server)
      clock.advance(601)
      const browser = new Browser(server)
      await browser.openDevicePage()
      expect((await browser.enterCode(user_code)).status).toBe(400)
    })

    it('answers a code that was already approved or denied with 400', async () => {
      const { server } = deviceServer()
      const approved = await authorizeDevice(server)
      const denied = await authorizeDevice(server)
      await new Browser(server).answer(approved.user_code, 'allow')
      await new Browser(server).answer(denied.user_code, 'deny')
      const browser = new Browser(server)
      await browser.openDevicePage()
      expect((await browser.enterCode(approved.user_code)).status).toBe(400)
      expect((await browser.enterCode(denied.user_code)).status).toBe(400)
    })

    it('refuses a form whose csrf is missing, wrong, or not backed by the cookie with 403', async () => {
      const { server } = deviceServer()
      const { user_code } = await authorizeDevice(server)
      const browser = new Browser(server)
      await browser.openDevicePage()
      const cookie = browser.cookies.get('__Host-grantkit_device')!
      expect((await browser.send('POST', '/device', { user_code })).status).toBe(403)
      expect((await browser.enterCode(user_code, 'A'.repeat(43))).status).toBe(403)
      const cookieless = new Browser(server)
      expect((await cookieless.enterCode(user_code, cookie)).status).toBe(403)
      // The right value still works afterwards: the refusals did not use up the code.
      expect((await browser.enterCode(user_code)).status).toBe(303)
    })
  })

  describe('the interaction it leads to', () => {
    it('belongs to the browser that entered the code: another browser gets the expired page', async () => {
      const { server } = deviceServer()
      const { user_code, device_code } = await authorizeDevice(server)
      const uid = await new Browser(server).startApproval(user_code)
      const stranger = new Browser(server)
      expect(await server.interactions.details(stranger.request('GET', `/interaction/${uid}`), uid)).toBeNull()
      const page = await stranger.send('GET', `/interaction/${uid}`)
      expect(page.status).toBe(400)
      expect(page.body).toContain('expired')
      expectError(await poll(server, device_code), 'authorization_pending')
    })

    it('cannot approve a device code that expired while the person was signing in: error page, the device hears expired_token', async () => {
      const { server, clock } = deviceServer()
      const { user_code, device_code } = await authorizeDevice(server)
      clock.advance(590)
      const browser = new Browser(server)
      const uid = await browser.startApproval(user_code)
      expect((await browser.login(uid)).status).toBe(303)
      clock.advance(11)
      const page = await browser.consent(uid, 'allow')
      expect(page.status).toBe(400)
      expect(page.body).not.toContain('Device connected')
      expectError(await poll(server, device_code), 'expired_token')
    })

    it('finishes once: a second Allow from the same browser gets the expired page', async () => {
      const { server } = deviceServer()
      const { user_code } = await authorizeDevice(server)
      const browser = new Browser(server)
      const uid = await browser.startApproval(user_code)
      await browser.login(uid)
      const csrf = await browser.csrfFor(uid)
      const interactionCookie = browser.cookies.get('__Host-grantkit_interaction')!
      expect((await browser.send('POST', `/interaction/${uid}/consent`, { csrf, decision: 'allow' })).body).toContain('Device connected')
      browser.cookies.set('__Host-grantkit_interaction', interactionCookie)
      const again = await browser.send('POST', `/interaction/${uid}/consent`, { csrf, decision: 'allow' })
      expect(again.status).toBe(400)
      expect(again.body).not.toContain('Device connected')
    })
  })

  describe('guessing (RFC 8628 §5.1)', () => {
    it('answers more than maxAttemptsPerAddress entries from one address with 429, even for the right code and from fresh browsers', async () => {
      const { server } = deviceServer({ deviceFlow: { maxAttemptsPerAddress: 3 } })
      const { user_code } = await authorizeDevice(server)
      for (let i = 0; i < 3; i++) {
        const guesser = new Browser(server, '198.51.100.1')
        await guesser.openDevicePage()
        expect((await guesser.enterCode(wrongCode(i))).status).toBe(400)
      }
      const fresh = new Browser(server, '198.51.100.1')
      await fresh.openDevicePage()
      const res = await fresh.enterCode(user_code)
      expect(res.status).toBe(429)
      expect(res.body).toContain('slow_down')
      expect(res.headers.location).toBeUndefined()
      // Another address is not held back.
      const other = new Browser(server, '198.51.100.2')
      await other.openDevicePage()
      expect((await other.enterCode(user_code)).status).toBe(303)
    })

    it('holds a shared address back for one short addressWindow, not 15 minutes: a person behind the same NAT then gets in with the defaults', async () => {
      const { server, clock } = deviceServer({ ttl: { deviceCode: 1800 } })
      const { user_code } = await authorizeDevice(server)
      // A guesser behind the NAT uses up the address's default 60 entries (fresh browsers, distinct codes).
      let refused = 0
      for (let i = 0; i < 70; i++) {
        const guesser = new Browser(server, '198.51.100.1')
        await guesser.openDevicePage()
        if ((await guesser.enterCode(wrongCode(i))).status === 429) refused++
      }
      expect(refused).toBe(10)
      const person = new Browser(server, '198.51.100.1')
      await person.openDevicePage()
      const held = await person.enterCode(user_code)
      expect(held.status).toBe(429)
      expect(Number(held.headers['retry-after'])).toBeLessThanOrEqual(60)
      // The window is 60 s and clock-aligned: at most 60 s later the person is through.
      clock.advance(60)
      expect((await person.enterCode(user_code)).status).toBe(303)
    })

    it('gives a browser cookie the server did not sign no counter of its own: the form again with a fresh signed cookie, no code looked up', async () => {
      const { server } = deviceServer({ deviceFlow: { maxAttempts: 2 } })
      const { user_code } = await authorizeDevice(server)
      const browser = new Browser(server)
      await browser.openDevicePage()
      await browser.enterCode(wrongCode(1))
      await browser.enterCode(wrongCode(2))
      expect((await browser.enterCode(user_code)).status).toBe(429)
      // The attacker picks a new cookie value to get a new counter; it is not taken as a browser.
      for (const forged of ['A'.repeat(43), `${'A'.repeat(43)}.${'B'.repeat(43)}`]) {
        browser.cookies.set('__Host-grantkit_device', forged)
        const res = await browser.enterCode(user_code, forged)
        expect(res.status).toBe(400)
        expect(res.headers.location).toBeUndefined()
        const fresh = browser.cookies.get('__Host-grantkit_device')!
        expect(fresh).not.toBe(forged)
        expect(fresh).toMatch(/^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/)
        expect(res.body).toContain(`name="csrf" value="${fresh}"`)
      }
    })

    it('does not take a browser cookie signed under another server\'s cookieSecrets, and still takes one signed under a rotated-out secret', async () => {
      const oldSecret = 'o'.repeat(32)
      const a = deviceServer({ cookieSecrets: [oldSecret] })
      const stranger = deviceServer({ cookieSecrets: ['s'.repeat(32)] })
      const b = deviceServer({ cookieSecrets: ['n'.repeat(32), oldSecret] })
      const browser = new Browser(a.server)
      await browser.openDevicePage()
      const signedByOld = browser.cookies.get('__Host-grantkit_device')!
      for (const [target, expected] of [[stranger.server, 400], [b.server, 303]] as const) {
        const { user_code } = await authorizeDevice(target)
        const there = new Browser(target)
        there.cookies.set('__Host-grantkit_device', signedByOld)
        expect((await there.enterCode(user_code, signedByOld)).status).toBe(expected)
      }
    })

    it('counts entries per user code: more than maxAttempts of one code, from any browsers and addresses, get 429', async () => {
      const { server } = deviceServer({ deviceFlow: { maxAttempts: 3 } })
      const { user_code } = await authorizeDevice(server)
      for (let i = 0; i < 3; i++) {
        const someone = new Browser(server, `192.0.2.${i + 1}`)
        await someone.openDevicePage()
        expect((await someone.enterCode(user_code)).status).toBe(303)
      }
      const fourth = new Browser(server, '192.0.2.50')
      await fourth.openDevicePage()
      expect((await fourth.enterCode(user_code)).status).toBe(429)
      // Spelling does not make another code (RFC 8628 §6.1: case and dashes are ignored).
      const fifth = new Browser(server, '192.0.2.51')
      await fifth.openDevicePage()
      expect((await fifth.enterCode(bare(user_code))).status).toBe(429)
    })

    it('answers more than maxAttempts entries from one browser cookie with 429, whatever address it comes from', async () => {
      const { server } = deviceServer({ deviceFlow: { maxAttempts: 3 } })
      const { user_code } = await authorizeDevice(server)
      const browser = new Browser(server)
      await browser.openDevicePage()
      for (let i = 0; i < 3; i++) {
        browser.remoteAddress = `192.0.2.${i + 1}`
        expect((await browser.enterCode(wrongCode(i))).status).toBe(400)
      }
      browser.remoteAddress = '192.0.2.99'
      expect((await browser.enterCode(user_code)).status).toBe(429)
    })

    it('allows entries again once the counting window has passed', async () => {
      const { server, clock } = deviceServer({ deviceFlow: { maxAttempts: 2, attemptWindow: 60 }, ttl: { deviceCode: 900 } })
      const { user_code } = await authorizeDevice(server)
      const browser = new Browser(server)
      await browser.openDevicePage()
      await browser.enterCode(wrongCode(1))
      await browser.enterCode(wrongCode(2))
      expect((await browser.enterCode(user_code)).status).toBe(429)
      clock.advance(61)
      expect((await browser.enterCode(user_code)).status).toBe(303)
    })
  })

  describe('consent (RFC 8628 §5.4)', () => {
    it('is always asked, naming the client, even with a live session and remembered consent', async () => {
      const { server } = deviceServer()
      const browser = new Browser(server)
      const first = await authorizeDevice(server)
      expect((await browser.answer(first.user_code)).body).toContain('Device connected')
      expect(browser.cookies.has('__Host-grantkit_session')).toBe(true)
      expect(await contextOf(server).storage.consents.find('alice-sub', 'tv')).toBe('openid offline_access api:read')

      const second = await authorizeDevice(server)
      const uid = await browser.startApproval(bare(second.user_code))
      const details = await server.interactions.details(browser.request('GET', `/interaction/${uid}`), uid)
      expect(details).toMatchObject({ prompt: 'consent', sub: 'alice-sub', client: { id: 'tv', name: 'Living Room TV' } })
      const page = await browser.send('GET', `/interaction/${uid}`)
      expect(page.status).toBe(200)
      expect(page.body).toContain('Allow access?')
      expect(page.body).toContain('<strong>Living Room TV</strong>')
      expect(page.body).not.toContain('name="password"')
      // Nothing is approved until the person answers.
      expectError(await poll(server, second.device_code), 'authorization_pending')
      expect((await browser.consent(uid, 'allow')).body).toContain('Device connected')
      expect((await poll(server, second.device_code)).status).toBe(200)
    })
  })
})
