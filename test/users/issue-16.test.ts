import { describe, expect, it } from 'vitest'
import { StaticUserSource, type AuthorizationServerOptions, type GrantkitEvent, type GrantkitResponse, type UserAccount } from '../../src/index.js'
import { hashPassword, parsePasswordHash } from '../../src/users/password.js'
import { authorizeRequest, Browser, ISSUER as PAGE_ISSUER, setup as pageSetup, uidOf, webParams } from '../authorize/fixtures.js'
import { basic, json, makeServer, tokenRequest } from '../helpers.js'
import { fakeUsers, legacyScryptHash, WEAK } from './fixtures.js'

/**
 * Issue 16: "logins that cost milliseconds". Argon2id instead of scrypt, old
 * hashes upgraded at the next successful login, and password checks bounded
 * so that a flood of logins is refused quickly instead of starving the token
 * endpoint.
 */

const clients = [
  { client_id: 'app', client_secret: 'app-secret', grant_types: ['password'], scope: 'api:read' },
  { client_id: 'svc', client_secret: 'svc-secret', grant_types: ['client_credentials'], scope: 'api:read' },
]
const APP = { authorization: basic('app', 'app-secret') }
const SVC = { authorization: basic('svc', 'svc-secret') }

function server(extra: Partial<AuthorizationServerOptions>) {
  const { server } = makeServer({ clients, ...extra })
  const events: GrantkitEvent[] = []
  server.on('*', (e) => events.push(e))
  const login = (username: string, password: string): Promise<GrantkitResponse> => server.handle(tokenRequest({ grant_type: 'password', username, password }, APP))
  const serviceToken = (): Promise<GrantkitResponse> => server.handle(tokenRequest({ grant_type: 'client_credentials' }, SVC))
  return { server, events, login, serviceToken }
}

/** A StaticUserSource whose stored hashes a test can read, to see an upgrade happen. */
class WatchedUsers extends StaticUserSource {
  readonly updates: Array<[string, string]> = []
  override async updatePasswordHash(sub: string, hash: string): Promise<void> {
    this.updates.push([sub, hash])
    return super.updatePasswordHash(sub, hash)
  }
}

describe('issue 16: old hashes are upgraded at the next successful login', () => {
  const hashing = { ...WEAK, allowWeak: true }

  it('re-hashes a scrypt hash of 0.1 with Argon2id at the configured cost after a successful login, and not after a failed one', async () => {
    const users = new WatchedUsers([{ username: 'alice', password_hash: legacyScryptHash('wonderland') }], { cost: WEAK, allowWeak: true })
    const { login, events } = server({ users, passwordHashing: hashing })
    expect((await login('alice', 'wrong')).status).toBe(400)
    expect(users.updates).toEqual([])
    expect((await login('alice', 'wonderland')).status).toBe(200)
    expect(users.updates).toHaveLength(1)
    const [sub, hash] = users.updates[0]!
    expect(sub).toBe('alice')
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=1024,t=1,p=1\$/)
    expect(events.filter((e) => e.type === 'user.password.upgraded')).toEqual([expect.objectContaining({ sub: 'alice' })])
    // Upgraded once: the next logins find a current hash.
    expect(await users.verifyPassword(await users.findByUsername('alice'), 'wonderland')).toBe(true)
    expect((await login('alice', 'wonderland')).status).toBe(200)
    expect(users.updates).toHaveLength(1)
  })

  it('re-hashes an Argon2id hash cheaper than passwordHashing', async () => {
    const dearer = { memoryCost: 2048, timeCost: 2, parallelism: 1 }
    const users = new WatchedUsers([{ username: 'alice', password_hash: hashPassword('wonderland', WEAK) }], { cost: dearer, allowWeak: true })
    const { login } = server({ users, passwordHashing: { ...dearer, allowWeak: true } })
    expect((await login('alice', 'wonderland')).status).toBe(200)
    expect(users.updates).toHaveLength(1)
    expect(parsePasswordHash(users.updates[0]![1])).toMatchObject({ kind: 'argon2id', cost: dearer })
  })

  it('lets the login succeed when storing the new hash fails, and reports it as a server.error event', async () => {
    const users = new StaticUserSource([{ username: 'alice', password_hash: legacyScryptHash('wonderland') }], { cost: WEAK, allowWeak: true })
    users.updatePasswordHash = async () => {
      throw new Error('database is read-only')
    }
    const { login, events } = server({ users, passwordHashing: hashing })
    expect((await login('alice', 'wonderland')).status).toBe(200)
    expect(events.find((e) => e.type === 'server.error')).toMatchObject({ endpoint: 'password-upgrade' })
  })

  it('never calls updatePasswordHash for a source that answers true (no verdict), nor asks a source without the hook', async () => {
    const plain = fakeUsers({ alice: { password: 'wonderland' } })
    const { login } = server({ users: plain })
    expect((await login('alice', 'wonderland')).status).toBe(200)
    const outdatedNoHook = { ...plain, verifyPassword: async (a: UserAccount | undefined, p: string) => ((await plain.verifyPassword(a, p)) ? ('outdated' as const) : false) }
    expect((await server({ users: outdatedNoHook }).login('alice', 'wonderland')).status).toBe(200)
  })

  it('refuses a login when a source answers anything but true or outdated (a string, undefined)', async () => {
    for (const answer of ['valid', 'invalid', undefined, 1]) {
      const odd = { ...fakeUsers({ alice: { password: 'wonderland' } }), verifyPassword: async () => answer as unknown as boolean }
      expect(json(await server({ users: odd }).login('alice', 'wonderland')).error).toBe('invalid_grant')
    }
  })

  it('hashes the static users list with the passwordHashing cost, and refuses a cost below the minimum without allowWeak', () => {
    expect(() => makeServer({ users: [{ username: 'alice', password: 'x' }], passwordHashing: WEAK })).toThrow(/^passwordHashing: memoryCost 1024 KiB with timeCost 1 is below OWASP's Argon2id minimum/)
    expect(() => makeServer({ passwordHashing: { timeCost: 0 } })).toThrow(/^passwordHashing\.timeCost: must be a whole number >= 1/)
    expect(() => makeServer({ passwordHashing: { maxConcurrent: 0 } })).toThrow(/^passwordHashing\.maxConcurrent: must be a whole number >= 1/)
    expect(() => makeServer({ passwordHashing: { maxQueued: -1 } })).toThrow(/^passwordHashing\.maxQueued: must be a whole number >= 0/)
    expect(() => makeServer({ passwordHashing: { queueTimeout: 0 } })).toThrow(/^passwordHashing\.queueTimeout: must be a positive number of seconds/)
    expect(() => makeServer({ passwordHashing: { memoryCost: 300_000 } })).toThrow(/^passwordHashing\.memoryCost: must be a whole number of KiB from 8 per lane to 262144/)
    const { server } = makeServer({ users: [{ username: 'alice', password: 'x' }], passwordHashing: { memoryCost: 1024, timeCost: 1, allowWeak: true } })
    expect(server).toBeDefined()
  })
})

/** A user source whose password checks finish only when the test says so: a slow hash, held. */
function heldUsers() {
  const inner = fakeUsers({ alice: { password: 'wonderland' } })
  const pending: Array<() => void> = []
  const users = {
    ...inner,
    verifyPassword: async (account: UserAccount | undefined, password: string) => {
      await new Promise<void>((resolve) => pending.push(resolve))
      return inner.verifyPassword(account, password)
    },
  }
  /** Lets every held check finish (after letting the event loop reach them). */
  const finishAll = async () => {
    await new Promise((r) => setTimeout(r, 5))
    for (const go of pending.splice(0)) go()
  }
  return { users, pending, finishAll }
}

describe('issue 16: concurrent password checks are bounded', () => {
  it('password grant: beyond the bound and its queue, a check is refused at once with 503 temporarily_unavailable and Retry-After', async () => {
    const held = heldUsers()
    const { login, serviceToken, events } = server({ users: held.users, passwordHashing: { maxConcurrent: 1, maxQueued: 1, queueTimeout: 30 } })
    const first = login('alice', 'wonderland')
    const queued = login('alice', 'wonderland')
    await new Promise((r) => setTimeout(r, 5))
    expect(held.pending).toHaveLength(1)
    // One running, one queued: the third is refused without waiting and without a password check.
    const refused = await login('mallory', 'guess')
    expect(refused.status).toBe(503)
    expect(refused.headers['retry-after']).toBe('1')
    expect(json(refused)).toMatchObject({ error: 'temporarily_unavailable' })
    expect(held.pending).toHaveLength(1)
    expect(events.find((e) => e.type === 'user.authentication.failed')).toMatchObject({ username: 'mallory', reason: 'busy' })
    // Token requests that check no password are not held up by the login in progress.
    expect((await serviceToken()).status).toBe(200)
    await held.finishAll()
    await held.finishAll()
    expect((await first).status).toBe(200)
    expect((await queued).status).toBe(200)
  })

  it('an unknown username takes a slot like a known one (its dummy check is bounded the same way)', async () => {
    const held = heldUsers()
    const { login } = server({ users: held.users, passwordHashing: { maxConcurrent: 1, maxQueued: 0 } })
    const first = login('nobody', 'guess')
    await new Promise((r) => setTimeout(r, 5))
    expect((await login('alice', 'wonderland')).status).toBe(503)
    await held.finishAll()
    expect(json(await first).error).toBe('invalid_grant')
  })

  it('a refused check spends none of the account’s attempts, so a flood cannot throttle its owner', async () => {
    const held = heldUsers()
    const { login } = server({ users: held.users, passwordHashing: { maxConcurrent: 1, maxQueued: 0 }, passwordGrant: { maxFailures: 1 } })
    const first = login('mallory', 'guess')
    await new Promise((r) => setTimeout(r, 5))
    for (let i = 0; i < 5; i++) expect((await login('alice', 'flood')).status).toBe(503)
    await held.finishAll()
    await first
    // With maxFailures 1, one counted attempt would already make the next one wait.
    const owner = login('alice', 'wonderland')
    await held.finishAll()
    expect((await owner).status).toBe(200)
  })

  it('a check waiting longer than queueTimeout is refused with 503', async () => {
    const held = heldUsers()
    const { login } = server({ users: held.users, passwordHashing: { maxConcurrent: 1, maxQueued: 4, queueTimeout: 0.05 } })
    const first = login('alice', 'wonderland')
    const waited = await login('alice', 'wonderland')
    expect(waited.status).toBe(503)
    await held.finishAll()
    expect((await first).status).toBe(200)
  })

  it('login page: beyond the bound it answers 503 with Retry-After and keeps the form, with the username typed', async () => {
    const held = heldUsers()
    const h = pageSetup({ users: held.users, passwordHashing: { maxConcurrent: 1, maxQueued: 0 } })
    const post = async (browser: Browser, username: string, password: string) => {
      const uid = uidOf(browser.absorb(await h.server.authorize(authorizeRequest(webParams()))))
      const page = await h.server.handle({ method: 'GET', url: new URL(`${PAGE_ISSUER}/interaction/${uid}`), headers: { cookie: browser.cookie } })
      const csrf = /name="csrf" value="([^"]+)"/.exec(page.body ?? '')![1]!
      return h.server.handle({
        method: 'POST',
        url: new URL(`${PAGE_ISSUER}/interaction/${uid}/login`),
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(browser.cookie !== '' && { cookie: browser.cookie }) },
        body: new URLSearchParams({ csrf, username, password }).toString(),
      })
    }
    const first = post(new Browser(), 'alice', 'wonderland')
    await new Promise((r) => setTimeout(r, 5))
    const busy = await post(new Browser(), 'alice', 'wonderland')
    expect(busy.status).toBe(503)
    expect(busy.headers['retry-after']).toBe('1')
    expect(busy.body).toContain('Too many people are signing in right now')
    expect(busy.body).toMatch(/<input type="text" id="username" name="username" value="alice"/)
    expect(busy.body).toContain('name="password"')
    await held.finishAll()
    expect((await first).status).toBe(303)
  })
})
