import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { signJwt } from '../../src/crypto/jws.js'
import { createResourceProtector, type ResourceProtectorOptions } from '../../src/resource/protector.js'
import { type AuthorizationServer } from '../../src/index.js'
import { ISSUER, json } from '../helpers.js'
import { API, challenge, issue, makeAs, revoke, withForm, withHeader } from './fixtures.js'
import { issueIdToken } from '../../src/tokens/id-token.js'
import { contextOf } from '../../src/server.js'

const REALM = `Bearer realm="${ISSUER}"`
const INVALID = `${REALM}, error="invalid_token", error_description="The access token is invalid, expired or revoked."`

function local(server: AuthorizationServer, extra: Partial<ResourceProtectorOptions> = {}) {
  return createResourceProtector({ server, ...extra })
}

const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url')

/** A JWT access token signed by the server's own key, with claims of our choosing. */
function forge(server: AuthorizationServer, typ: string, claims: Record<string, unknown>): string {
  const ctx = contextOf(server)
  const now = Math.floor(ctx.now())
  return signJwt(ctx.keys.signingKey(now), typ, { iss: ctx.issuer, sub: 'svc', aud: ISSUER, exp: now + 600, iat: now, jti: 'forged', client_id: 'svc', scope: 'api:read', ...claims })
}

describe.each(['jwt', 'opaque'] as const)('resource protector, local server, %s access tokens', (accessTokenFormat) => {
  it('accepts a live token in the Authorization header and returns what it carries', async () => {
    const { server, clock } = makeAs({ accessTokenFormat })
    const token = await issue(server, 'api:read api:write')
    const result = await local(server).check(withHeader(token), ['api:read'])
    expect(result.ok).toBe(true)
    if (!result.ok) return
    expect(result.token).toMatchObject({ sub: 'svc', clientId: 'svc', scope: ['api:read', 'api:write'], aud: [ISSUER], iat: Math.floor(clock.now()), exp: Math.floor(clock.now()) + 3600 })
  })

  it('rejects an expired token with 401 invalid_token', async () => {
    const { server, clock } = makeAs({ accessTokenFormat })
    const token = await issue(server)
    clock.advance(3600)
    const result = await local(server).check(withHeader(token))
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.response.status).toBe(401)
    expect(challenge(result.response)).toBe(INVALID)
    expect(json(result.response)).toEqual({ error: 'invalid_token', error_description: 'The access token is invalid, expired or revoked.' })
    expect(result.response.headers['cache-control']).toBe('no-store')
  })

  it('rejects a token revoked at the revocation endpoint', async () => {
    const { server } = makeAs({ accessTokenFormat })
    const token = await issue(server)
    const protector = local(server)
    expect((await protector.check(withHeader(token))).ok).toBe(true)
    await revoke(server, token)
    const result = await protector.check(withHeader(token))
    expect(result.ok).toBe(false)
    if (!result.ok) expect(challenge(result.response)).toBe(INVALID)
  })

  it('rejects a token whose aud is not this resource server when an audience is configured (RFC 9068 §4)', async () => {
    const { server } = makeAs({ accessTokenFormat })
    const token = await issue(server)
    const result = await local(server, { audience: 'https://api.example' }).check(withHeader(token))
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.response.status).toBe(401)
    expect(challenge(result.response)).toContain('error="invalid_token"')
    // The realm defaults to the audience.
    expect(challenge(result.response)).toMatch(/^Bearer realm="https:\/\/api\.example"/)
    expect((await local(server, { audience: ['https://api.example', ISSUER] }).check(withHeader(token))).ok).toBe(true)
  })

  it('answers a token without a required scope with 403 and the exact insufficient_scope challenge', async () => {
    const { server } = makeAs({ accessTokenFormat })
    const token = await issue(server, 'api:read')
    const result = await local(server).check(withHeader(token), ['api:read', 'api:write'])
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.response.status).toBe(403)
    expect(challenge(result.response)).toBe(`${REALM}, error="insufficient_scope", error_description="The access token lacks a required scope.", scope="api:read api:write"`)
    expect(json(result.response)).toEqual({ error: 'insufficient_scope', error_description: 'The access token lacks a required scope.' })
    expect(result.response.headers['cache-control']).toBe('no-store')
  })
})

describe('resource protector: where the token comes from (RFC 6750 §2)', () => {
  it('answers a request without a token with 401, a bare realm challenge and no error code', async () => {
    const { server } = makeAs()
    const result = await local(server).check(withHeader(undefined))
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.response.status).toBe(401)
    expect(challenge(result.response)).toBe(REALM)
    expect(json(result.response)).toEqual({})
    expect(result.response.headers['cache-control']).toBe('no-store')
  })

  it('treats another Authorization scheme as no token', async () => {
    const { server } = makeAs()
    const result = await local(server).check({ method: 'GET', url: new URL(API), headers: { authorization: 'Basic c3ZjOnN2Yy1zZWNyZXQ=' } })
    expect(result.ok).toBe(false)
    if (!result.ok) expect(challenge(result.response)).toBe(REALM)
  })

  it.each([['Bearer'], ['Bearer '], ['Bearer a b'], ['Bearer a,b'], ['Bearer tok, Bearer tok']])('rejects the malformed header %j with 400 invalid_request', async (authorization) => {
    const { server } = makeAs()
    const result = await local(server).check({ method: 'GET', url: new URL(API), headers: { authorization } })
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.response.status).toBe(400)
    expect(challenge(result.response)).toContain(`${REALM}, error="invalid_request"`)
    expect(json(result.response).error).toBe('invalid_request')
  })

  it('ignores a token in the form body unless allowBodyToken, as if absent', async () => {
    const { server } = makeAs()
    const token = await issue(server)
    const off = await local(server).check(withForm({ access_token: token }))
    expect(off.ok).toBe(false)
    if (!off.ok) expect(challenge(off.response)).toBe(REALM)
    expect((await local(server, { allowBodyToken: true }).check(withForm({ access_token: token }))).ok).toBe(true)
  })

  it('reads the body only for a POST with a form content type', async () => {
    const { server } = makeAs()
    const token = await issue(server)
    const protector = local(server, { allowBodyToken: true })
    const json = await protector.check({ ...withForm({ access_token: token }), headers: { 'content-type': 'application/json' } })
    expect(json.ok).toBe(false)
    const put = await protector.check({ ...withForm({ access_token: token }), method: 'PUT' })
    expect(put.ok).toBe(false)
    if (!put.ok) expect(challenge(put.response)).toBe(REALM)
    expect(protector.readsBody(withForm({}))).toBe(true)
    expect(protector.readsBody({ ...withForm({}), method: 'GET' })).toBe(false)
    expect(local(server).readsBody(withForm({}))).toBe(false)
    // A pre-parsed form counts only with the form content type too.
    expect((await protector.check({ method: 'POST', url: new URL(API), headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, form: new URLSearchParams({ access_token: token }) })).ok).toBe(true)
  })

  it('ignores a token in the query unless allowQueryToken, as if absent', async () => {
    const { server } = makeAs()
    const token = await issue(server)
    const req = { method: 'GET', url: new URL(`${API}?access_token=${token}`), headers: {} }
    const off = await local(server).check(req)
    expect(off.ok).toBe(false)
    if (!off.ok) expect(challenge(off.response)).toBe(REALM)
    expect((await local(server, { allowQueryToken: true }).check(req)).ok).toBe(true)
  })

  it('accepts a header token next to a query or body token in a place that is disabled', async () => {
    const { server } = makeAs()
    const token = await issue(server)
    const protector = local(server)
    expect((await protector.check(withHeader(token, { url: new URL(`${API}?access_token=other`) }))).ok).toBe(true)
    expect((await protector.check(withForm({ access_token: 'other' }, { authorization: `Bearer ${token}` }))).ok).toBe(true)
  })

  it.each([
    ['header and body', (t: string) => withForm({ access_token: t }, { authorization: `Bearer ${t}` })],
    ['header and query', (t: string) => withHeader(t, { url: new URL(`${API}?access_token=${t}`) })],
    ['body and query', (t: string) => ({ ...withForm({ access_token: t }), url: new URL(`${API}?access_token=${t}`) })],
    ['query twice', (t: string) => withHeader(undefined, { url: new URL(`${API}?access_token=${t}&access_token=${t}`) })],
    ['body twice', (t: string) => ({ ...withForm({}), body: `access_token=${t}&access_token=${t}` })],
  ])('rejects a token sent in two places (%s) with 400 invalid_request', async (_, build) => {
    const { server } = makeAs()
    const token = await issue(server)
    const result = await local(server, { allowBodyToken: true, allowQueryToken: true }).check(build(token))
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.response.status).toBe(400)
    expect(challenge(result.response)).toBe(`${REALM}, error="invalid_request", error_description="The bearer token is malformed or sent more than once."`)
  })

  it('rejects a form body over the adapter limit with 400 invalid_request when body tokens are on', async () => {
    const { server } = makeAs()
    const token = await issue(server)
    const result = await local(server, { allowBodyToken: true }).check({ ...withForm({}), body: undefined, bodyTooLarge: true, headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${token}` } })
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.response.status).toBe(400)
  })
})

describe('resource protector, local server: forged JWTs', () => {
  it('rejects an ID token (typ JWT) presented as an access token (RFC 9068 §4)', async () => {
    const { server } = makeAs()
    const client = await contextOf(server).clients.find('svc')
    const idToken = issueIdToken(contextOf(server), { client: client!, sub: 'svc', authTime: Math.floor(contextOf(server).now()) })
    const result = await local(server).check(withHeader(idToken))
    expect(result.ok).toBe(false)
    if (!result.ok) expect(challenge(result.response)).toBe(INVALID)
  })

  it('rejects alg none', async () => {
    const { server } = makeAs()
    const kid = contextOf(server).keys.signingKey(contextOf(server).now()).kid
    const now = Math.floor(contextOf(server).now())
    const token = `${b64({ alg: 'none', typ: 'at+jwt', kid })}.${b64({ iss: ISSUER, sub: 'svc', client_id: 'svc', aud: ISSUER, exp: now + 600, iat: now, jti: 'x', scope: 'api:read' })}.`
    expect((await local(server).check(withHeader(token))).ok).toBe(false)
  })

  it('rejects HS256 with the public key as secret (algorithm confusion)', async () => {
    const { server } = makeAs({ keys: { algorithm: 'RS256' } })
    const key = contextOf(server).keys.signingKey(contextOf(server).now())
    const now = Math.floor(contextOf(server).now())
    const input = `${b64({ alg: 'HS256', typ: 'at+jwt', kid: key.kid })}.${b64({ iss: ISSUER, sub: 'svc', client_id: 'svc', aud: ISSUER, exp: now + 600, iat: now, jti: 'x', scope: 'api:read' })}`
    const pem = key.publicKey.export({ type: 'spki', format: 'pem' })
    const token = `${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`
    expect((await local(server).check(withHeader(token))).ok).toBe(false)
  })

  it('rejects a token from another issuer signed with our key', async () => {
    const { server } = makeAs()
    const result = await local(server).check(withHeader(forge(server, 'at+jwt', { iss: 'https://evil.example' })))
    expect(result.ok).toBe(false)
    expect((await local(server).check(withHeader(forge(server, 'at+jwt', {})))).ok).toBe(true)
  })
})

describe('createResourceProtector options', () => {
  it.each([
    [{}, /exactly one of server, jwks, introspection/],
    [{ jwks: { issuer: 'https://as.example', jwksUri: 'http://as.example/jwks' } }, /^jwks\.jwksUri: must be https/],
    [{ jwks: { issuer: 'https://as.example', jwksUri: 'https://as.example/jwks', algorithms: ['HS256'] } }, /^jwks\.algorithms/],
    [{ jwks: { issuer: '', jwksUri: 'https://as.example/jwks' } }, /^jwks\.issuer/],
    [{ introspection: { introspectionEndpoint: 'https://as.example/introspect', clientId: 'rs', clientSecret: '' } }, /^introspection\.clientSecret/],
    [{ introspection: { introspectionEndpoint: 'https://as.example/introspect', clientId: 'rs', clientSecret: 's', cacheSeconds: -1 } }, /^introspection\.cacheSeconds/],
    [{ introspection: { introspectionEndpoint: 'https://as.example/introspect', clientId: 'rs', clientSecret: 's', cacheMaxEntries: 0 } }, /^introspection\.cacheMaxEntries/],
    [{ jwks: { issuer: 'https://as.example', jwksUri: 'https://as.example/jwks' }, realm: 'a"b' }, /^realm/],
    [{ jwks: { issuer: 'https://as.example', jwksUri: 'https://as.example/jwks' }, audience: [] }, /^audience/],
  ])('throws a TypeError naming the field for %j', (options, message) => {
    expect(() => createResourceProtector(options as ResourceProtectorOptions)).toThrow(TypeError)
    expect(() => createResourceProtector(options as ResourceProtectorOptions)).toThrow(message)
  })

  it('throws a TypeError for two modes at once', () => {
    const { server } = makeAs()
    expect(() => createResourceProtector({ server, jwks: { issuer: ISSUER, jwksUri: `${ISSUER}/jwks` } })).toThrow(/exactly one of server, jwks, introspection \(got server, jwks\)/)
  })

  it('throws a TypeError for a required scope that is no scope token', async () => {
    const { server } = makeAs()
    await expect(local(server).check(withHeader('x'), ['a b'])).rejects.toThrow(TypeError)
  })
})
