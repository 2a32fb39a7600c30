import { describe, expect, it, vi } from 'vitest'
import type { AuthorizationServerOptions, GrantkitEvent, GrantkitRequest, GrantkitResponse } from '../../src/index.js'
import { basic, json, makeServer, sansRequestId, tokenRequest } from '../helpers.js'
import { defaultUsers } from '../users/fixtures.js'

const passwordClients = [
  { client_id: 'app', client_secret: 'app-secret', grant_types: ['password', 'refresh_token'], scope: 'api:read api:write' },
  { client_id: 'cc', client_secret: 'cc-secret', grant_types: ['client_credentials'], scope: 'api:read' },
]
const APP = { authorization: basic('app', 'app-secret') }

function setup(extra: Partial<AuthorizationServerOptions> = {}) {
  const users = defaultUsers()
  const { server, clock } = makeServer({ clients: passwordClients, users, ...extra })
  const events: GrantkitEvent[] = []
  server.on('*', (e) => events.push(e))
  const login = (username: string, password: string, more: Record<string, string> = {}, headers: Record<string, string> = APP): Promise<GrantkitResponse> =>
    server.handle(tokenRequest({ grant_type: 'password', username, password, ...more }, headers))
  return { server, clock, users, events, login }
}

const THROTTLE = { passwordGrant: { maxFailures: 3, failureWindow: 600 } }

describe('password grant (RFC 6749 §4.3)', () => {
  it('issues tokens for the right username and password', async () => {
    const { login } = setup()
    const res = await login('alice', 'wonderland', { scope: 'api:read' })
    expect(res.status).toBe(200)
    expect(json(res)).toMatchObject({ token_type: 'Bearer', scope: 'api:read' })
  })

  it('refuses a client not registered for the password grant with unauthorized_client, without checking the password', async () => {
    const { login, users } = setup()
    const res = await login('alice', 'wonderland', {}, { authorization: basic('cc', 'cc-secret') })
    expect(res.status).toBe(400)
    expect(json(res).error).toBe('unauthorized_client')
    expect(users.verifyPassword).not.toHaveBeenCalled()
  })

  it('answers a wrong password and an unknown username with identical invalid_grant responses', async () => {
    const { login } = setup()
    const wrongPassword = await login('alice', 'not-her-password')
    const unknownUser = await login('mallory', 'not-her-password')
    expect(wrongPassword.status).toBe(400)
    expect(json(wrongPassword).error).toBe('invalid_grant')
    expect(sansRequestId(unknownUser)).toEqual(sansRequestId(wrongPassword))
  })

  it('checks a password exactly once whether or not the username exists, so both take as long', async () => {
    const { login, users } = setup()
    await login('alice', 'not-her-password')
    expect(users.verifyPassword).toHaveBeenCalledTimes(1)
    expect(users.verifyPassword).toHaveBeenLastCalledWith({ sub: 'alice', username: 'alice' }, 'not-her-password')
    users.verifyPassword.mockClear()
    await login('mallory', 'not-her-password')
    expect(users.verifyPassword).toHaveBeenCalledTimes(1)
    expect(users.verifyPassword).toHaveBeenLastCalledWith(undefined, 'not-her-password')
  })

  it.each([
    ['username', { grant_type: 'password', password: 'wonderland' }],
    ['password', { grant_type: 'password', username: 'alice' }],
    ['both', { grant_type: 'password' }],
  ])('answers a request missing %s with invalid_request', async (_, params) => {
    const { server, users } = setup()
    const res = await server.handle(tokenRequest(params, APP))
    expect(res.status).toBe(400)
    expect(json(res).error).toBe('invalid_request')
    expect(users.verifyPassword).not.toHaveBeenCalled()
  })

  it('rejects a scope the client is not registered for with invalid_scope', async () => {
    const { login, users } = setup()
    const res = await login('alice', 'wonderland', { scope: 'api:read admin' })
    expect(res.status).toBe(400)
    expect(json(res).error).toBe('invalid_scope')
    expect(users.verifyPassword).not.toHaveBeenCalled()
  })

  it('rejects a scope the server does not know with invalid_scope', async () => {
    const { login } = setup({ scopes: ['api:read'], clients: [{ client_id: 'app', client_secret: 'app-secret', grant_types: ['password'], scope: 'api:read' }] })
    const res = await login('alice', 'wonderland', { scope: 'api:write' })
    expect(json(res).error).toBe('invalid_scope')
  })

  it('grants the client default scope when scope is omitted', async () => {
    const { login } = setup()
    expect(json(await login('alice', 'wonderland')).scope).toBe('api:read api:write')
  })
})

describe('password grant: brute-force protection (RFC 6749 §4.3.2, RFC 9700 §2.4)', () => {
  it('makes the attempt right after passwordGrant.maxFailures failures wait, refusing even the right password', async () => {
    const { login } = setup(THROTTLE)
    const failures = []
    for (let i = 0; i < 3; i++) failures.push(await login('alice', `guess-${i}`))
    const locked = await login('alice', 'wonderland')
    expect(locked.status).toBe(400)
    expect(json(locked).error).toBe('invalid_grant')
    // A locked username looks like a wrong password: nothing to tell the attacker the lock exists.
    expect(sansRequestId(locked)).toEqual(sansRequestId(failures[0]!))
  })

  it("emits user.authentication.failed with reason 'throttled' once the username is locked", async () => {
    const { login, events } = setup(THROTTLE)
    for (let i = 0; i < 3; i++) await login('alice', `guess-${i}`)
    await login('alice', 'wonderland')
    const failed = events.filter((e) => e.type === 'user.authentication.failed')
    expect(failed.map((e) => (e as { reason: string }).reason)).toEqual(['bad_credentials', 'bad_credentials', 'bad_credentials', 'throttled'])
    expect(failed[3]).toMatchObject({ username: 'alice', clientId: 'app' })
  })

  it('puts no password in any event', async () => {
    const { login, events } = setup(THROTTLE)
    for (let i = 0; i < 3; i++) await login('alice', `guess-${i}-secret`)
    await login('alice', 'wonderland')
    await login('mallory', 'mallory-secret')
    expect(events.length).toBeGreaterThan(0)
    const text = JSON.stringify(events)
    for (const secret of ['guess-0-secret', 'guess-1-secret', 'guess-2-secret', 'wonderland', 'mallory-secret']) expect(text).not.toContain(secret)
  })

  it('locks an unknown username the same way, so a lock reveals nothing about who exists', async () => {
    const { login, events } = setup(THROTTLE)
    for (let i = 0; i < 4; i++) await login('mallory', `guess-${i}`)
    const last = events.filter((e) => e.type === 'user.authentication.failed').pop()
    expect(last).toMatchObject({ username: 'mallory', reason: 'throttled' })
  })

  it('counts failures per username: locking one leaves the others alone', async () => {
    const { login } = setup(THROTTLE)
    for (let i = 0; i < 4; i++) await login('alice', `guess-${i}`)
    expect((await login('bob', 'builder')).status).toBe(200)
  })

  it('lets the right password through once passwordGrant.failureWindow has passed', async () => {
    const { login, clock } = setup(THROTTLE)
    for (let i = 0; i < 3; i++) await login('alice', `guess-${i}`)
    expect((await login('alice', 'wonderland')).status).toBe(400)
    clock.advance(600)
    expect((await login('alice', 'wonderland')).status).toBe(200)
  })

  it('makes each attempt past maxFailures wait a growing delay, measured from the last attempt let through', async () => {
    const { login, clock, users } = setup(THROTTLE)
    // Attempts 1–3 are free; the third closes the gate for 1 s.
    for (let i = 0; i < 3; i++) expect(json(await login('alice', `guess-${i}`)).error).toBe('invalid_grant')
    expect((await login('alice', 'wonderland')).status).toBe(400)
    // 4 attempts counted, so the next one let through closes the gate for 2^(5-3) = 4 s.
    clock.advance(1)
    expect((await login('alice', 'guess-x')).status).toBe(400)
    const checks = users.verifyPassword.mock.calls.length
    clock.advance(3)
    expect((await login('alice', 'wonderland')).status).toBe(400)
    // Refused while waiting: no password was even checked.
    expect(users.verifyPassword.mock.calls.length).toBe(checks)
    clock.advance(1)
    expect((await login('alice', 'wonderland')).status).toBe(200)
  })
})

/** A user source that normalises usernames as many do for e-mail addresses: case and spaces do not matter. */
function foldingUsers() {
  const inner = defaultUsers()
  const fold = (u: string) => u.trim().toLowerCase()
  return { ...inner, findByUsername: vi.fn(async (u: string) => inner.findByUsername(fold(u))) }
}

const from = (address: string) => (req: GrantkitRequest): GrantkitRequest => ({ ...req, remoteAddress: address })

describe('password grant: throttling that cannot be aimed at a person (issue 12)', () => {
  function throttled(extra: Partial<AuthorizationServerOptions> = {}) {
    const users = foldingUsers()
    const h = { ...setup({ users, ...extra }), users }
    const loginFrom = (address: string, username: string, password: string): Promise<GrantkitResponse> =>
      h.server.handle(from(address)(tokenRequest({ grant_type: 'password', username, password }, APP)))
    return { ...h, loginFrom }
  }

  it('(a) counts attempts per account as the user source identifies it: spelling variants share one counter', async () => {
    const { login } = throttled(THROTTLE)
    for (let i = 0; i < 3; i++) await login('alice', `guess-${i}`)
    // Before issue 12, ALICE had a counter of its own and got in (or kept guessing).
    expect(json(await login('ALICE', 'wonderland')).error).toBe('invalid_grant')
    expect(json(await login(' Alice ', 'wonderland')).error).toBe('invalid_grant')
  })

  it('(a) counts an unknown username under its folded spelling, checking the password as for a known one', async () => {
    const { login, events, users } = throttled(THROTTLE)
    for (let i = 0; i < 3; i++) await login('mallory@example.com', `guess-${i}`)
    expect(users.verifyPassword).toHaveBeenCalledTimes(3)
    await login('MALLORY@example.com', 'guess-3')
    expect(events.filter((e) => e.type === 'user.authentication.failed').map((e) => (e as { reason: string }).reason)).toEqual([
      'bad_credentials',
      'bad_credentials',
      'bad_credentials',
      'throttled',
    ])
  })

  it('(a) treats another spelling alike for a known and an unknown username, even with a source that matches names exactly', async () => {
    // defaultUsers() knows "alice" only as spelt: "ALICE" is an unknown username there.
    const { login, events } = setup(THROTTLE)
    for (const [name, other] of [['alice', 'ALICE'], ['nobody', 'NOBODY']]) {
      for (let i = 0; i < 3; i++) await login(name!, `guess-${i}`)
      await login(other!, 'guess-x')
    }
    const reasons = events.filter((e) => e.type === 'user.authentication.failed').map((e) => (e as { reason: string }).reason)
    expect(reasons.slice(0, 4)).toEqual(reasons.slice(4))
    expect(reasons[3]).toBe('throttled')
  })

  it('(b) limits attempts per source address, on any accounts, and leaves other addresses alone', async () => {
    const { loginFrom, clock } = throttled({ passwordGrant: { maxAttemptsPerAddress: 3, addressWindow: 60 } })
    clock.set(1_800_000_000)
    for (const name of ['alice', 'carol', 'dave']) expect((await loginFrom('198.51.100.9', name, 'guess')).status).toBe(400)
    // Bob's own right password from that address waits for the address's window to end …
    expect(json(await loginFrom('198.51.100.9', 'bob', 'builder')).error).toBe('invalid_grant')
    // … but not from another address.
    expect((await loginFrom('198.51.100.10', 'bob', 'builder')).status).toBe(200)
    clock.advance(60)
    expect((await loginFrom('198.51.100.9', 'bob', 'builder')).status).toBe(200)
  })

  it('(c) slows guessing spread over many addresses to one check per maxDelay, and the owner gets in maxDelay after it stops', async () => {
    const { loginFrom, clock, users } = throttled({ passwordGrant: { maxFailures: 3, maxDelay: 60, failureWindow: 3600 } })
    // One guess a second for ten minutes, each from a new address.
    for (let t = 0; t < 600; t++) {
      await loginFrom(`10.0.${Math.floor(t / 250)}.${t % 250}`, 'alice', `guess-${t}`)
      clock.advance(1)
    }
    // 3 free checks, then the delay grows to 60 s within a minute: about one check a minute after that.
    expect(users.verifyPassword.mock.calls.length).toBeLessThanOrEqual(3 + 6 + 10)
    // No lockout: once the wait in progress ends, alice is in (before issue 12: locked for the whole failureWindow).
    clock.advance(60)
    expect((await loginFrom('192.0.2.1', 'alice', 'wonderland')).status).toBe(200)
  })

  it('(d) does not apply: the token endpoint has no browser, so a known-device cookie sent to it changes nothing', async () => {
    const { server } = throttled(THROTTLE)
    for (let i = 0; i < 3; i++) await server.handle(tokenRequest({ grant_type: 'password', username: 'alice', password: `guess-${i}` }, APP))
    const withCookie = tokenRequest({ grant_type: 'password', username: 'alice', password: 'wonderland' }, { ...APP, cookie: '__Host-grantkit_known_device=anything.at-all' })
    expect(json(await server.handle(withCookie)).error).toBe('invalid_grant')
  })
})
