import { describe, expect, it } from 'vitest'
import type { AuthorizationServerOptions, GrantkitEvent, GrantkitResponse } from '../../src/index.js'
import { basic, json, makeServer, tokenRequest } from '../helpers.js'
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
    expect(unknownUser).toEqual(wrongPassword)
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
  it('locks a username after passwordGrant.maxFailures failures, refusing even the right password', async () => {
    const { login } = setup(THROTTLE)
    const failures = []
    for (let i = 0; i < 3; i++) failures.push(await login('alice', `guess-${i}`))
    const locked = await login('alice', 'wonderland')
    expect(locked.status).toBe(400)
    expect(json(locked).error).toBe('invalid_grant')
    // A locked username looks like a wrong password: nothing to tell the attacker the lock exists.
    expect(locked).toEqual(failures[0])
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

  it('lifts the lock once passwordGrant.failureWindow has passed', async () => {
    const { login, clock } = setup(THROTTLE)
    for (let i = 0; i < 3; i++) await login('alice', `guess-${i}`)
    expect((await login('alice', 'wonderland')).status).toBe(400)
    clock.advance(600)
    expect((await login('alice', 'wonderland')).status).toBe(200)
  })

  it('keeps a username locked for the failure window even when the failures fall just before a window boundary', async () => {
    const { login, clock } = setup(THROTTLE)
    // 1_800_000_000 is a multiple of 600: move to 10 s before the next multiple.
    clock.set(1_800_000_000 + 590)
    for (let i = 0; i < 3; i++) await login('alice', `guess-${i}`)
    clock.advance(20)
    // 3 failures 20 s ago, well within the 600 s window: still locked.
    const res = await login('alice', 'wonderland')
    expect(res.status).toBe(400)
    expect(json(res).error).toBe('invalid_grant')
  })
})
