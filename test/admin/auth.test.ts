import { describe, expect, it } from 'vitest'
import { createAuthorizationServer } from '../../src/index.js'
import { basic, counterIds, fakeClock, tokenRequest } from '../helpers.js'
import { call, ISSUER, json, OPS, setup, tokenOf } from './fixtures.js'

describe('admin API: who may call it (RFC 6750)', () => {
  it('is off by default: nothing is served under its path', async () => {
    const h = setup({ admin: {} })
    const res = await call(h, 'GET', '/clients', { token: await tokenOf(h) })
    expect(res.status).toBe(404)
  })

  it('answers a request without a token with a bare Bearer challenge (§3.1)', async () => {
    const h = setup()
    const res = await call(h, 'GET', '/clients')
    expect(res.status).toBe(401)
    expect(res.headers['www-authenticate']).toBe(`Bearer realm="${ISSUER}"`)
    expect(json(res)).toEqual({})
  })

  it('refuses a token without the admin scope with 403 insufficient_scope naming the scope', async () => {
    const h = setup()
    const res = await call(h, 'GET', '/clients', { token: await tokenOf(h, 'api:read') })
    expect(res.status).toBe(403)
    expect(json(res).error).toBe('insufficient_scope')
    expect(res.headers['www-authenticate']).toContain('scope="grantkit:admin"')
  })

  it('refuses a token of another issuer, even with the same client and scope', async () => {
    const h = setup()
    const clock = fakeClock()
    const other = createAuthorizationServer({ issuer: 'https://other.example', clients: [OPS], deps: { now: clock.now, randomId: counterIds() } })
    const res0 = await other.handle({
      method: 'POST',
      url: new URL('https://other.example/token'),
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('ops:ops-secret').toString('base64')}` },
      body: 'grant_type=client_credentials&scope=grantkit%3Aadmin',
    })
    const foreign = json(res0).access_token as string
    const res = await call(h, 'GET', '/clients', { token: foreign })
    expect(res.status).toBe(401)
    expect(json(res).error).toBe('invalid_token')
    expect(res.headers['www-authenticate']).toContain('error="invalid_token"')
  })

  it('refuses a revoked, expired or garbled token as invalid_token', async () => {
    const h = setup()
    const token = await tokenOf(h)
    expect((await call(h, 'GET', '/clients', { token: 'x'.repeat(40) })).status).toBe(401)
    h.clock.advance(3601)
    expect(json(await call(h, 'GET', '/clients', { token })).error).toBe('invalid_token')
  })

  it('accepts opaque access tokens too', async () => {
    const h = setup({ accessTokenFormat: 'opaque' })
    const res = await call(h, 'GET', '/clients', { token: await tokenOf(h) })
    expect(res.status, res.body).toBe(200)
  })

  it('refuses a token audience-restricted to a resource server (RFC 8707), even one whose entry lists the admin scope', async () => {
    const h = setup({ resourceServers: [{ resource: 'https://api.example/admin-ish', scopes: ['grantkit:admin'] }] })
    const restricted = await h.server.handle(
      tokenRequest({ grant_type: 'client_credentials', scope: 'grantkit:admin', resource: 'https://api.example/admin-ish' }, { authorization: basic('ops', 'ops-secret') }),
    )
    expect(restricted.status, restricted.body).toBe(200)
    const res = await call(h, 'GET', '/clients', { token: json(restricted).access_token as string })
    expect(res.status).toBe(401)
    expect(res.headers['www-authenticate']).toContain('error="invalid_token"')
    // The same client's token for this server itself still works.
    expect((await call(h, 'GET', '/clients', { token: await tokenOf(h) })).status).toBe(200)
  })

  it('refuses a token in the query (§2.3), so it cannot land in logs', async () => {
    const h = setup()
    const token = await tokenOf(h)
    const res = await h.server.handle({ method: 'GET', url: new URL(`${ISSUER}/admin/api/clients?access_token=${token}`), headers: {} })
    expect(res.status).toBe(400)
    expect(json(res).error).toBe('invalid_request')
  })

  it('uses the configured scope and path', async () => {
    const h = setup({ admin: { enabled: true, scope: 'api:read', path: '/ops' } })
    const token = await tokenOf(h, 'api:read')
    const res = await h.server.handle({ method: 'GET', url: new URL(`${ISSUER}/ops/clients`), headers: { authorization: `Bearer ${token}` } })
    expect(res.status, res.body).toBe(200)
    expect((await call(h, 'GET', '/clients', { token })).status).toBe(404)
  })

  it('refuses a scope option that is not one scope token', () => {
    expect(() => setup({ admin: { enabled: true, scope: 'a b' } })).toThrow(/admin\.scope: must be one scope token/)
  })
})
