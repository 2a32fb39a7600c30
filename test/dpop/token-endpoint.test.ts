import { decodeJwt } from 'jose'
import { describe, expect, it } from 'vitest'
import { hashToken, type AuthorizationServer, type AuthorizationServerOptions, type GrantkitResponse } from '../../src/index.js'
import { contextOf } from '../../src/server.js'
import { basic, ISSUER, json, makeServer, tokenRequest } from '../helpers.js'
import { defaultUsers } from '../users/fixtures.js'
import { dpopKey, proof, thumbprint, type TestDpopKey } from './proofs.js'

const TOKEN_URL = ISSUER + '/token'
const SVC = { authorization: basic('svc', 'svc-secret') }

const dpopClients = [
  { client_id: 'svc', client_secret: 'svc-secret', grant_types: ['client_credentials'], scope: 'api:read api:write' },
  { client_id: 'bound', client_secret: 'bound-secret', grant_types: ['client_credentials'], scope: 'api:read', dpop_bound_access_tokens: true },
  { client_id: 'mobile', token_endpoint_auth_method: 'none' as const, grant_types: ['password', 'refresh_token'], scope: 'api:read' },
  { client_id: 'app', client_secret: 'app-secret', grant_types: ['password', 'refresh_token'], scope: 'api:read' },
]

function setup(extra: Partial<AuthorizationServerOptions> = {}) {
  return makeServer({ clients: dpopClients, users: defaultUsers(), ...extra })
}

/** A well-formed proof for the token endpoint at the server's clock. */
function tokenProof(key: TestDpopKey, now: number, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): string {
  return proof(key, { htm: 'POST', htu: TOKEN_URL, iat: now, ...claims }, header)
}

function cc(server: AuthorizationServer, dpop?: string, auth: Record<string, string> = SVC): Promise<GrantkitResponse> {
  return server.handle(tokenRequest({ grant_type: 'client_credentials' }, { ...auth, ...(dpop !== undefined && { dpop }) }))
}

function expectError(res: GrantkitResponse, error: string, status = 400): void {
  expect(res.status, res.body).toBe(status)
  expect(json(res).error).toBe(error)
  expect(res.headers['cache-control']).toBe('no-store')
}

describe('DPoP at the token endpoint (RFC 9449 §5)', () => {
  it('binds a JWT access token to the proof key: token_type DPoP and cnf.jkt', async () => {
    const { server, clock } = setup()
    const key = dpopKey()
    const res = await cc(server, tokenProof(key, clock.now()))
    expect(res.status, res.body).toBe(200)
    const body = json(res)
    expect(body.token_type).toBe('DPoP')
    expect(decodeJwt(body.access_token as string).cnf).toEqual({ jkt: thumbprint(key.jwk) })
  })

  it('binds an opaque access token through its stored record, and introspection shows cnf and token_type DPoP (§6.2)', async () => {
    const { server, clock } = setup({ accessTokenFormat: 'opaque' })
    const key = dpopKey('RS256')
    const body = json(await cc(server, tokenProof(key, clock.now())))
    expect(body.token_type).toBe('DPoP')
    const record = await contextOf(server).storage.accessTokens.find(hashToken(body.access_token as string))
    expect(record?.jkt).toBe(thumbprint(key.jwk))
    const intro = json(await server.handle(tokenRequest({ token: body.access_token as string }, SVC, '/introspect')))
    expect(intro).toMatchObject({ active: true, token_type: 'DPoP', cnf: { jkt: thumbprint(key.jwk) } })
  })

  it('accepts Ed25519 proofs and issues Bearer tokens without a DPoP header', async () => {
    const { server, clock } = setup()
    const key = dpopKey('EdDSA')
    expect(json(await cc(server, tokenProof(key, clock.now()))).token_type).toBe('DPoP')
    const bearer = json(await cc(server))
    expect(bearer.token_type).toBe('Bearer')
    expect(decodeJwt(bearer.access_token as string).cnf).toBeUndefined()
  })

  it('advertises dpop_signing_alg_values_supported without none or HMAC', async () => {
    const { server } = setup()
    const meta = json(await server.handle({ method: 'GET', url: new URL(ISSUER + '/.well-known/oauth-authorization-server'), headers: {} }))
    const algs = meta.dpop_signing_alg_values_supported as string[]
    expect(algs).toContain('ES256')
    expect(algs.some((a) => a === 'none' || a.startsWith('HS'))).toBe(false)
  })

  it('advertises nothing and ignores the DPoP header when the dpop feature is left out', async () => {
    const { defaultFeatures } = await import('../../src/features/index.js')
    const { server, clock } = setup({ features: defaultFeatures.filter((f) => f.name !== 'dpop') })
    const meta = json(await server.handle({ method: 'GET', url: new URL(ISSUER + '/.well-known/oauth-authorization-server'), headers: {} }))
    expect(meta.dpop_signing_alg_values_supported).toBeUndefined()
    expect(json(await cc(server, tokenProof(dpopKey(), clock.now()))).token_type).toBe('Bearer')
  })

  describe('refuses a proof that breaks a rule of §4.3 with invalid_dpop_proof (400)', () => {
    const key = dpopKey()
    const other = dpopKey()
    const weakRsa = dpopKey('RS256', 1024)
    const cases: [string, (now: number) => string][] = [
      ['two DPoP headers', (now) => `${tokenProof(key, now)}, ${tokenProof(key, now)}`],
      ['not a JWT', () => 'not-a-jwt'],
      ['typ JWT instead of dpop+jwt', (now) => tokenProof(key, now, {}, { typ: 'JWT' })],
      ['no typ', (now) => tokenProof(key, now, {}, { typ: undefined })],
      ['alg none', (now) => tokenProof(key, now, {}, { alg: 'none' }).replace(/[^.]+$/, '')],
      ['alg none with a signature', (now) => tokenProof(key, now, {}, { alg: 'none' })],
      ['HS256', (now) => tokenProof(key, now, {}, { alg: 'HS256' })],
      ['an alg that does not fit the key (RS256 header, EC key)', (now) => tokenProof(key, now, {}, { alg: 'RS256' })],
      ['no jwk', (now) => tokenProof(key, now, {}, { jwk: undefined })],
      ['a private jwk', (now) => tokenProof(key, now, {}, { jwk: { ...key.jwk, d: 'AAAA' } })],
      ['a symmetric jwk', (now) => tokenProof(key, now, {}, { jwk: { kty: 'oct', k: 'c2VjcmV0' } })],
      ['a signature by another key', (now) => tokenProof(other, now, {}, { jwk: key.jwk })],
      ['an RSA key of 1024 bits', (now) => tokenProof(weakRsa, now)],
      ['htm GET for a POST', (now) => tokenProof(key, now, { htm: 'GET' })],
      ['htu of another endpoint', (now) => tokenProof(key, now, { htu: ISSUER + '/userinfo' })],
      ['htu of another host', (now) => tokenProof(key, now, { htu: 'https://evil.example/token' })],
      ['no htu', (now) => tokenProof(key, now, { htu: undefined })],
      ['no jti', (now) => tokenProof(key, now, { jti: undefined })],
      ['no iat', (now) => tokenProof(key, now, { iat: undefined })],
      ['an iat 61 s old', (now) => tokenProof(key, now - 61)],
      ['an iat 6 s ahead', (now) => tokenProof(key, now + 6)],
    ]
    it.each(cases)('%s', async (_name, make) => {
      const { server, clock } = setup()
      expectError(await cc(server, make(clock.now())), 'invalid_dpop_proof')
    })
  })

  it('accepts an htu that differs only by normalisation and by query (§4.3 step 9)', async () => {
    const { server, clock } = setup()
    const res = await cc(server, tokenProof(dpopKey(), clock.now(), { htu: 'HTTPS://AS.EXAMPLE:443/token?x=1#f' }))
    expect(res.status, res.body).toBe(200)
  })

  it('accepts a proof once: a replayed jti is invalid_dpop_proof (§11.1)', async () => {
    const { server, clock } = setup()
    const p = tokenProof(dpopKey(), clock.now())
    expect((await cc(server, p)).status).toBe(200)
    clock.advance(10)
    expectError(await cc(server, p), 'invalid_dpop_proof')
  })

  it('lets exactly one of 10 parallel requests with the same proof through', async () => {
    const { server, clock } = setup()
    const p = tokenProof(dpopKey(), clock.now())
    const results = await Promise.all(Array.from({ length: 10 }, () => cc(server, p)))
    expect(results.filter((r) => r.status === 200)).toHaveLength(1)
  })

  it('refuses a client registered with dpop_bound_access_tokens a token without a proof (§5.2)', async () => {
    const { server, clock } = setup()
    const auth = { authorization: basic('bound', 'bound-secret') }
    expectError(await cc(server, undefined, auth), 'invalid_request')
    expect(json(await cc(server, tokenProof(dpopKey(), clock.now()), auth)).token_type).toBe('DPoP')
  })

  it('refuses every client a token without a proof under dpop.required', async () => {
    const { server } = setup({ dpop: { required: true } })
    expectError(await cc(server), 'invalid_request')
  })

  it('refuses a dpop_bound_access_tokens that is not a boolean', () => {
    expect(() => setup({ clients: [{ client_id: 'x', client_secret: 'x', grant_types: ['client_credentials'], dpop_bound_access_tokens: 'yes' as unknown as boolean }] })).toThrow(/dpop_bound_access_tokens/)
  })

  it('refuses a dpop.algorithms list with HS256 or none', () => {
    expect(() => setup({ dpop: { algorithms: ['ES256', 'HS256'] } })).toThrow(/dpop\.algorithms/)
    expect(() => setup({ dpop: { algorithms: ['none'] } })).toThrow(/dpop\.algorithms/)
  })
})

describe('server-provided nonces (RFC 9449 §8)', () => {
  it('answers a proof without a nonce with use_dpop_nonce and a DPoP-Nonce header, then accepts the nonce', async () => {
    const { server, clock } = setup({ dpop: { requireNonce: true } })
    const key = dpopKey()
    const first = await cc(server, tokenProof(key, clock.now()))
    expectError(first, 'use_dpop_nonce')
    const nonce = first.headers['dpop-nonce']
    expect(nonce).toBeTruthy()
    const second = await cc(server, tokenProof(key, clock.now(), { nonce }))
    expect(second.status, second.body).toBe(200)
    expect(json(second).token_type).toBe('DPoP')
  })

  it('refuses a forged nonce and an expired one with use_dpop_nonce', async () => {
    const { server, clock } = setup({ dpop: { requireNonce: true, nonceLifetime: 60 } })
    const key = dpopKey()
    const nonce = (await cc(server, tokenProof(key, clock.now()))).headers['dpop-nonce'] as string
    const forged = nonce.slice(0, -2) + (nonce.endsWith('AA') ? 'BB' : 'AA')
    expectError(await cc(server, tokenProof(key, clock.now(), { nonce: forged })), 'use_dpop_nonce')
    clock.advance(121)
    const expired = await cc(server, tokenProof(key, clock.now(), { nonce }))
    expectError(expired, 'use_dpop_nonce')
    expect(expired.headers['dpop-nonce']).not.toBe(nonce)
  })

  it('accepts the previous window\'s nonce and hands out the current one', async () => {
    const { server, clock } = setup({ dpop: { requireNonce: true, nonceLifetime: 60 } })
    const key = dpopKey()
    const nonce = (await cc(server, tokenProof(key, clock.now()))).headers['dpop-nonce'] as string
    clock.advance(60)
    const res = await cc(server, tokenProof(key, clock.now(), { nonce }))
    expect(res.status, res.body).toBe(200)
    expect(res.headers['dpop-nonce']).toBeTruthy()
    expect(res.headers['dpop-nonce']).not.toBe(nonce)
  })

  it('shares nonces between servers with the same cookieSecrets, not with others', async () => {
    const secret = 'x'.repeat(32)
    const a = setup({ dpop: { requireNonce: true }, cookieSecrets: [secret] })
    const b = setup({ dpop: { requireNonce: true }, cookieSecrets: ['y'.repeat(32), secret] })
    const c = setup({ dpop: { requireNonce: true }, cookieSecrets: ['z'.repeat(32)] })
    const key = dpopKey()
    const nonce = (await cc(a.server, tokenProof(key, a.clock.now()))).headers['dpop-nonce'] as string
    expect((await cc(b.server, tokenProof(key, b.clock.now(), { nonce }))).status).toBe(200)
    expectError(await cc(c.server, tokenProof(key, c.clock.now(), { nonce })), 'use_dpop_nonce')
  })
})

describe('DPoP-bound refresh tokens (RFC 9449 §5)', () => {
  async function password(server: AuthorizationServer, clientId: string, dpop?: string): Promise<Record<string, unknown>> {
    const params: Record<string, string> = { grant_type: 'password', username: 'alice', password: 'wonderland' }
    const headers: Record<string, string> = clientId === 'app' ? { authorization: basic('app', 'app-secret') } : {}
    if (clientId === 'mobile') params.client_id = 'mobile'
    if (dpop !== undefined) headers.dpop = dpop
    const res = await server.handle(tokenRequest(params, headers))
    expect(res.status, res.body).toBe(200)
    return json(res)
  }
  function refresh(server: AuthorizationServer, clientId: string, token: string, dpop?: string): Promise<GrantkitResponse> {
    const params: Record<string, string> = { grant_type: 'refresh_token', refresh_token: token }
    const headers: Record<string, string> = clientId === 'app' ? { authorization: basic('app', 'app-secret') } : {}
    if (clientId === 'mobile') params.client_id = 'mobile'
    if (dpop !== undefined) headers.dpop = dpop
    return server.handle(tokenRequest(params, headers))
  }

  it('binds a public client\'s refresh token to the key: another key or no proof is invalid_grant, the same key works', async () => {
    const { server, clock } = setup()
    const key = dpopKey()
    const first = await password(server, 'mobile', tokenProof(key, clock.now()))
    const stored = await contextOf(server).storage.refreshTokens.find(hashToken(first.refresh_token as string))
    expect(stored?.record.jkt).toBe(thumbprint(key.jwk))
    expectError(await refresh(server, 'mobile', first.refresh_token as string), 'invalid_grant')
    expectError(await refresh(server, 'mobile', first.refresh_token as string, tokenProof(dpopKey(), clock.now())), 'invalid_grant')
    const ok = await refresh(server, 'mobile', first.refresh_token as string, tokenProof(key, clock.now()))
    expect(ok.status, ok.body).toBe(200)
    const body = json(ok)
    expect(body.token_type).toBe('DPoP')
    const successor = await contextOf(server).storage.refreshTokens.find(hashToken(body.refresh_token as string))
    expect(successor?.record.jkt).toBe(thumbprint(key.jwk))
  })

  it('does not bind a confidential client\'s refresh token; the refreshed access token follows the new request', async () => {
    const { server, clock } = setup()
    const first = await password(server, 'app', tokenProof(dpopKey(), clock.now()))
    expect(first.token_type).toBe('DPoP')
    const stored = await contextOf(server).storage.refreshTokens.find(hashToken(first.refresh_token as string))
    expect(stored?.record.jkt).toBeUndefined()
    const res = await refresh(server, 'app', first.refresh_token as string)
    expect(res.status, res.body).toBe(200)
    expect(json(res).token_type).toBe('Bearer')
  })
})
