import { describe, expect, it } from 'vitest'
import { basic, tokenRequest } from '../helpers.js'
import { audits, call, json, setup, tokenOf } from './fixtures.js'

const APP = { client_name: 'App', redirect_uris: ['https://app.example/cb'], grant_types: ['authorization_code'], scope: 'openid' }
const SVC = { client_name: 'Svc', grant_types: ['client_credentials'], scope: 'api:read', token_endpoint_auth_method: 'client_secret_basic' }

describe('admin API: clients', () => {
  it('creates, lists, reads, updates and deletes a stored client, auditing each change with its actor', async () => {
    const h = setup()
    const token = await tokenOf(h)
    const created = await call(h, 'POST', '/clients', { token, body: APP })
    expect(created.status, created.body).toBe(201)
    const body = json(created)
    const id = body.client_id as string
    expect(body.client_secret).toBeTypeOf('string')
    expect(body.has_secret).toBe(true)
    expect((body.metadata as Record<string, unknown>).client_name).toBe('App')
    expect(created.headers['cache-control']).toBe('no-store')

    const list = json(await call(h, 'GET', '/clients', { token }))
    expect((list.clients as Array<{ client_id: string }>).map((c) => c.client_id)).toEqual([id])
    const one = json(await call(h, 'GET', `/clients/${encodeURIComponent(id)}`, { token }))
    expect(one.client_id).toBe(id)
    expect(one.client_secret).toBeUndefined()

    const updated = await call(h, 'PUT', `/clients/${id}`, { token, body: { ...APP, client_name: 'App 2' }, headers: { 'if-match': `"${one.version}"` } })
    expect(updated.status, updated.body).toBe(200)
    expect((json(updated).metadata as Record<string, unknown>).client_name).toBe('App 2')
    // If-Match with the version read before the update: someone changed it since.
    const stale = await call(h, 'PUT', `/clients/${id}`, { token, body: APP, headers: { 'if-match': `"${one.version}"` } })
    expect(stale.status).toBe(409)
    expect(json(stale).error).toBe('conflict')

    expect((await call(h, 'DELETE', `/clients/${id}`, { token })).status).toBe(204)
    expect((await call(h, 'GET', `/clients/${id}`, { token })).status).toBe(404)
    expect((await call(h, 'DELETE', `/clients/${id}`, { token })).status).toBe(404)

    const a = audits(h.events)
    expect(a.map((e) => [e.action, e.outcome])).toEqual([
      ['client.create', 'success'],
      ['client.update', 'success'],
      ['client.update', 'failure'],
      ['client.delete', 'success'],
      ['client.delete', 'failure'],
    ])
    for (const e of a) {
      expect(e.actor).toEqual({ sub: 'ops', clientId: 'ops' })
      expect(e.target).toEqual({ clientId: id })
      expect(e.requestId).toBeTypeOf('string')
      expect(e.timestamp).toBeTypeOf('number')
    }
    expect(a[2]!.error).toBe('conflict')
    // The secret never reaches an event.
    expect(JSON.stringify(h.events)).not.toContain(body.client_secret as string)
  })

  it('refuses bad metadata with the manager\'s code and field, audited as a failure', async () => {
    const h = setup()
    const res = await call(h, 'POST', '/clients', { token: await tokenOf(h), body: { ...APP, redirect_uris: ['http://evil.example/cb'] } })
    expect(res.status).toBe(400)
    expect(json(res).error).toBe('invalid_redirect_uri')
    expect(audits(h.events)).toMatchObject([{ action: 'client.create', outcome: 'failure', error: 'invalid_redirect_uri' }])
  })

  it('refuses a body that is not a JSON object of application/json, or too large', async () => {
    const h = setup()
    const token = await tokenOf(h)
    const form = await call(h, 'POST', '/clients', { token, body: 'client_name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    expect(form.status).toBe(415)
    expect((await call(h, 'POST', '/clients', { token, body: '{nope' })).status).toBe(400)
    expect((await call(h, 'POST', '/clients', { token, body: '[1]' })).status).toBe(400)
    const big = await call(h, 'POST', '/clients', { token, body: { ...APP, client_name: 'x'.repeat(70_000) } })
    expect(big.status).toBe(413)
    expect((await call(h, 'GET', '/clients', { token })).status).toBe(200)
  })

  it('rotates a secret: the new one works at once, the old one until oldSecretValidUntil', async () => {
    const h = setup()
    const token = await tokenOf(h)
    const created = json(await call(h, 'POST', '/clients', { token, body: SVC }))
    const id = created.client_id as string
    const old = created.client_secret as string
    const until = h.clock.now() + 60
    const rotated = await call(h, 'POST', `/clients/${id}/secret`, { token, body: { oldSecretValidUntil: until } })
    expect(rotated.status, rotated.body).toBe(200)
    const fresh = json(rotated).client_secret as string
    expect(fresh).not.toBe(old)
    expect(json(rotated).previous_secret_valid_until).toBe(until)
    const cc = (secret: string) => h.server.handle(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic(id, secret) }))
    expect((await cc(fresh)).status).toBe(200)
    expect((await cc(old)).status).toBe(200)
    h.clock.advance(61)
    expect((await cc(old)).status).toBe(401)
    expect(audits(h.events).at(-1)).toMatchObject({ action: 'client.secret.rotate', outcome: 'success', target: { clientId: id } })
    expect(JSON.stringify(h.events)).not.toContain(fresh)
    // An empty body rotates with the default overlap; unknown fields are refused.
    expect((await call(h, 'POST', `/clients/${id}/secret`, { token })).status).toBe(200)
    const unknown = await call(h, 'POST', `/clients/${id}/secret`, { token, body: { oldSecretValidFor: 5 } })
    expect(unknown.status).toBe(400)
    expect(json(unknown).error_description).toContain('oldSecretValidFor')
  })

  it('replaces the keys of a client', async () => {
    const h = setup()
    const token = await tokenOf(h)
    const id = json(await call(h, 'POST', '/clients', { token, body: { ...SVC, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [] } } })).client_id as string
    const { generateKeyPairSync } = await import('node:crypto')
    const jwk = { ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256', use: 'sig' }
    const res = await call(h, 'PUT', `/clients/${id}/jwks`, { token, body: { keys: [jwk] } })
    expect(res.status, res.body).toBe(200)
    expect(((json(res).metadata as { jwks: { keys: Array<{ kid: string }> } }).jwks.keys)[0]!.kid).toBe('k1')
    expect((await call(h, 'PUT', `/clients/${id}/jwks`, { token, body: { kes: [] } })).status).toBe(400)
  })

  it('answers 405 for a method the route lacks and 404 for no route', async () => {
    const h = setup()
    const token = await tokenOf(h)
    const res = await call(h, 'DELETE', '/clients', { token })
    expect(res.status).toBe(405)
    expect((await call(h, 'GET', '/nothing', { token })).status).toBe(404)
    expect((await call(h, 'GET', '/clients/%E0%A4%A', { token })).status).toBe(400)
  })
})
