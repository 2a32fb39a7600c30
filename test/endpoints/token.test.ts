import { createLocalJWKSet, jwtVerify } from 'jose'
import { describe, expect, it } from 'vitest'
import { hashToken, type GrantkitEvent } from '../../src/index.js'
import { basic, ISSUER, json, makeServer, tokenRequest } from '../helpers.js'
import { contextOf } from '../../src/server.js'

const SVC = { authorization: basic('svc', 'svc-secret') }

describe('token endpoint (RFC 6749 §3.2, §5)', () => {
  it('issues an RFC 9068 JWT access token that verifies against the JWKS', async () => {
    const { server, clock } = makeServer()
    const res = await server.handle(tokenRequest({ grant_type: 'client_credentials', scope: 'api:read' }, SVC))
    expect(res.status).toBe(200)
    expect(res.headers['cache-control']).toBe('no-store')
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    const body = json(res)
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'api:read' })
    expect(body.refresh_token).toBeUndefined()
    const jwks = json(await server.handle({ method: 'GET', url: new URL(ISSUER + '/jwks'), headers: {} }))
    const { payload, protectedHeader } = await jwtVerify(body.access_token as string, createLocalJWKSet(jwks as never), {
      currentDate: new Date(clock.now() * 1000),
      issuer: ISSUER,
      audience: ISSUER,
      typ: 'at+jwt',
    })
    expect(protectedHeader.alg).toBe('ES256')
    expect(payload).toMatchObject({ sub: 'svc', client_id: 'svc', scope: 'api:read', iat: clock.now(), exp: clock.now() + 3600, jti: 'id-1' })
  })

  it('issues an opaque token of 256 bits that is stored only as its hash', async () => {
    const { server } = makeServer({ accessTokenFormat: 'opaque' })
    const body = json(await server.handle(tokenRequest({ grant_type: 'client_credentials' }, SVC)))
    const token = body.access_token as string
    expect(Buffer.from(token, 'base64url').length).toBeGreaterThanOrEqual(32)
    const stored = await contextOf(server).storage.accessTokens.find(hashToken(token))
    expect(stored).toMatchObject({ clientId: 'svc', sub: 'svc', scope: 'api:read api:write' })
    expect(JSON.stringify(stored)).not.toContain(token)
    expect(await contextOf(server).storage.accessTokens.find(token)).toBeNull()
  })

  it('grants the client default scope when scope is omitted', async () => {
    const { server } = makeServer()
    const body = json(await server.handle(tokenRequest({ grant_type: 'client_credentials' }, SVC)))
    expect(body.scope).toBe('api:read api:write')
  })

  it('uses default_scope when the client registers one', async () => {
    const { server } = makeServer({
      clients: [{ client_id: 'c', client_secret: 's', grant_types: ['client_credentials'], scope: 'a b', default_scope: 'a' }],
    })
    const body = json(await server.handle(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('c', 's') })))
    expect(body.scope).toBe('a')
  })

  it('rejects a scope the client is not registered for with invalid_scope', async () => {
    const { server } = makeServer()
    const res = await server.handle(tokenRequest({ grant_type: 'client_credentials', scope: 'api:read admin' }, SVC))
    expect(res.status).toBe(400)
    expect(json(res).error).toBe('invalid_scope')
  })

  it('rejects a scope the server does not know even if the client lists it', async () => {
    const { server } = makeServer({
      scopes: ['api:read', 'api:write', 'x'],
      clients: [{ client_id: 'c', client_secret: 's', grant_types: ['client_credentials'], scope: 'api:read' }],
    })
    const res = await server.handle(tokenRequest({ grant_type: 'client_credentials', scope: 'x' }, { authorization: basic('c', 's') }))
    expect(json(res).error).toBe('invalid_scope')
  })

  it('rejects scope tokens with characters RFC 6749 §3.3 forbids', async () => {
    const { server } = makeServer()
    const res = await server.handle(tokenRequest({ grant_type: 'client_credentials', scope: 'api:read "x"' }, SVC))
    expect(json(res).error).toBe('invalid_scope')
  })

  it('answers a missing grant_type with invalid_request', async () => {
    const { server } = makeServer()
    const res = await server.handle(tokenRequest({ scope: 'api:read' }, SVC))
    expect(res.status).toBe(400)
    expect(json(res).error).toBe('invalid_request')
    expect(res.headers['cache-control']).toBe('no-store')
  })

  it('answers an unknown grant_type with unsupported_grant_type', async () => {
    const { server } = makeServer()
    const res = await server.handle(tokenRequest({ grant_type: 'urn:example:nope' }, SVC))
    expect(res.status).toBe(400)
    expect(json(res).error).toBe('unsupported_grant_type')
  })

  it('rejects any repeated parameter with invalid_request', async () => {
    const { server } = makeServer()
    for (const body of [
      'grant_type=client_credentials&grant_type=client_credentials',
      'grant_type=client_credentials&scope=api:read&scope=api:write',
      'grant_type=client_credentials&foo=1&foo=2',
      'grant_type=client_credentials&scope=&scope=api:read',
    ]) {
      const res = await server.handle(tokenRequest(body, SVC))
      expect(res.status, body).toBe(400)
      expect(json(res).error, body).toBe('invalid_request')
    }
  })

  it('treats a parameter without a value as omitted (RFC 6749 §3.1)', async () => {
    const { server } = makeServer()
    const body = json(await server.handle(tokenRequest('grant_type=client_credentials&scope=', SVC)))
    expect(body.scope).toBe('api:read api:write')
  })

  it('ignores parameters the grant does not read', async () => {
    const { server } = makeServer()
    const res = await server.handle(tokenRequest({ grant_type: 'client_credentials', code: 'x', redirect_uri: 'https://evil', unknown: 'y' }, SVC))
    expect(res.status).toBe(200)
  })

  it('rejects a body that is not application/x-www-form-urlencoded', async () => {
    const { server } = makeServer()
    for (const type of ['application/json', 'text/plain', 'multipart/form-data; boundary=x', undefined]) {
      const req = tokenRequest({ grant_type: 'client_credentials' }, SVC)
      if (type === undefined) delete req.headers['content-type']
      else req.headers['content-type'] = type
      const res = await server.handle(req)
      expect(res.status, String(type)).toBe(400)
      expect(json(res).error).toBe('invalid_request')
    }
  })

  it('accepts a charset parameter on the form content type', async () => {
    const { server } = makeServer()
    const res = await server.handle(tokenRequest({ grant_type: 'client_credentials' }, { ...SVC, 'content-type': 'Application/X-WWW-Form-Urlencoded; charset=UTF-8' }))
    expect(res.status).toBe(200)
  })

  it('rejects malformed percent-encoding with invalid_request', async () => {
    const { server } = makeServer()
    for (const body of ['grant_type=client_credentials&scope=%zz', 'grant_type=client_credentials&scope=%E0%A4%A', 'grant_type=client%FF']) {
      const res = await server.handle(tokenRequest(body, SVC))
      expect(res.status, body).toBe(400)
      expect(json(res).error).toBe('invalid_request')
    }
  })

  it('answers an oversized body with 413 and an OAuth error', async () => {
    const { server } = makeServer({ maxBodyBytes: 1024 })
    const res = await server.handle(tokenRequest('grant_type=client_credentials&pad=' + 'a'.repeat(2000), SVC))
    expect(res.status).toBe(413)
    expect(json(res).error).toBe('invalid_request')
    const flagged = await server.handle({ ...tokenRequest('', SVC), bodyTooLarge: true })
    expect(flagged.status).toBe(413)
  })

  it('answers GET with 405 and Allow: POST', async () => {
    const { server } = makeServer()
    const res = await server.handle({ method: 'GET', url: new URL(ISSUER + '/token?grant_type=client_credentials'), headers: SVC })
    expect(res.status).toBe(405)
    expect(res.headers.allow).toBe('POST')
  })

  it('refuses client_credentials to a client not registered for it with unauthorized_client', async () => {
    const { server } = makeServer({
      clients: [{ client_id: 'c', client_secret: 's', grant_types: ['client_credentials'], scope: 'a' }, { client_id: 'd', client_secret: 's', grant_types: ['urn:test:other'], scope: 'a' }],
      grants: [
        (await import('../../src/index.js')).clientCredentials,
        { grantType: 'urn:test:other', parameters: [], clientAuth: 'required', handle: async () => ({ access_token: 'x', token_type: 'Bearer' }) },
      ],
    })
    const res = await server.handle(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('d', 's') }))
    expect(res.status).toBe(400)
    expect(json(res).error).toBe('unauthorized_client')
  })

  it('refuses client_credentials to a public client (RFC 6749 §4.4)', async () => {
    const { server } = makeServer()
    const res = await server.handle(tokenRequest({ grant_type: 'client_credentials', client_id: 'pub' }))
    expect(res.status).toBe(400)
    expect(json(res).error).toBe('unauthorized_client')
  })

  it('accepts the form a framework already parsed', async () => {
    const { server } = makeServer()
    const req = tokenRequest('', SVC)
    delete req.body
    req.form = new URLSearchParams({ grant_type: 'client_credentials' })
    expect((await server.handle(req)).status).toBe(200)
    req.form = new URLSearchParams('grant_type=client_credentials&grant_type=client_credentials')
    expect(json(await server.handle(req)).error).toBe('invalid_request')
  })

  it('turns an unexpected failure into a bare server_error and reports it as an event', async () => {
    const { server } = makeServer({
      clients: [{ client_id: 'c', client_secret: 's', grant_types: ['urn:test:boom'] }],
      grants: [{ grantType: 'urn:test:boom', parameters: [], clientAuth: 'required', handle: async () => { throw new Error('database password is hunter2') } }],
    })
    const events: GrantkitEvent[] = []
    server.on('*', (e) => events.push(e))
    const res = await server.handle(tokenRequest({ grant_type: 'urn:test:boom' }, { authorization: basic('c', 's') }))
    expect(res.status).toBe(500)
    expect(json(res)).toEqual({ error: 'server_error', error_description: expect.any(String) })
    expect(res.body).not.toContain('hunter2')
    expect(events.some((e) => e.type === 'server.error')).toBe(true)
  })

  it('emits token.issued without the token value', async () => {
    const { server } = makeServer({ accessTokenFormat: 'opaque' })
    const events: GrantkitEvent[] = []
    server.on('token.issued', (e) => events.push(e))
    const body = json(await server.handle(tokenRequest({ grant_type: 'client_credentials' }, SVC)))
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({ type: 'token.issued', grantType: 'client_credentials', clientId: 'svc', format: 'opaque' })
    expect(JSON.stringify(events)).not.toContain(body.access_token as string)
  })

  it('a listener that throws does not fail the request', async () => {
    const { server } = makeServer()
    server.on('token.issued', () => {
      throw new Error('listener bug')
    })
    expect((await server.handle(tokenRequest({ grant_type: 'client_credentials' }, SVC))).status).toBe(200)
  })

  it('uses the configured access token lifetime and audience', async () => {
    const { server, clock } = makeServer({ ttl: { accessToken: 120 }, accessTokenAudience: ['https://api.example'] })
    const body = json(await server.handle(tokenRequest({ grant_type: 'client_credentials' }, SVC)))
    expect(body.expires_in).toBe(120)
    const [, payload] = (body.access_token as string).split('.')
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>
    expect(claims.exp).toBe(clock.now() + 120)
    expect(claims.aud).toEqual(['https://api.example'])
  })
})

describe('routing', () => {
  it('serves endpoints under the issuer path', async () => {
    const { server } = makeServer({ issuer: 'https://as.example/tenant-a' })
    const res = await server.handle({ ...tokenRequest({ grant_type: 'client_credentials' }, SVC), url: new URL('https://as.example/tenant-a/token') })
    expect(res.status).toBe(200)
    const rootToken = await server.handle({ ...tokenRequest({ grant_type: 'client_credentials' }, SVC), url: new URL('https://as.example/token') })
    expect(rootToken.status).toBe(404)
  })

  it('answers unknown paths with 404', async () => {
    const { server } = makeServer()
    expect((await server.handle({ method: 'GET', url: new URL(ISSUER + '/nope'), headers: {} })).status).toBe(404)
  })
})
