/**
 * Issue 12, the grantkit/client items: a finished flow is finished (in every
 * token store), one error for "connect again", userinfo's sub check, the ID
 * token's typ, and a response cap that holds while the body streams.
 */
import type { ServerResponse } from 'node:http'
import type { Redis } from 'ioredis'
import type pg from 'pg'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  createMemoryTokenStore,
  createOAuthClient,
  createPostgresTokenStore,
  createRedisTokenStore,
  genericOidc,
  migratePostgresTokenStore,
  ProtocolError,
  ProviderError,
  TokenCipher,
  TokenUnavailableError,
  type EncryptionOptions,
  type OAuthClient,
  type PendingAuthorization,
  type TokenSet,
  type TokenStore,
} from '../../src/oauth-client/index.js'
import { startFakeProvider, type FakeProvider } from './fake-provider.js'
import { encryption, listen, REDIRECT_URI } from './harness.js'
import { clearPrefix, newPool, newRedis, postgres, redis, uniqueName } from './services.js'

let fake: FakeProvider
let keys: EncryptionOptions

beforeAll(async () => {
  fake = await startFakeProvider()
})
afterAll(async () => {
  await fake?.close()
})
beforeEach(() => {
  fake.metadata = {}
  fake.requests.length = 0
  fake.hits.length = 0
  fake.userinfo = () => ({ status: 500, body: 'no answer configured' })
  keys = encryption()
})

function clientOver(store: TokenStore, deps: { now?: () => number } = {}): OAuthClient {
  return createOAuthClient({
    providers: [genericOidc({ id: 'fake', issuer: fake.issuer, clientId: 'app', clientSecret: 'app-secret', redirectUri: REDIRECT_URI, scopes: ['openid', 'api'] })],
    store,
    encryption: keys,
    deps: { sleep: async () => undefined, ...deps },
  })
}

function callback(params: Record<string, string>): string {
  return `${REDIRECT_URI}?${new URLSearchParams(params)}`
}

/** A token endpoint that redeems each code once, for the account the code names (`code-for-<sub>`). */
function honestTokenEndpoint(pending: PendingAuthorization): void {
  let n = 0
  const redeemed = new Set<string>()
  fake.token = async (params) => {
    const code = params.get('code')!
    if (redeemed.has(code)) return { status: 400, body: { error: 'invalid_grant', error_description: 'code already used' } }
    redeemed.add(code)
    n++
    const sub = code.replace(/^code-for-/, '')
    return { body: { access_token: `at-${sub}-${n}`, token_type: 'Bearer', expires_in: 3600, refresh_token: `rt-${n}`, id_token: await fake.idToken({ sub, nonce: pending.nonce }) } }
  }
}

const tokenRequests = () => fake.requests.filter((r) => r.path === '/token')

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (e: unknown) => e,
  )
}

interface Backend {
  name: string
  available: boolean
  mustFail: boolean
  message: string
  /** Two stores over the same data, as two processes would have. */
  open(): Promise<[TokenStore, TokenStore]>
  close(): Promise<void>
}

const pools: pg.Pool[] = []
const redises: Redis[] = []
const table = uniqueName('gk_client_i12')
const prefix = `${uniqueName('gk_i12')}:`

const backends: Backend[] = [
  {
    name: 'memory',
    available: true,
    mustFail: false,
    message: '',
    async open() {
      const store = createMemoryTokenStore()
      return [store, store]
    },
    async close() {},
  },
  {
    name: 'postgres',
    ...postgres,
    async open() {
      const a = newPool()
      const b = newPool()
      pools.push(a, b)
      await migratePostgresTokenStore(a, { table })
      return [createPostgresTokenStore(a, { table }), createPostgresTokenStore(b, { table })]
    },
    async close() {
      await pools[0]?.query(`DROP TABLE IF EXISTS ${table}`)
      await pools[0]?.query(`DROP TABLE IF EXISTS ${table}_used`)
      await Promise.all(pools.map((p) => p.end()))
    },
  },
  {
    name: 'redis',
    ...redis,
    async open() {
      const a = newRedis()
      const b = newRedis()
      redises.push(a, b)
      await Promise.all([a.connect(), b.connect()])
      return [createRedisTokenStore(a, { prefix }), createRedisTokenStore(b, { prefix })]
    },
    async close() {
      if (redises[0] !== undefined) await clearPrefix(redises[0], prefix)
      redises.forEach((r) => r.disconnect())
    },
  },
]

describe.each(backends)('a finished flow is finished ($name store)', (backend) => {
  it.runIf(backend.mustFail)(`${backend.name} must be reachable when CI=true`, () => {
    throw new Error(backend.message)
  })

  describe.skipIf(!backend.available)('completeAuthorization', () => {
    let store: TokenStore
    let twin: TokenStore
    beforeAll(async () => {
      ;[store, twin] = await backend.open()
    })
    afterAll(() => backend.close())

    it('refuses the same callback a second time with flow_reused, before any request to the provider', async () => {
      const client = clientOver(store)
      const { pending } = await client.startAuthorization('fake', { subject: 'alice' })
      honestTokenEndpoint(pending)
      const url = callback({ code: 'code-for-alice', state: pending.state, iss: fake.issuer })
      await client.completeAuthorization(url, pending)
      const hitsBefore = fake.hits.length
      const error = await failure(client.completeAuthorization(url, { ...pending }))
      expect(error).toBeInstanceOf(ProtocolError)
      expect(error).toMatchObject({ code: 'flow_reused' })
      expect(fake.hits.length - hitsBefore).toBe(0)
      expect(tokenRequests()).toHaveLength(1)
      expect(await client.getAccessToken('fake', 'alice')).toBe('at-alice-1')
    })

    it('refuses a new code for a finished flow’s state, in another process too, and leaves the stored tokens as they were', async () => {
      const client = clientOver(store)
      const other = clientOver(twin)
      const { pending } = await client.startAuthorization('fake', { subject: 'victim' })
      honestTokenEndpoint(pending)
      await client.completeAuthorization(callback({ code: 'code-for-victim', state: pending.state, iss: fake.issuer }), pending)
      const stored = (await client.getTokens('fake', 'victim'))!
      // Whoever learned the state brings in a code for their own account.
      const planted = callback({ code: 'code-for-mallory', state: pending.state, iss: fake.issuer })
      for (const c of [client, other]) {
        const error = await failure(c.completeAuthorization(planted, pending))
        expect(error).toBeInstanceOf(ProtocolError)
        expect(error).toMatchObject({ code: 'flow_reused' })
      }
      expect(tokenRequests().map((r) => r.params.get('code'))).toEqual(['code-for-victim'])
      expect(await client.getTokens('fake', 'victim')).toEqual(stored)
      expect(stored.claims).toMatchObject({ sub: 'victim' })
    })

    it('lets exactly one of concurrent completions of one flow, across two processes, redeem the code', async () => {
      const a = clientOver(store)
      const b = clientOver(twin)
      await Promise.all([a.metadata('fake'), b.metadata('fake')])
      const { pending } = await a.startAuthorization('fake', { subject: 'carol' })
      honestTokenEndpoint(pending)
      const url = callback({ code: 'code-for-carol', state: pending.state, iss: fake.issuer })
      const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).completeAuthorization(url, pending)))
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
      for (const r of results.filter((r) => r.status === 'rejected')) expect(r.reason).toMatchObject({ name: 'ProtocolError', code: 'flow_reused' })
      expect(tokenRequests()).toHaveLength(1)
    })

    it('polls a device authorization once: a second call is refused before any request', async () => {
      const client = clientOver(store)
      const other = clientOver(twin)
      fake.device = () => ({ body: { device_code: `dc-${Math.random()}`, user_code: 'U', verification_uri: `${fake.issuer}/verify`, expires_in: 600, interval: 1 } })
      fake.token = () => ({ body: { access_token: 'dev-at', token_type: 'Bearer', expires_in: 60 } })
      const device = await client.startDeviceAuthorization('fake')
      await client.completeDeviceAuthorization(device, { subject: 'dana' })
      const hitsBefore = fake.hits.length
      for (const c of [client, other]) {
        const error = await failure(c.completeDeviceAuthorization(device, { subject: 'eve' }))
        expect(error).toMatchObject({ name: 'ProtocolError', code: 'flow_reused' })
      }
      expect(fake.hits.filter((h) => h.path === '/token')).toHaveLength(1)
      expect(fake.hits.slice(hitsBefore).filter((h) => h.path !== '/.well-known/openid-configuration')).toEqual([])
      expect(await client.getTokens('fake', 'eve')).toBeNull()
    })
  })
})

describe('pending authorizations expire', () => {
  it('refuses a callback after authorizationTtl with flow_expired, and a pending without expiresAt', async () => {
    let clock = 1_800_000_000
    const client = clientOver(createMemoryTokenStore(), { now: () => clock })
    const { pending } = await client.startAuthorization('fake', { subject: 'alice' })
    expect(pending.expiresAt).toBe(clock + 900)
    honestTokenEndpoint(pending)
    clock += 901
    const url = callback({ code: 'code-for-alice', state: pending.state, iss: fake.issuer })
    await expect(client.completeAuthorization(url, pending)).rejects.toMatchObject({ name: 'ProtocolError', code: 'flow_expired' })
    const { expiresAt: _dropped, ...legacy } = pending
    await expect(client.completeAuthorization(url, legacy as PendingAuthorization)).rejects.toMatchObject({ code: 'flow_expired' })
    expect(tokenRequests()).toHaveLength(0)
  })
})

describe('one error for "connect again"', () => {
  let store: TokenStore
  let client: OAuthClient
  const now = () => Math.floor(Date.now() / 1000)

  beforeEach(async () => {
    store = createMemoryTokenStore()
    client = clientOver(store)
    const expired: TokenSet = { accessToken: 'at-0', tokenType: 'Bearer', refreshToken: 'rt-0', obtainedAt: now() - 3600, expiresAt: now() - 10, claims: { sub: 'alice' } }
    await store.put('fake', 'alice', new TokenCipher(keys).seal('fake', 'alice', expired))
    fake.token = async () => {
      await new Promise((r) => setTimeout(r, 100))
      return { status: 400, body: { error: 'invalid_grant', error_description: 'refresh token revoked' } }
    }
  })

  it('gives the first caller TokenUnavailableError with the provider’s answer as cause', async () => {
    const error = await failure(client.getAccessToken('fake', 'alice'))
    expect(error).toBeInstanceOf(TokenUnavailableError)
    expect(error).toMatchObject({ reason: 'refresh_refused', provider: 'fake', subject: 'alice' })
    const cause = (error as Error).cause
    expect(cause).toBeInstanceOf(ProviderError)
    expect(cause).toMatchObject({ error: 'invalid_grant', errorDescription: 'refresh token revoked', status: 400 })
    expect(await store.get('fake', 'alice')).toBeNull()
  })

  it('gives every caller sharing the refresh the same error, after one request', async () => {
    const errors = await Promise.all([
      failure(client.getAccessToken('fake', 'alice')),
      failure(client.getAccessToken('fake', 'alice')),
      failure(client.fetchWithToken('fake', 'alice', `${fake.issuer}/userinfo`)),
      failure(client.userinfo('fake', 'alice')),
    ])
    for (const error of errors) {
      expect(error).toBeInstanceOf(TokenUnavailableError)
      expect(error).toMatchObject({ reason: 'refresh_refused' })
    }
    expect(tokenRequests()).toHaveLength(1)
  })

  it('gives later callers TokenUnavailableError too', async () => {
    await failure(client.getAccessToken('fake', 'alice'))
    for (const later of [client.getAccessToken('fake', 'alice'), client.fetchWithToken('fake', 'alice', `${fake.issuer}/userinfo`)]) {
      const error = await failure(later)
      expect(error).toBeInstanceOf(TokenUnavailableError)
      expect(error).toMatchObject({ reason: 'not_connected' })
    }
    expect(tokenRequests()).toHaveLength(1)
  })
})

describe('userinfo', () => {
  let client: OAuthClient

  async function connect(sub: string): Promise<void> {
    client = clientOver(createMemoryTokenStore())
    const { pending } = await client.startAuthorization('fake', { subject: 'local-user' })
    honestTokenEndpoint(pending)
    await client.completeAuthorization(callback({ code: `code-for-${sub}`, state: pending.state, iss: fake.issuer }), pending)
  }

  it('returns the claims when their sub is the ID token’s, sending the access token', async () => {
    await connect('alice')
    const seen: string[] = []
    fake.userinfo = (headers) => {
      seen.push(String(headers.authorization))
      return { body: { sub: 'alice', name: 'Alice' } }
    }
    expect(await client.userinfo('fake', 'local-user')).toEqual({ sub: 'alice', name: 'Alice' })
    expect(seen).toEqual(['Bearer at-alice-1'])
  })

  it.each([
    ['another sub', { sub: 'mallory', name: 'Mallory' }],
    ['no sub', { name: 'Nobody' }],
    ['a sub that is not a string', { sub: 42 }],
  ])('refuses a response with %s (OIDC Core §5.3.2)', async (_name, body) => {
    await connect('alice')
    fake.userinfo = () => ({ body })
    const error = await failure(client.userinfo('fake', 'local-user'))
    expect(error).toBeInstanceOf(ProtocolError)
    expect(error).toMatchObject({ code: 'userinfo_sub_mismatch' })
  })

  it('refreshes once on 401 invalid_token and asks again', async () => {
    await connect('alice')
    let calls = 0
    fake.userinfo = (headers) => {
      calls++
      return headers.authorization === 'Bearer at-new'
        ? { body: { sub: 'alice' } }
        : { status: 401, body: '', headers: { 'www-authenticate': 'Bearer error="invalid_token"' } }
    }
    fake.token = () => ({ body: { access_token: 'at-new', token_type: 'Bearer', expires_in: 3600 } })
    expect(await client.userinfo('fake', 'local-user')).toEqual({ sub: 'alice' })
    expect(calls).toBe(2)
  })

  it('refuses a signed (application/jwt) answer rather than reading it unchecked', async () => {
    await connect('alice')
    fake.userinfo = () => ({ body: 'eyJ.eyJ.sig', headers: { 'content-type': 'application/jwt' } })
    await expect(client.userinfo('fake', 'local-user')).rejects.toMatchObject({ name: 'ProtocolError', code: 'unexpected_response' })
  })
})

describe('ID token typ (RFC 8725 §3.11)', () => {
  async function complete(typ: string | undefined): Promise<unknown> {
    const store = createMemoryTokenStore()
    const client = clientOver(store)
    const { pending } = await client.startAuthorization('fake', { subject: 'alice' })
    fake.token = async () => ({
      body: { access_token: 'at', token_type: 'Bearer', expires_in: 3600, id_token: await fake.idToken({ nonce: pending.nonce }, typ === undefined ? {} : { typ }) },
    })
    const error = await failure(client.completeAuthorization(callback({ code: 'c', state: pending.state, iss: fake.issuer }), pending))
    if (error === undefined) expect(await store.get('fake', 'alice')).not.toBeNull()
    else expect(await store.get('fake', 'alice')).toBeNull()
    return error
  }

  it.each(['at+jwt', 'application/at+jwt', 'logout+jwt', 'JOSE'])('refuses an ID token typed %s', async (typ) => {
    const error = await complete(typ)
    expect(error).toBeInstanceOf(ProtocolError)
    expect(error).toMatchObject({ code: 'invalid_id_token' })
    expect((error as Error).message).toMatch(/typ/)
  })

  it.each([undefined, 'JWT', 'jwt', 'application/jwt', 'Application/JWT'])('accepts an ID token typed %s', async (typ) => {
    expect(await complete(typ)).toBeUndefined()
  })
})

describe('a response larger than the cap', () => {
  const CAP = 1 << 20

  /** A provider whose token endpoint (or discovery, or any path) sends 16 KiB every 5 ms, forever, until the connection closes. */
  async function endlessProvider(where: 'token' | 'discovery' | 'any', declareLength?: number) {
    const http = await listen()
    const seen = { written: 0, closedAfterMs: -1, started: 0 }
    const drip = (res: ServerResponse) => {
      seen.started = Date.now()
      res.writeHead(200, { 'content-type': 'application/json', ...(declareLength !== undefined && { 'content-length': String(declareLength) }) })
      res.write('{"access_token":"')
      const chunk = Buffer.alloc(16 * 1024, 'a')
      const timer = setInterval(() => {
        if (res.destroyed || res.writableEnded) return
        res.write(chunk)
        seen.written += chunk.length
      }, 5)
      res.on('close', () => {
        clearInterval(timer)
        seen.closedAfterMs = Date.now() - seen.started
      })
    }
    http.setHandler((req, res) => {
      const path = new URL(req.url ?? '/', http.url).pathname
      if (path === '/.well-known/openid-configuration' && where === 'token') {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ issuer: http.url, authorization_endpoint: `${http.url}/authorize`, token_endpoint: `${http.url}/token`, jwks_uri: `${http.url}/jwks` }))
        return
      }
      req.resume()
      drip(res)
    })
    const client = createOAuthClient({
      providers: [genericOidc({ id: 'endless', issuer: http.url, clientId: 'app', clientSecret: 'app-secret' })],
      encryption: encryption(),
      timeout: 8,
      leaseTtl: 20,
    })
    return { http, seen, client }
  }

  async function waitFor(check: () => boolean, ms: number): Promise<void> {
    const until = Date.now() + ms
    while (!check() && Date.now() < until) await new Promise((r) => setTimeout(r, 10))
  }

  it.each(['token', 'discovery'] as const)('aborts a %s response that streams forever once the cap is passed, and closes the connection', async (where) => {
    const { http, seen, client } = await endlessProvider(where)
    try {
      const started = Date.now()
      const error = await failure(where === 'token' ? client.clientCredentials('endless') : client.metadata('endless'))
      const tookMs = Date.now() - started
      expect(error).toBeInstanceOf(ProtocolError)
      expect((error as Error).message).toMatch(/larger than/)
      // 1 MiB at about 3 MB/s: well under the 8 s timeout.
      expect(tookMs).toBeLessThan(3000)
      await waitFor(() => seen.closedAfterMs >= 0, 2000)
      expect(seen.closedAfterMs).toBeGreaterThanOrEqual(0)
      expect(seen.closedAfterMs).toBeLessThan(3000)
      // What the server got to write is the cap plus what sockets buffer, not the endless rest.
      expect(seen.written).toBeGreaterThan(CAP / 2)
      expect(seen.written).toBeLessThan(4 * CAP)
    } finally {
      await http.close()
    }
  })

  it('aborts a JWKS that streams forever (jose reads it through the capped fetch)', async () => {
    const { http, seen } = await endlessProvider('any')
    try {
      const client = clientOver(createMemoryTokenStore())
      fake.metadata = { jwks_uri: `${http.url}/jwks` }
      const { pending } = await client.startAuthorization('fake', { subject: 'alice' })
      honestTokenEndpoint(pending)
      const started = Date.now()
      const error = await failure(client.completeAuthorization(callback({ code: 'code-for-alice', state: pending.state, iss: fake.issuer }), pending))
      expect(error).toMatchObject({ name: 'ProtocolError', code: 'invalid_id_token' })
      expect(Date.now() - started).toBeLessThan(3000)
      await waitFor(() => seen.closedAfterMs >= 0, 2000)
      expect(seen.closedAfterMs).toBeGreaterThanOrEqual(0)
      expect(seen.written).toBeLessThan(4 * CAP)
    } finally {
      await http.close()
    }
  })

  it('refuses a content-length over the cap without reading the body', async () => {
    const { http, seen, client } = await endlessProvider('token', 50 * CAP)
    try {
      const error = await failure(client.clientCredentials('endless'))
      expect(error).toMatchObject({ name: 'ProtocolError', code: 'unexpected_response' })
      await waitFor(() => seen.closedAfterMs >= 0, 2000)
      expect(seen.closedAfterMs).toBeLessThan(1000)
      expect(seen.written).toBeLessThan(CAP)
    } finally {
      await http.close()
    }
  })
})
