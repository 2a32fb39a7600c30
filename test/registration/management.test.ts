import { describe, expect, it } from 'vitest'
import { basic, ISSUER, tokenRequest } from '../helpers.js'
import { body, manageRequest, registerRequest, registrationServer, type AuthorizationServer } from './fixtures.js'

const SERVICE = { grant_types: ['client_credentials'], scope: 'api:read' }

async function registered(server: AuthorizationServer, metadata: Record<string, unknown> = SERVICE) {
  const res = await server.handle(registerRequest(metadata))
  expect(res.status, res.body).toBe(201)
  return body(res)
}

function credentials(server: AuthorizationServer, id: string, secret: string) {
  return server.handle(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic(id, secret) }))
}

describe('client configuration endpoint (RFC 7592)', () => {
  it('reads the client with its registration access token (§2.1): the registered metadata, no secret, no-store', async () => {
    const { server } = registrationServer()
    const reg = await registered(server)
    const res = await server.handle(manageRequest('GET', reg.registration_client_uri, reg.registration_access_token))
    expect(res.status).toBe(200)
    expect(res.headers['cache-control']).toBe('no-store')
    const json = body(res)
    const { client_secret: _secret, ...withoutSecret } = reg
    expect(json).toEqual(withoutSecret)
  })

  it('401 invalid_token for a missing, wrong or other client\'s token, and for an unknown client (§2.1)', async () => {
    const { server } = registrationServer()
    const a = await registered(server)
    const b = await registered(server)
    for (const [uri, token] of [
      [a.registration_client_uri, undefined],
      [a.registration_client_uri, 'wrong'],
      [a.registration_client_uri, b.registration_access_token],
      [a.registration_client_uri, a.client_secret],
      [`${ISSUER}/register/nobody`, a.registration_access_token],
      [`${ISSUER}/register/%E0%A4%A`, a.registration_access_token],
    ] as const) {
      for (const method of ['GET', 'PUT', 'DELETE']) {
        const res = await server.handle(manageRequest(method, uri, token, method === 'PUT' ? { ...SERVICE, client_id: a.client_id } : undefined))
        expect(res.status, `${method} ${uri} ${token}`).toBe(401)
        expect(body(res).error).toBe('invalid_token')
        expect(res.headers['www-authenticate']).toMatch(/^Bearer /)
      }
    }
    expect((await credentials(server, a.client_id, a.client_secret)).status).toBe(200)
  })

  it('a token in the query is no credential', async () => {
    const { server } = registrationServer()
    const reg = await registered(server)
    const url = `${reg.registration_client_uri}?access_token=${reg.registration_access_token}`
    expect((await server.handle(manageRequest('GET', url, undefined))).status).toBe(401)
  })

  it('never reaches a configured client, nor a stored one made without registration', async () => {
    const { server } = registrationServer()
    const reg = await registered(server)
    expect((await server.handle(manageRequest('GET', `${ISSUER}/register/svc`, reg.registration_access_token))).status).toBe(401)
    const made = await server.clients.create(SERVICE)
    expect((await server.handle(manageRequest('GET', `${ISSUER}/register/${made.client.clientId}`, reg.registration_access_token))).status).toBe(401)
  })

  it('updates the metadata whole and rotates the registration access token; the old one is dead (§2.2)', async () => {
    const { server } = registrationServer()
    const reg = await registered(server, { ...SERVICE, client_name: 'Before' })
    const res = await server.handle(manageRequest('PUT', reg.registration_client_uri, reg.registration_access_token, { client_id: reg.client_id, grant_types: ['client_credentials'], scope: 'api:write' }))
    expect(res.status, res.body).toBe(200)
    expect(res.headers['cache-control']).toBe('no-store')
    const updated = body(res)
    expect(updated).toMatchObject({ client_id: reg.client_id, scope: 'api:write', registration_client_uri: reg.registration_client_uri })
    expect(updated).not.toHaveProperty('client_name')
    expect(updated.registration_access_token).not.toBe(reg.registration_access_token)
    // The secret stays: the client goes on authenticating with it, now with the new scope.
    expect(updated).not.toHaveProperty('client_secret')
    const token = await credentials(server, reg.client_id, reg.client_secret)
    expect(body(token).scope).toBe('api:write')
    expect((await server.handle(manageRequest('GET', reg.registration_client_uri, reg.registration_access_token))).status).toBe(401)
    expect((await server.handle(manageRequest('GET', reg.registration_client_uri, updated.registration_access_token))).status).toBe(200)
  })

  it('update: client_id must be present and this client\'s; a client_secret sent must be the current one (§2.2)', async () => {
    const { server } = registrationServer()
    const reg = await registered(server)
    const put = (metadata: Record<string, unknown>) => server.handle(manageRequest('PUT', reg.registration_client_uri, reg.registration_access_token, metadata))
    for (const metadata of [SERVICE, { ...SERVICE, client_id: 'other' }, { ...SERVICE, client_id: reg.client_id, client_secret: 'not-it' }]) {
      const res = await put(metadata)
      expect(res.status).toBe(400)
      expect(body(res).error).toBe('invalid_client_metadata')
    }
    // Refused updates leave the token as it was.
    const ok = await put({ ...SERVICE, client_id: reg.client_id, client_secret: reg.client_secret, registration_access_token: 'ignored', client_id_issued_at: 5 })
    expect(ok.status, ok.body).toBe(200)
    expect(body(ok).client_id_issued_at).toBe(reg.client_id_issued_at)
  })

  it('update errors use the RFC 7591 codes and keep the old token working', async () => {
    const { server } = registrationServer()
    const reg = await registered(server, { redirect_uris: ['https://app.example/cb'] })
    const res = await server.handle(manageRequest('PUT', reg.registration_client_uri, reg.registration_access_token, { client_id: reg.client_id, redirect_uris: ['http://app.example/cb'] }))
    expect(body(res).error).toBe('invalid_redirect_uri')
    expect((await server.handle(manageRequest('GET', reg.registration_client_uri, reg.registration_access_token))).status).toBe(200)
  })

  it('a client moving to a secret method gets a secret in the update response', async () => {
    const { server } = registrationServer()
    const reg = await registered(server, { redirect_uris: ['https://app.example/cb'], token_endpoint_auth_method: 'none' })
    expect(reg).not.toHaveProperty('client_secret')
    const res = await server.handle(manageRequest('PUT', reg.registration_client_uri, reg.registration_access_token, { ...SERVICE, client_id: reg.client_id }))
    const updated = body(res)
    expect(updated.client_secret).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(updated.client_secret_expires_at).toBe(0)
    expect((await credentials(server, reg.client_id, updated.client_secret)).status).toBe(200)
  })

  it('deletes the client (§2.3): 204, then its secret and token are dead', async () => {
    const { server } = registrationServer()
    const reg = await registered(server)
    const res = await server.handle(manageRequest('DELETE', reg.registration_client_uri, reg.registration_access_token))
    expect(res.status).toBe(204)
    expect(res.body).toBeUndefined()
    expect((await credentials(server, reg.client_id, reg.client_secret)).status).toBe(401)
    expect((await server.handle(manageRequest('GET', reg.registration_client_uri, reg.registration_access_token))).status).toBe(401)
    expect(await server.clients.get(reg.client_id)).toBeUndefined()
  })

  it('an update through server.clients keeps the registration access token', async () => {
    const { server } = registrationServer()
    const reg = await registered(server)
    await server.clients.update(reg.client_id, { ...SERVICE, scope: 'api:write' })
    await server.clients.rotateSecret(reg.client_id)
    expect((await server.handle(manageRequest('GET', reg.registration_client_uri, reg.registration_access_token))).status).toBe(200)
  })

  it('registration.accessTokenTtl ends the registration access token', async () => {
    const { server, clock } = registrationServer({ enabled: true, accessTokenTtl: 3600 })
    const reg = await registered(server)
    clock.advance(3599)
    expect((await server.handle(manageRequest('GET', reg.registration_client_uri, reg.registration_access_token))).status).toBe(200)
    clock.advance(1)
    expect((await server.handle(manageRequest('GET', reg.registration_client_uri, reg.registration_access_token))).status).toBe(401)
  })

  it('answers POST on a client URI with 405', async () => {
    const { server } = registrationServer()
    const reg = await registered(server)
    const res = await server.handle(manageRequest('POST', reg.registration_client_uri, reg.registration_access_token, SERVICE))
    expect(res.status).toBe(405)
    expect(res.headers.allow).toBe('GET, PUT, DELETE')
  })

  it('two updates with one token: exactly one wins', async () => {
    const { server } = registrationServer()
    const reg = await registered(server)
    const put = () => server.handle(manageRequest('PUT', reg.registration_client_uri, reg.registration_access_token, { ...SERVICE, client_id: reg.client_id }))
    const results = await Promise.all([put(), put(), put()])
    expect(results.filter((r) => r.status === 200)).toHaveLength(1)
    for (const r of results.filter((r) => r.status !== 200)) expect([401, 409]).toContain(r.status)
  })
})
