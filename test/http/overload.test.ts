import { describe, expect, it } from 'vitest'
import { createAuthorizationServer, defaultFeatures, type Feature, type GrantkitEvent } from '../../src/index.js'
import { basic, clients, counterIds, fakeClock, ISSUER, json, tokenRequest } from '../helpers.js'

/** An endpoint whose answer waits until the test lets it go: a request held in flight. */
function holdFeature() {
  const waiting: Array<() => void> = []
  const feature: Feature = {
    name: 'hold',
    endpoints: [
      {
        name: 'hold',
        path: '/hold',
        methods: ['GET'],
        errors: 'json',
        handle: () => new Promise((resolve) => waiting.push(() => resolve({ status: 200, headers: {}, body: 'done' }))),
      },
      { name: 'boom', path: '/boom', methods: ['GET'], errors: 'json', handle: () => Promise.reject(new Error('boom')) },
      {
        name: 'syncBoom',
        path: '/sync-boom',
        methods: ['GET'],
        errors: 'json',
        handle: () => {
          throw new Error('sync boom')
        },
      },
    ],
  }
  return { feature, release: () => waiting.shift()?.() }
}

function setup(overload: Record<string, unknown>) {
  const hold = holdFeature()
  const server = createAuthorizationServer({
    issuer: ISSUER,
    clients: [...clients, { client_id: 'web', token_endpoint_auth_method: 'none', redirect_uris: ['https://app.example/cb'], grant_types: ['authorization_code'], response_types: ['code'], scope: 'openid' }],
    features: [...defaultFeatures, hold.feature],
    users: [{ username: 'alice', password: 'wonderland', claims: { sub: 'alice' } }],
    deps: { now: fakeClock().now, randomId: counterIds() },
    overload,
  })
  const events: GrantkitEvent[] = []
  server.on('request.shed', (e) => events.push(e))
  return { server, hold, events }
}

const get = (path: string) => ({ method: 'GET', url: new URL(ISSUER + path), headers: {} })
const ccRequest = () => tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('svc', 'svc-secret') })

describe('load shedding: requests in flight (issue 16)', () => {
  it('refuses a request past maxRequestsInFlight at once with 503 temporarily_unavailable and Retry-After', async () => {
    const { server, hold, events } = setup({ maxRequestsInFlight: 1, retryAfter: 3 })
    const first = server.handle(get('/hold'))
    const refused = await server.handle(ccRequest())
    expect(refused.status).toBe(503)
    expect(refused.headers['retry-after']).toBe('3')
    expect(refused.headers['cache-control']).toBe('no-store')
    expect(json(refused).error).toBe('temporarily_unavailable')
    expect(refused.headers['x-request-id']).toBeTruthy()
    expect(events).toMatchObject([{ type: 'request.shed', endpoint: 'token', reason: 'in_flight' }])
    hold.release()
    expect((await first).body).toBe('done')
    // The slot is free again once the held request is answered.
    const after = await server.handle(ccRequest())
    expect(after.status).toBe(200)
  })

  it('counts a request until its response is built, and frees the slot when the handler fails', async () => {
    const { server, hold } = setup({ maxRequestsInFlight: 2 })
    const a = server.handle(get('/hold'))
    const b = server.handle(get('/hold'))
    expect((await server.handle(ccRequest())).status).toBe(503)
    hold.release()
    await a
    expect((await server.handle(get('/boom'))).status).toBe(500)
    expect((await server.handle(get('/sync-boom'))).status).toBe(500)
    // Neither failure kept its slot: one held (b) plus one new fits in two.
    expect((await server.handle(ccRequest())).status).toBe(200)
    hold.release()
    await b
  })

  it('answers the authorization endpoint with the HTML error page, 503 and Retry-After, never a redirect', async () => {
    const { server, hold } = setup({ maxRequestsInFlight: 1 })
    const held = server.handle(get('/hold'))
    const res = await server.handle(get('/authorize?client_id=web&response_type=code&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=openid&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256'))
    expect(res.status).toBe(503)
    expect(res.headers['retry-after']).toBe('1')
    expect(res.headers['content-type']).toMatch(/^text\/html/)
    expect(res.headers.location).toBeUndefined()
    expect(res.body).toContain('temporarily_unavailable')
    hold.release()
    await held
  })

  it('never refuses discovery and JWKS, which clients need to find the server', async () => {
    const { server, hold, events } = setup({ maxRequestsInFlight: 1 })
    const held = server.handle(get('/hold'))
    expect((await server.handle(get('/.well-known/oauth-authorization-server'))).status).toBe(200)
    expect((await server.handle(get('/.well-known/openid-configuration'))).status).toBe(200)
    expect((await server.handle(get('/jwks'))).status).toBe(200)
    expect(events).toEqual([])
    hold.release()
    await held
  })

  it('keeps CORS headers on a refused cross-origin request, so a browser client can read the 503', async () => {
    const { server, hold } = setup({ maxRequestsInFlight: 1 })
    const held = server.handle(get('/hold'))
    const res = await server.handle({ ...ccRequest(), url: new URL(ISSUER + '/token'), headers: { ...ccRequest().headers, origin: ISSUER } })
    expect(res.status).toBe(503)
    expect(res.headers['access-control-allow-origin']).toBe(ISSUER)
    hold.release()
    await held
  })
})

describe('load shedding: the log line (issue 16)', () => {
  it('logs a refused request at warn with the reason, not as an error of the server', async () => {
    const lines: Array<{ level: string; obj: Record<string, unknown> }> = []
    const at = (level: string) => (obj: Record<string, unknown>) => void lines.push({ level, obj })
    const logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
    const hold = holdFeature()
    const server = createAuthorizationServer({ issuer: ISSUER, clients, features: [...defaultFeatures, hold.feature], logger, overload: { maxRequestsInFlight: 1 } })
    const held = server.handle(get('/hold'))
    expect((await server.handle(ccRequest())).status).toBe(503)
    expect(lines).toMatchObject([{ level: 'warn', obj: { endpoint: 'token', status: 503, error: 'temporarily_unavailable', reason: 'overloaded: in_flight' } }])
    hold.release()
    await held
  })
})

describe('load shedding: event-loop delay (issue 16)', () => {
  it('refuses requests while the injected delay exceeds maxEventLoopDelay, and admits them again once it falls', async () => {
    let delay = 0.8
    const { server, events } = setup({ maxEventLoopDelay: 0.5, eventLoopDelay: () => delay })
    const refused = await server.handle(ccRequest())
    expect(refused.status).toBe(503)
    expect(refused.headers['retry-after']).toBe('1')
    expect(json(refused).error).toBe('temporarily_unavailable')
    expect(events).toMatchObject([{ type: 'request.shed', endpoint: 'token', reason: 'event_loop_delay' }])
    // Discovery still answers while the loop lags.
    expect((await server.handle(get('/jwks'))).status).toBe(200)
    delay = 0.5
    expect((await server.handle(ccRequest())).status).toBe(200)
  })

  it('asks the delay source only while a delay bound is set', async () => {
    let asked = 0
    const { server } = setup({ maxRequestsInFlight: 10, eventLoopDelay: () => ++asked })
    expect((await server.handle(ccRequest())).status).toBe(200)
    expect(asked).toBe(0)
  })
})

describe('overload options', () => {
  const make = (overload: unknown) => () => createAuthorizationServer({ issuer: ISSUER, clients, overload } as never)
  it('refuses a delay bound without a source to measure it', () => {
    expect(make({ maxEventLoopDelay: 0.5 })).toThrow(/^overload\.maxEventLoopDelay: needs overload\.eventLoopDelay/)
  })
  it('refuses bounds that are not positive', () => {
    expect(make({ maxRequestsInFlight: 0 })).toThrow(/^overload\.maxRequestsInFlight: must be a whole number >= 1/)
    expect(make({ maxRequestsInFlight: 1.5 })).toThrow(/^overload\.maxRequestsInFlight/)
    expect(make({ maxEventLoopDelay: -1, eventLoopDelay: () => 0 })).toThrow(/^overload\.maxEventLoopDelay: must be a positive number of seconds/)
    expect(make({ retryAfter: 0 })).toThrow(/^overload\.retryAfter/)
    expect(make({ eventLoopDelay: 5 })).toThrow(/^overload\.eventLoopDelay: must be a function/)
    expect(make({ maxInFlight: 5 })).toThrow(/overload\.maxInFlight/)
  })
})
