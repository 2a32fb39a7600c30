import { afterEach, describe, expect, it } from 'vitest'
import { createResourceProtector, type RemoteIntrospectionOptions } from '../../src/resource/protector.js'
import type { AuthorizationServer } from '../../src/index.js'
import { json } from '../helpers.js'
import { challenge, fetchSpy, issue, makeAs, revoke, RS_AUTH, serveAs, withHeader, type Clock } from './fixtures.js'

const ENDPOINT = 'https://as.example/introspect'

/** A fetch that hands the request to the server in this process, as its introspection endpoint would get it over HTTP. */
function inProcess(server: AuthorizationServer): typeof fetch {
  return async (input, init) => {
    const headers: Record<string, string> = {}
    new Headers(init?.headers).forEach((v, k) => (headers[k] = v))
    const out = await server.handle({ method: init?.method ?? 'GET', url: new URL(String(input)), headers, body: String(init?.body ?? '') })
    return new Response(out.body ?? null, { status: out.status, headers: out.headers as Record<string, string> })
  }
}

function setup(options: Partial<RemoteIntrospectionOptions> = {}, as: Parameters<typeof makeAs>[0] = {}) {
  const { server, clock } = makeAs({ accessTokenFormat: 'opaque', ...as })
  const spy = fetchSpy(inProcess(server))
  const protector = createResourceProtector({
    introspection: { introspectionEndpoint: ENDPOINT, clientId: 'rs', clientSecret: 'rs-secret', ...options },
    fetch: spy,
    deps: { now: clock.now },
  })
  return { server, clock, spy, protector }
}

/** A protector whose introspection endpoint always gives `answer`. */
function answering(answer: Record<string, unknown>, clock: Clock) {
  const spy = fetchSpy(async () => Response.json(answer))
  const protector = createResourceProtector({ introspection: { introspectionEndpoint: ENDPOINT, clientId: 'rs', clientSecret: 'rs-secret' }, fetch: spy, deps: { now: clock.now } })
  return { protector, spy }
}

let closers: (() => Promise<void>)[] = []
afterEach(async () => {
  await Promise.all(closers.map((c) => c()))
  closers = []
})

describe('resource protector, remote introspection (RFC 7662)', () => {
  it('introspects with a POST form and client_secret_basic, and returns the token it describes', async () => {
    const { server, clock, spy, protector } = setup()
    const token = await issue(server, 'api:read api:write')
    const result = await protector.check(withHeader(token), ['api:read', 'api:write'])
    expect(result.ok).toBe(true)
    if (result.ok) expect(result.token).toMatchObject({ sub: 'svc', clientId: 'svc', scope: ['api:read', 'api:write'], exp: Math.floor(clock.now()) + 3600, aud: ['https://as.example'] })
    expect(spy.calls).toHaveLength(1)
    const { url, init } = spy.calls[0]!
    expect(url).toBe(ENDPOINT)
    expect(init?.method).toBe('POST')
    const headers = new Headers(init?.headers)
    expect(headers.get('authorization')).toBe(RS_AUTH)
    expect(headers.get('content-type')).toBe('application/x-www-form-urlencoded')
    expect(Object.fromEntries(new URLSearchParams(String(init?.body)))).toEqual({ token, token_type_hint: 'access_token' })
  })

  it('works against grantkit over real HTTP', async () => {
    const as = await serveAs({ accessTokenFormat: 'opaque' })
    closers.push(as.close)
    const protector = createResourceProtector({
      introspection: { introspectionEndpoint: `${as.origin}/introspect`, clientId: 'rs', clientSecret: 'rs-secret' },
      deps: { now: as.clock.now },
    })
    const token = await issue(as.server)
    expect((await protector.check(withHeader(token), ['api:read'])).ok).toBe(true)
    const bad = await protector.check(withHeader('not-a-token'))
    expect(bad.ok).toBe(false)
    if (!bad.ok) expect(challenge(bad.response)).toContain('error="invalid_token"')
  })

  it('answers repeated checks of one token from the cache until cacheSeconds pass', async () => {
    const { server, clock, spy, protector } = setup({ cacheSeconds: 30 })
    const token = await issue(server)
    for (let i = 0; i < 5; i++) expect((await protector.check(withHeader(token))).ok).toBe(true)
    expect(spy.calls).toHaveLength(1)
    clock.advance(29)
    expect((await protector.check(withHeader(token))).ok).toBe(true)
    expect(spy.calls).toHaveLength(1)
    clock.advance(1)
    expect((await protector.check(withHeader(token))).ok).toBe(true)
    expect(spy.calls).toHaveLength(2)
  })

  it('shares one request among concurrent checks of the same token', async () => {
    const { server, spy, protector } = setup()
    const token = await issue(server)
    const results = await Promise.all(Array.from({ length: 10 }, () => protector.check(withHeader(token))))
    expect(results.every((r) => r.ok)).toBe(true)
    expect(spy.calls).toHaveLength(1)
  })

  it('never keeps an answer past the token exp', async () => {
    const { server, clock, spy, protector } = setup({ cacheSeconds: 30 }, { ttl: { accessToken: 10 } })
    const token = await issue(server)
    expect((await protector.check(withHeader(token))).ok).toBe(true)
    clock.advance(9)
    expect((await protector.check(withHeader(token))).ok).toBe(true)
    expect(spy.calls).toHaveLength(1)
    clock.advance(1)
    const result = await protector.check(withHeader(token))
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.response.status).toBe(401)
    expect(spy.calls).toHaveLength(2)
  })

  it('refuses an active answer whose exp has passed', async () => {
    const { clock } = makeAs()
    const { protector } = answering({ active: true, sub: 'a', client_id: 'c', exp: Math.floor(clock.now()) }, clock)
    const result = await protector.check(withHeader('tok'))
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.response.status).toBe(401)
  })

  it('caches an inactive answer too, but for less time', async () => {
    const { clock, spy, protector } = setup({ cacheSeconds: 30, inactiveCacheSeconds: 5 })
    for (let i = 0; i < 3; i++) expect((await protector.check(withHeader('unknown-token'))).ok).toBe(false)
    expect(spy.calls).toHaveLength(1)
    clock.advance(5)
    expect((await protector.check(withHeader('unknown-token'))).ok).toBe(false)
    expect(spy.calls).toHaveLength(2)
  })

  it('sees a revocation once the cached answer has expired', async () => {
    const { server, clock, protector } = setup({ cacheSeconds: 30 })
    const token = await issue(server)
    expect((await protector.check(withHeader(token))).ok).toBe(true)
    await revoke(server, token)
    clock.advance(30)
    const result = await protector.check(withHeader(token))
    expect(result.ok).toBe(false)
    if (!result.ok) expect(challenge(result.response)).toContain('error="invalid_token"')
  })

  it('asks every time with cacheSeconds 0, so a revocation shows at once', async () => {
    const { server, spy, protector } = setup({ cacheSeconds: 0 })
    const token = await issue(server)
    expect((await protector.check(withHeader(token))).ok).toBe(true)
    await revoke(server, token)
    expect((await protector.check(withHeader(token))).ok).toBe(false)
    expect(spy.calls).toHaveLength(2)
  })

  it('bounds the cache: past cacheMaxEntries the oldest answer is dropped', async () => {
    const { server, spy, protector } = setup({ cacheMaxEntries: 2 })
    const [a, b, c] = [await issue(server), await issue(server), await issue(server)]
    for (const t of [a, b, c, c, b]) expect((await protector.check(withHeader(t))).ok).toBe(true)
    expect(spy.calls).toHaveLength(3)
    expect((await protector.check(withHeader(a))).ok).toBe(true)
    expect(spy.calls).toHaveLength(4)
  })

  it('checks required scopes and audience on the introspection answer', async () => {
    const { clock } = makeAs()
    const answer = { active: true, sub: 'alice', client_id: 'app', exp: Math.floor(clock.now()) + 60, scope: 'api:read', aud: 'https://api.example', token_type: 'Bearer' }
    const { protector } = answering(answer, clock)
    const scoped = await protector.check(withHeader('tok'), ['api:write'])
    expect(scoped.ok).toBe(false)
    if (!scoped.ok) expect(challenge(scoped.response)).toBe('Bearer realm="https://as.example", error="insufficient_scope", error_description="The access token lacks a required scope.", scope="api:write"')
    const other = createResourceProtector({ introspection: { introspectionEndpoint: ENDPOINT, clientId: 'rs', clientSecret: 'x' }, audience: 'https://other.example', fetch: async () => Response.json(answer), deps: { now: clock.now } })
    expect((await other.check(withHeader('tok'))).ok).toBe(false)
  })

  it.each([
    ['a refresh token', { token_type: 'refresh_token' }],
    ['a DPoP token', { token_type: 'DPoP' }],
    ['a token bound with cnf', { cnf: { 'x5t#S256': 'abc' } }],
    ['an answer without sub', { sub: undefined }],
    ['an answer without exp', { exp: undefined }],
  ])('rejects %s presented as a bearer access token', async (_, extra) => {
    const { clock } = makeAs()
    const { protector } = answering({ active: true, sub: 'alice', client_id: 'app', exp: Math.floor(clock.now()) + 60, ...extra }, clock)
    const result = await protector.check(withHeader('tok'))
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.response.status).toBe(401)
  })

  it.each([
    ['the network fails', () => Promise.reject(new TypeError('fetch failed'))],
    ['the endpoint refuses our credentials', async () => Response.json({ error: 'invalid_client' }, { status: 401 })],
    ['the endpoint is down', async () => new Response('bad gateway', { status: 502 })],
    ['the answer is not JSON', async () => new Response('<html>', { status: 200 })],
    ['the answer is not an object', async () => Response.json([true])],
  ])('answers 503 temporarily_unavailable when %s, and caches nothing', async (_, impl) => {
    const { server, clock } = makeAs({ accessTokenFormat: 'opaque' })
    const token = await issue(server)
    let broken = true
    const working = inProcess(server)
    const spy = fetchSpy((input, init) => (broken ? (impl as () => Promise<Response>)() : working(input, init)))
    const errors: unknown[] = []
    const protector = createResourceProtector({
      introspection: { introspectionEndpoint: ENDPOINT, clientId: 'rs', clientSecret: 'rs-secret' },
      fetch: spy,
      deps: { now: clock.now },
      onError: (e) => errors.push(e),
    })
    const result = await protector.check(withHeader(token))
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.response.status).toBe(503)
    expect(json(result.response)).toMatchObject({ error: 'temporarily_unavailable' })
    expect(result.response.headers['cache-control']).toBe('no-store')
    expect(result.response.headers['www-authenticate']).toBeUndefined()
    expect(errors).toHaveLength(1)
    broken = false
    expect((await protector.check(withHeader(token))).ok).toBe(true)
  })

  it('answers 503 when the endpoint does not answer in time', async () => {
    const { clock } = makeAs()
    const hang: typeof fetch = (_input, init) =>
      new Promise((_, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal!.reason)))
    const protector = createResourceProtector({ introspection: { introspectionEndpoint: ENDPOINT, clientId: 'rs', clientSecret: 'x', timeoutSeconds: 0.05 }, fetch: hang, deps: { now: clock.now } })
    const result = await protector.check(withHeader('tok'))
    expect(result.ok ? 200 : result.response.status).toBe(503)
  })
})
