/**
 * Back-Channel Logout 1.0 against a small relying party: a node:http server on
 * 127.0.0.1 that verifies each logout token with jose against the server's
 * JWKS the way §2.6 tells an RP to, and answers as the test scripts it.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createLocalJWKSet, jwtVerify, type JWTPayload } from 'jose'
import { afterEach, describe, expect, it } from 'vitest'
import { createAuthorizationServer, type AuthorizationServerOptions, type GrantkitEvent, type GrantkitEventData } from '../../src/index.js'
import { contextOf } from '../../src/server.js'
import { counterIds } from '../helpers.js'
import { tinyUsers } from '../authorize/fixtures.js'
import { Browser, claimsOf, endSessionRequest, ISSUER, logoutClients, needsLogin, redirect, signIn, WEB_BYE, type Harness } from './fixtures.js'

interface Received {
  token: string
  header: { typ?: string; alg?: string }
  claims: JWTPayload
  contentType: string | undefined
}

/** The relying party: verifies each token, records it, answers with the next scripted status (200 when the script is empty). */
async function startRp(): Promise<{ url: string; received: Received[]; statuses: number[]; rejected: string[]; hang: { on: boolean }; close(): Promise<void>; server: Server; jwks?: { keys: object[] } }> {
  const received: Received[] = []
  const rejected: string[] = []
  const statuses: number[] = []
  const hang = { on: false }
  const rp = {
    url: '',
    received,
    statuses,
    rejected,
    hang,
    jwks: undefined as { keys: object[] } | undefined,
    server: undefined as unknown as Server,
    close: async () => {},
  }
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => {
      if (hang.on) return
      void (async () => {
        const token = new URLSearchParams(body).get('logout_token') ?? ''
        try {
          // §2.6: verify as an ID token is, plus the logout-token rules.
          const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(rp.jwks as never), { issuer: ISSUER, audience: 'web', typ: 'logout+jwt', algorithms: ['RS256'] })
          received.push({ token, header: protectedHeader as Received['header'], claims: payload, contentType: req.headers['content-type'] })
        } catch (error) {
          rejected.push(String(error))
          res.writeHead(400).end()
          return
        }
        res.writeHead(statuses.shift() ?? 200, { 'cache-control': 'no-store' }).end()
      })()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  rp.server = server
  rp.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/backchannel`
  rp.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return rp
}

const open: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const close of open.splice(0)) await close()
})

/** A server (real clock: the RP checks exp against its own) whose `web` client registered the RP's back-channel URI. */
async function withRp(extra: Partial<AuthorizationServerOptions> = {}, web: Record<string, unknown> = {}) {
  const rp = await startRp()
  open.push(rp.close)
  const clock = { now: () => Date.now() / 1000 }
  const server = createAuthorizationServer({
    issuer: ISSUER,
    clients: logoutClients({ web: { backchannel_logout_uri: rp.url, backchannel_logout_session_required: true, ...web } }),
    users: tinyUsers,
    allowPrivateNetworkFetches: true,
    backchannelLogout: { retryDelay: 0.01, timeout: 2, maxAttempts: 3 },
    deps: { now: clock.now, randomId: counterIds() },
    ...extra,
  })
  rp.jwks = JSON.parse(server.jwks({ method: 'GET', url: new URL(`${ISSUER}/jwks`), headers: {} }).body!) as { keys: object[] }
  const events: GrantkitEvent[] = []
  server.on('*', (e) => events.push(e))
  const h: Harness = { server, clock: { now: clock.now, advance: () => {}, set: () => {} } }
  const idle = () => contextOf(server).logoutDeliveries.idle()
  return { rp, h, events, idle }
}

const deliveryEvents = (events: GrantkitEvent[]) => events.filter((e) => e.type.startsWith('logout.'))

describe('back-channel logout (OIDC Back-Channel Logout 1.0)', () => {
  it('posts a logout token the RP verifies: typ logout+jwt, iss, aud, iat, exp, jti, the event, sub and the sid of the ID token, no nonce', async () => {
    const { rp, h, events, idle } = await withRp()
    const browser = new Browser()
    const idToken = await signIn(h, browser)
    const res = await h.server.handle(endSessionRequest(browser, { id_token_hint: idToken, post_logout_redirect_uri: WEB_BYE }))
    expect(redirect(res).url.href).toBe(WEB_BYE)
    await idle()
    expect(rp.rejected).toEqual([])
    expect(rp.received).toHaveLength(1)
    const [got] = rp.received
    expect(got!.contentType).toBe('application/x-www-form-urlencoded')
    expect(got!.header.typ).toBe('logout+jwt')
    const c = got!.claims
    expect(c).toMatchObject({ iss: ISSUER, aud: 'web', sub: 'sub-alice', sid: claimsOf(idToken).sid, events: { 'http://schemas.openid.net/event/backchannel-logout': {} } })
    expect(c.nonce).toBeUndefined()
    expect(typeof c.jti).toBe('string')
    expect(c.exp! - c.iat!).toBeLessThanOrEqual(120)
    expect(deliveryEvents(events)).toMatchObject([{ type: 'logout.delivered', clientId: 'web', sid: claimsOf(idToken).sid, attempts: 1 }])
    // SECURITY: no event carries the token.
    expect(JSON.stringify(events)).not.toContain(got!.token)
  })

  it('notifies only the clients signed in through the ended session', async () => {
    const { rp, h, idle } = await withRp()
    const a = new Browser()
    const b = new Browser()
    const tokenA = await signIn(h, a, 'web')
    await signIn(h, b, 'other')
    await h.server.handle(endSessionRequest(b, { id_token_hint: await signIn(h, b, 'other') }))
    await idle()
    expect(rp.received).toEqual([])
    await h.server.handle(endSessionRequest(a, { id_token_hint: tokenA }))
    await idle()
    expect(rp.received.map((r) => r.claims.sid)).toEqual([claimsOf(tokenA).sid])
  })

  it('tries again with back-off after a 500 and reports the delivery once the RP takes it', async () => {
    const { rp, h, events, idle } = await withRp()
    rp.statuses.push(500, 503)
    const browser = new Browser()
    const idToken = await signIn(h, browser)
    await h.server.handle(endSessionRequest(browser, { id_token_hint: idToken }))
    await idle()
    expect(rp.received).toHaveLength(3)
    expect(deliveryEvents(events)).toMatchObject([{ type: 'logout.delivered', clientId: 'web', sid: claimsOf(idToken).sid, attempts: 3 }])
  })

  it('reports logout.delivery.failed after the last attempt, without the token', async () => {
    const { rp, h, events, idle } = await withRp()
    rp.statuses.push(500, 500, 500, 500)
    const browser = new Browser()
    const idToken = await signIn(h, browser)
    const res = await h.server.handle(endSessionRequest(browser, { id_token_hint: idToken, post_logout_redirect_uri: WEB_BYE }))
    // The person is not kept waiting for the RP.
    expect(res.status).toBe(303)
    await idle()
    expect(rp.received).toHaveLength(3)
    expect(deliveryEvents(events)).toMatchObject([{ type: 'logout.delivery.failed', clientId: 'web', sid: claimsOf(idToken).sid, attempts: 3, reason: 'status 500' }])
    for (const r of rp.received) expect(JSON.stringify(events)).not.toContain(r.token)
  })

  it('does not try again when the RP refuses the token (400, §2.8)', async () => {
    const { rp, h, events, idle } = await withRp()
    rp.statuses.push(400)
    const browser = new Browser()
    await h.server.handle(endSessionRequest(browser, { id_token_hint: await signIn(h, browser) }))
    await idle()
    expect(rp.received).toHaveLength(1)
    expect(deliveryEvents(events)).toMatchObject([{ type: 'logout.delivery.failed', attempts: 1, reason: 'status 400' }])
  })

  it('gives up on an RP that does not answer within the timeout', async () => {
    const { rp, h, events, idle } = await withRp({ backchannelLogout: { timeout: 0.2, maxAttempts: 2, retryDelay: 0.01 } })
    rp.hang.on = true
    const browser = new Browser()
    await h.server.handle(endSessionRequest(browser, { id_token_hint: await signIn(h, browser) }))
    const started = Date.now()
    await idle()
    expect(Date.now() - started).toBeLessThan(2000)
    expect(deliveryEvents(events)).toMatchObject([{ type: 'logout.delivery.failed', attempts: 2, reason: expect.stringContaining('timed out') }])
  })
})

describe('server.sessions', () => {
  it('lists a person\'s sessions, newest sign-in first, with their clients', async () => {
    const { h } = await withRp()
    const first = new Browser()
    const sidA = claimsOf(await signIn(h, first, 'web')).sid
    await new Promise((r) => setTimeout(r, 1100))
    const second = new Browser()
    const sidB = claimsOf(await signIn(h, second, 'other')).sid
    const list = await h.server.sessions.list('sub-alice')
    expect(list.map((s) => s.id)).toEqual([sidB, sidA])
    expect(list[1]).toMatchObject({ id: sidA, sub: 'sub-alice', clients: ['web'] })
    expect(list[1]!.expiresAt - list[1]!.authTime).toBeGreaterThanOrEqual(86_399)
    expect(await h.server.sessions.list('sub-bob')).toEqual([])
    await expect(h.server.sessions.list('')).rejects.toThrow(TypeError)
  })

  it('ends one session by id: its single sign-on ends, its clients get logout tokens, the other session lives on', async () => {
    const { rp, h, events, idle } = await withRp()
    const first = new Browser()
    const second = new Browser()
    const sid = claimsOf(await signIn(h, first, 'web')).sid as string
    await signIn(h, second, 'web')
    expect(await h.server.sessions.end(sid)).toBe(true)
    await idle()
    expect(events.filter((e) => e.type === 'session.ended')).toMatchObject([{ type: 'session.ended', sid, sub: 'sub-alice', reason: 'admin', clients: ['web'] }])
    expect(rp.received.map((r) => r.claims.sid)).toEqual([sid])
    expect(await needsLogin(h, first)).toBe(true)
    expect(await needsLogin(h, second)).toBe(false)
    expect((await h.server.sessions.list('sub-alice')).map((s) => s.id)).not.toContain(sid)
    expect(await h.server.sessions.end(sid)).toBe(false)
    expect(await h.server.sessions.end('unknown')).toBe(false)
  })

  it('names the missing store method of a custom session store', async () => {
    const { createMemoryStorage } = await import('../../src/index.js')
    const storage = createMemoryStorage()
    const { save, find, delete: del } = storage.sessions
    storage.sessions = { save: save.bind(storage.sessions), find: find.bind(storage.sessions), delete: del.bind(storage.sessions) }
    const server = createAuthorizationServer({ issuer: ISSUER, clients: logoutClients(), users: tinyUsers, storage })
    await expect(server.sessions.list('sub-alice')).rejects.toThrow('storage.sessions.listBySub: missing')
    // Single sign-on and logout still work without the optional methods.
    const h: Harness = { server, clock: { now: () => Date.now() / 1000, advance: () => {}, set: () => {} } }
    const browser = new Browser()
    const idToken = await signIn(h, browser)
    expect(claimsOf(await signIn(h, browser, 'other')).sid).toBe(claimsOf(idToken).sid)
    await server.handle(endSessionRequest(browser, { id_token_hint: idToken }))
    expect(await needsLogin(h, browser)).toBe(true)
  })
})

describe('allowPrivateNetworkFetches', () => {
  it('refuses a client whose backchannel_logout_uri is a loopback or private address while the option is off', () => {
    for (const uri of ['http://127.0.0.1:9/bcl', 'https://localhost/bcl', 'https://10.0.0.8/bcl', 'https://[::1]/bcl', 'https://169.254.169.254/latest', 'https://[::ffff:127.0.0.1]/x']) {
      expect(() => createAuthorizationServer({ issuer: ISSUER, clients: logoutClients({ web: { backchannel_logout_uri: uri } }) }), uri).toThrow(/clients\[0\]\.backchannel_logout_uri: .*allowPrivateNetworkFetches/)
    }
  })

  it('checks the rest of the logout metadata at registration', () => {
    const make = (web: Record<string, unknown>) => () => createAuthorizationServer({ issuer: ISSUER, clients: logoutClients({ web }), users: tinyUsers })
    expect(make({ backchannel_logout_uri: 'http://rp.example/bcl' })).toThrow(/backchannel_logout_uri: .*https/)
    expect(make({ backchannel_logout_uri: 'https://rp.example/bcl#x' })).toThrow(/backchannel_logout_uri: .*fragment/)
    expect(make({ backchannel_logout_uri: 'not a url' })).toThrow(/backchannel_logout_uri/)
    expect(make({ backchannel_logout_session_required: 'yes' })).toThrow(/backchannel_logout_session_required: must be a boolean/)
    expect(make({ post_logout_redirect_uris: 'https://a.example/' })).toThrow(/post_logout_redirect_uris: must be an array/)
    expect(make({ post_logout_redirect_uris: ['http://rp.example/bye'] })).toThrow(/post_logout_redirect_uris\[0\]: .*http on a non-loopback host/)
    expect(make({ post_logout_redirect_uris: ['https://rp.example/bye#top'] })).toThrow(/post_logout_redirect_uris\[0\]: .*fragment/)
    expect(make({ backchannel_logout_uri: 'https://rp.example/bcl', backchannel_logout_session_required: true })).not.toThrow()
  })

  it('never contacts a name that resolves to a private address while the option is off', async () => {
    const { LogoutDeliveries } = await import('../../src/logout/delivery.js')
    const rp = await startRp()
    open.push(rp.close)
    const events: GrantkitEventData[] = []
    const port = new URL(rp.url).port
    const queue = new LogoutDeliveries({
      timeoutMs: 1000,
      maxAttempts: 3,
      retryDelayMs: 1,
      allowPrivate: false,
      emit: (e) => events.push(e),
      resolver: async () => [{ address: '127.0.0.1', family: 4 }],
    })
    queue.start({ clientId: 'web', uri: `https://rp.example:${port}/backchannel`, token: 'x.y.z', sid: 's' })
    await queue.idle()
    expect(rp.received).toEqual([])
    expect(rp.rejected).toEqual([])
    expect(events).toMatchObject([{ type: 'logout.delivery.failed', clientId: 'web', sid: 's', attempts: 1, reason: 'private_address' }])
  })
})
