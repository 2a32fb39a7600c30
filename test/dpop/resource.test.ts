import { describe, expect, it } from 'vitest'
import type { AuthorizationServer, GrantkitRequest, GrantkitResponse } from '../../src/index.js'
import { createResourceProtector, type ResourceProtectorOptions } from '../../src/resource/protector.js'
import { basic, ISSUER, json, tokenRequest } from '../helpers.js'
import { defaultUsers } from '../users/fixtures.js'
import { API, challenge, fetchSpy, makeAs, serveAs, withHeader } from '../resource/fixtures.js'
import { ath, dpopKey, proof, thumbprint, type TestDpopKey } from './proofs.js'

const ORIGIN = 'https://api.example'

/** A DPoP-bound client_credentials token for `svc`. */
async function boundToken(server: AuthorizationServer, key: TestDpopKey, now: number, scope = 'api:read', tokenUrl = ISSUER + '/token'): Promise<string> {
  const dpop = proof(key, { htm: 'POST', htu: tokenUrl, iat: now })
  const res = await server.handle(tokenRequest({ grant_type: 'client_credentials', scope }, { authorization: basic('svc', 'svc-secret'), dpop }))
  expect(res.status, res.body).toBe(200)
  expect(json(res).token_type).toBe('DPoP')
  return json(res).access_token as string
}

/** A request to the API with `Authorization: DPoP` and a proof for it. */
function dpopRequest(token: string, dpop: string | undefined, extra: Partial<GrantkitRequest> = {}): GrantkitRequest {
  return { method: 'GET', url: new URL(API), headers: { authorization: `DPoP ${token}`, ...(dpop !== undefined && { dpop }) }, ...extra }
}

function apiProof(key: TestDpopKey, token: string, now: number, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): string {
  return proof(key, { htm: 'GET', htu: API, iat: now, ath: ath(token), ...claims }, header)
}

function refused(result: { ok: boolean; response?: GrantkitResponse }, status: number, error: string, scheme = 'DPoP'): GrantkitResponse {
  expect(result.ok).toBe(false)
  const res = result.response!
  expect(res.status).toBe(status)
  expect(json(res).error).toBe(error)
  expect(challenge(res)).toContain(`${scheme} realm=`)
  expect(challenge(res)).toContain(`error="${error}"`)
  return res
}

describe.each(['jwt', 'opaque'] as const)('resource protector with DPoP (RFC 9449 §7), local server, %s tokens', (accessTokenFormat) => {
  function setup(extra: Partial<ResourceProtectorOptions> = {}) {
    const { server, clock } = makeAs({ accessTokenFormat })
    return { server, clock, protector: createResourceProtector({ server, dpop: { origin: ORIGIN }, ...extra }) }
  }

  it('accepts a bound token with a proof by its key and gives its jkt', async () => {
    const { server, clock, protector } = setup()
    const key = dpopKey()
    const token = await boundToken(server, key, clock.now())
    const result = await protector.check(dpopRequest(token, apiProof(key, token, clock.now())), ['api:read'])
    expect(result.ok, result.ok ? '' : result.response.body).toBe(true)
    if (result.ok) expect(result.token.jkt).toBe(thumbprint(key.jwk))
  })

  it('refuses a DPoP-bound token sent as Bearer with invalid_token and offers DPoP', async () => {
    const { server, clock, protector } = setup()
    const token = await boundToken(server, dpopKey(), clock.now())
    const res = refused(await protector.check(withHeader(token)), 401, 'invalid_token', 'Bearer')
    expect(challenge(res)).toMatch(/DPoP realm="[^"]+", algs="[^"]*ES256/)
  })

  it('refuses a bearer token sent with the DPoP scheme with invalid_token', async () => {
    const { server, clock, protector } = setup()
    const bearer = json(await server.handle(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('svc', 'svc-secret') }))).access_token as string
    const key = dpopKey()
    refused(await protector.check(dpopRequest(bearer, apiProof(key, bearer, clock.now()))), 401, 'invalid_token')
  })

  const key = dpopKey()
  const cases: [string, (token: string, now: number) => Partial<GrantkitRequest> & { dpop?: string }][] = [
    ['no DPoP header', () => ({})],
    ['no ath', (token, now) => ({ dpop: apiProof(key, token, now, { ath: undefined }) })],
    ['the ath of another token', (token, now) => ({ dpop: apiProof(key, token + 'x', now) })],
    ['a proof by another key', (token, now) => ({ dpop: apiProof(dpopKey(), token, now) })],
    ['htm POST for a GET', (token, now) => ({ dpop: apiProof(key, token, now, { htm: 'POST' }) })],
    ['htu of another path', (token, now) => ({ dpop: apiProof(key, token, now, { htu: ORIGIN + '/admin' }) })],
    ['htu of the host the request names, not the API', (token, now) => ({ dpop: apiProof(key, token, now, { htu: 'https://evil.example/orders' }), url: new URL('https://evil.example/orders') })],
    ['an iat 61 s old', (token, now) => ({ dpop: apiProof(key, token, now - 61) })],
    ['typ JWT', (token, now) => ({ dpop: apiProof(key, token, now, {}, { typ: 'JWT' }) })],
    ['HS256', (token, now) => ({ dpop: apiProof(key, token, now, {}, { alg: 'HS256' }) })],
    ['a private jwk', (token, now) => ({ dpop: apiProof(key, token, now, {}, { jwk: { ...key.jwk, d: 'AAAA' } }) })],
  ]
  it.each(cases)('refuses %s with 401 invalid_dpop_proof and a DPoP challenge', async (_name, make) => {
    const { server, clock, protector } = setup()
    const token = await boundToken(server, key, clock.now())
    const { dpop, ...extra } = make(token, clock.now())
    const res = refused(await protector.check(dpopRequest(token, dpop, extra)), 401, 'invalid_dpop_proof')
    expect(challenge(res)).toMatch(/algs="[^"]*ES256/)
  })

  it('accepts a proof once (§11.1)', async () => {
    const { server, clock, protector } = setup()
    const token = await boundToken(server, key, clock.now())
    const p = apiProof(key, token, clock.now())
    expect((await protector.check(dpopRequest(token, p))).ok).toBe(true)
    refused(await protector.check(dpopRequest(token, p)), 401, 'invalid_dpop_proof')
  })

  it('answers a missing scope with 403 insufficient_scope in a DPoP challenge', async () => {
    const { server, clock, protector } = setup()
    const token = await boundToken(server, key, clock.now())
    const res = refused(await protector.check(dpopRequest(token, apiProof(key, token, clock.now())), ['api:write']), 403, 'insufficient_scope')
    expect(challenge(res)).toContain('scope="api:write"')
  })

  it('refuses a malformed DPoP header and a token sent twice with 400 invalid_request', async () => {
    const { server, clock, protector } = setup({ allowQueryToken: true })
    const token = await boundToken(server, key, clock.now())
    refused(await protector.check(dpopRequest('two words', apiProof(key, token, clock.now()))), 400, 'invalid_request')
    refused(await protector.check(dpopRequest(token, apiProof(key, token, clock.now()), { url: new URL(`${API}?access_token=${token}`) })), 400, 'invalid_request')
  })

  it('offers DPoP next to Bearer to a request without credentials', async () => {
    const { protector } = setup()
    const result = await protector.check(withHeader(undefined))
    expect(result.ok).toBe(false)
    if (!result.ok) expect(challenge(result.response)).toMatch(/^Bearer realm="[^"]+", DPoP realm="[^"]+", algs="/)
  })
})

describe('resource protector DPoP settings', () => {
  it('derives the origin from an http(s) audience', async () => {
    const { server, clock } = makeAs({ accessTokenAudience: 'https://api.example' })
    const protector = createResourceProtector({ server, audience: 'https://api.example' })
    const key = dpopKey()
    const token = await boundToken(server, key, clock.now())
    expect((await protector.check(dpopRequest(token, apiProof(key, token, clock.now())))).ok).toBe(true)
  })

  it('without a known origin takes the DPoP scheme for no credentials and still refuses bound tokens as Bearer', async () => {
    const { server, clock } = makeAs()
    const protector = createResourceProtector({ server })
    const key = dpopKey()
    const token = await boundToken(server, key, clock.now())
    const none = await protector.check(dpopRequest(token, apiProof(key, token, clock.now())))
    expect(none.ok).toBe(false)
    if (!none.ok) expect(challenge(none.response)).toBe(`Bearer realm="${ISSUER}"`)
    refused(await protector.check(withHeader(token)), 401, 'invalid_token', 'Bearer')
  })

  it('refuses an origin with a path, and HMAC or none in dpop.algorithms, at construction', () => {
    const { server } = makeAs()
    expect(() => createResourceProtector({ server, dpop: { origin: 'https://api.example/v1' } })).toThrow(/dpop\.origin/)
    expect(() => createResourceProtector({ server, dpop: { origin: ORIGIN, algorithms: ['HS256'] } })).toThrow(/dpop\.algorithms/)
    expect(() => createResourceProtector({ server, dpop: { origin: ORIGIN, algorithms: ['none'] } })).toThrow(/dpop\.algorithms/)
  })

  it('verifies DPoP-bound JWTs through a remote JWKS (cnf.jkt in the token)', async () => {
    const as = await serveAs()
    try {
      const protector = createResourceProtector({ jwks: { issuer: as.origin, jwksUri: `${as.origin}/jwks` }, dpop: { origin: ORIGIN }, deps: { now: as.clock.now }, audience: as.origin })
      const key = dpopKey()
      const token = await boundToken(as.server, key, as.clock.now(), 'api:read', `${as.origin}/token`)
      const ok = await protector.check(dpopRequest(token, apiProof(key, token, as.clock.now())))
      expect(ok.ok, ok.ok ? '' : ok.response.body).toBe(true)
      refused(await protector.check(withHeader(token)), 401, 'invalid_token', 'Bearer')
    } finally {
      await as.close()
    }
  })

  it('verifies DPoP-bound opaque tokens through introspection (token_type DPoP, cnf.jkt)', async () => {
    const { server, clock } = makeAs({ accessTokenFormat: 'opaque' })
    const inProcess: typeof fetch = async (input, init) => {
      const headers: Record<string, string> = {}
      new Headers(init?.headers).forEach((v, k) => (headers[k] = v))
      const out = await server.handle({ method: init?.method ?? 'GET', url: new URL(String(input)), headers, body: String(init?.body ?? '') })
      return new Response(out.body ?? null, { status: out.status, headers: out.headers as Record<string, string> })
    }
    const protector = createResourceProtector({
      introspection: { introspectionEndpoint: ISSUER + '/introspect', clientId: 'rs', clientSecret: 'rs-secret' },
      fetch: fetchSpy(inProcess),
      deps: { now: clock.now },
      dpop: { origin: ORIGIN },
    })
    const key = dpopKey()
    const token = await boundToken(server, key, clock.now())
    const ok = await protector.check(dpopRequest(token, apiProof(key, token, clock.now())))
    expect(ok.ok, ok.ok ? '' : ok.response.body).toBe(true)
    if (ok.ok) expect(ok.token.jkt).toBe(thumbprint(key.jwk))
    refused(await protector.check(withHeader(token)), 401, 'invalid_token', 'Bearer')
  })
})

describe('userinfo with DPoP (RFC 9449 §7)', () => {
  const USERINFO = ISSUER + '/userinfo'
  const clients = [{ client_id: 'app', client_secret: 'app-secret', grant_types: ['password'], scope: 'openid profile' }]

  async function userToken(server: AuthorizationServer, key: TestDpopKey, now: number, nonce?: string): Promise<string> {
    const dpop = proof(key, { htm: 'POST', htu: ISSUER + '/token', iat: now, ...(nonce !== undefined && { nonce }) })
    const res = await server.handle(tokenRequest({ grant_type: 'password', username: 'alice', password: 'wonderland', scope: 'openid profile' }, { authorization: basic('app', 'app-secret'), dpop }))
    expect(res.status, res.body).toBe(200)
    return json(res).access_token as string
  }
  const get = (token: string, dpop?: string, scheme = 'DPoP'): GrantkitRequest => ({ method: 'GET', url: new URL(USERINFO), headers: { authorization: `${scheme} ${token}`, ...(dpop !== undefined && { dpop }) } })
  const userinfoProof = (key: TestDpopKey, token: string, now: number, claims: Record<string, unknown> = {}) => proof(key, { htm: 'GET', htu: USERINFO, iat: now, ath: ath(token), ...claims })

  it('answers a bound token with a proof, refuses it as Bearer and with a proof for another URL', async () => {
    const { server, clock } = makeAs({ clients, users: defaultUsers() })
    const key = dpopKey()
    const token = await userToken(server, key, clock.now())
    const ok = await server.handle(get(token, userinfoProof(key, token, clock.now())))
    expect(ok.status, ok.body).toBe(200)
    expect(json(ok).sub).toBeTruthy()
    const asBearer = await server.handle(get(token, undefined, 'Bearer'))
    expect(asBearer.status).toBe(401)
    expect(json(asBearer).error).toBe('invalid_token')
    const elsewhere = await server.handle(get(token, userinfoProof(key, token, clock.now(), { htu: API })))
    expect(elsewhere.status).toBe(401)
    expect(json(elsewhere).error).toBe('invalid_dpop_proof')
    expect(challenge(elsewhere)).toContain('DPoP realm=')
  })

  it('asks for a nonce with 401 use_dpop_nonce and a DPoP-Nonce header when the server requires nonces', async () => {
    const { server, clock } = makeAs({ clients, users: defaultUsers(), dpop: { requireNonce: true } })
    const key = dpopKey()
    const first = await server.handle(tokenRequest({ grant_type: 'password', username: 'alice', password: 'wonderland', scope: 'openid' }, { authorization: basic('app', 'app-secret'), dpop: proof(key, { htm: 'POST', htu: ISSUER + '/token', iat: clock.now() }) }))
    const nonce = first.headers['dpop-nonce'] as string
    const token = await userToken(server, key, clock.now(), nonce)
    const without = await server.handle(get(token, userinfoProof(key, token, clock.now())))
    expect(without.status).toBe(401)
    expect(json(without).error).toBe('use_dpop_nonce')
    expect(challenge(without)).toContain('error="use_dpop_nonce"')
    expect(without.headers['dpop-nonce']).toBe(nonce)
    const withNonce = await server.handle(get(token, userinfoProof(key, token, clock.now(), { nonce })))
    expect(withNonce.status, withNonce.body).toBe(200)
  })
})
