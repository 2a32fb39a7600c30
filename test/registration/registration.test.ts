import { generateKeyPairSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { hashClientSecret, RegistrationPolicyError, type GrantkitEvent } from '../../src/index.js'
import { basic, ISSUER, makeServer, tokenRequest } from '../helpers.js'
import { body, manageRequest, registerRequest, registrationServer, UI, type AuthorizationServer } from './fixtures.js'

const WEB = { redirect_uris: ['https://app.example/cb'], client_name: 'App', scope: 'openid profile' }
const SERVICE = { grant_types: ['client_credentials'], scope: 'api:read' }

async function register(server: AuthorizationServer, metadata: unknown, headers?: Record<string, string>) {
  const res = await server.handle(registerRequest(metadata, headers))
  return { res, json: body(res) }
}

function discovery(server: AuthorizationServer) {
  return server.handle({ method: 'GET', url: new URL(ISSUER + '/.well-known/oauth-authorization-server'), headers: {} }).then(body)
}

describe('dynamic client registration (RFC 7591 §3)', () => {
  it('is off by default: no registration_endpoint in discovery and the endpoint is 404', async () => {
    const { server } = makeServer()
    expect(await discovery(server)).not.toHaveProperty('registration_endpoint')
    expect((await server.handle(registerRequest(SERVICE))).status).toBe(404)
    expect((await registrationServer({}).server.handle(registerRequest(SERVICE))).status).toBe(404)
    const off = registrationServer({ enabled: false }).server
    expect((await off.handle(registerRequest(SERVICE))).status).toBe(404)
  })

  it('advertises registration_endpoint when enabled (RFC 8414 §2)', async () => {
    const { server } = registrationServer()
    expect((await discovery(server)).registration_endpoint).toBe(ISSUER + '/register')
    const oidc = await server.handle({ method: 'GET', url: new URL(ISSUER + '/.well-known/openid-configuration'), headers: {} })
    expect(body(oidc).registration_endpoint).toBe(ISSUER + '/register')
  })

  it('registers a confidential client: 201 with client_id, secret, times, token, client URI and the metadata (§3.2.1)', async () => {
    const { server, clock } = registrationServer()
    const { res, json } = await register(server, WEB)
    expect(res.status).toBe(201)
    expect(res.headers['cache-control']).toBe('no-store')
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    expect(json).toMatchObject({
      client_id: expect.any(String),
      client_secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      client_id_issued_at: clock.now(),
      client_secret_expires_at: 0,
      registration_access_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      redirect_uris: WEB.redirect_uris,
      client_name: 'App',
      scope: 'openid profile',
      // §2: the defaults are stated, not left for the client to guess.
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code'],
      response_types: ['code'],
    })
    expect(json.registration_client_uri).toBe(`${ISSUER}/register/${encodeURIComponent(json.client_id)}`)
    expect(json.registration_access_token).not.toBe(json.client_secret)
  })

  it('registers a public client without a secret (token_endpoint_auth_method none)', async () => {
    const { server } = registrationServer()
    const { res, json } = await register(server, { ...WEB, token_endpoint_auth_method: 'none' })
    expect(res.status).toBe(201)
    expect(json).not.toHaveProperty('client_secret')
    expect(json).not.toHaveProperty('client_secret_expires_at')
    expect(json.registration_access_token).toBeTruthy()
  })

  it('registers a private_key_jwt client with its keys and no secret', async () => {
    const { server } = registrationServer()
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const jwks = { keys: [{ ...(publicKey.export({ format: 'jwk' }) as Record<string, unknown>), kid: 'k1', alg: 'ES256' }] }
    const { res, json } = await register(server, { ...SERVICE, token_endpoint_auth_method: 'private_key_jwt', jwks })
    expect(res.status, res.body).toBe(201)
    expect(json).not.toHaveProperty('client_secret')
    expect(json.jwks).toEqual(jwks)
    // client_secret_jwt needs the secret in plain form, which is never kept.
    expect((await register(server, { ...SERVICE, token_endpoint_auth_method: 'client_secret_jwt' })).json.error).toBe('invalid_client_metadata')
  })

  it('ignores metadata it does not understand, and never lets a client pick its id or privileges (§2)', async () => {
    const { server, storage } = registrationServer()
    const { res, json } = await register(server, {
      ...SERVICE,
      client_id: 'chosen',
      client_secret: 'chosen-secret',
      client_id_issued_at: 1,
      favourite_colour: 'blue',
      introspection_allowed: true,
      jwt_bearer_subjects: ['alice'],
    })
    expect(res.status).toBe(201)
    expect(json.client_id).not.toBe('chosen')
    expect(json.client_secret).not.toBe('chosen-secret')
    expect(json.client_id_issued_at).not.toBe(1)
    for (const field of ['favourite_colour', 'introspection_allowed', 'jwt_bearer_subjects']) expect(json).not.toHaveProperty(field)
    const record = await storage.clients!.get(json.client_id)
    expect(Object.keys(record!.metadata).sort()).toEqual(['grant_types', 'response_types', 'scope', 'token_endpoint_auth_method'])
  })

  it('stores only hashes of the secret and of the registration access token', async () => {
    const { server, storage } = registrationServer()
    const { json } = await register(server, SERVICE)
    const stored = JSON.stringify(await storage.clients!.get(json.client_id))
    expect(stored).not.toContain(json.client_secret)
    expect(stored).not.toContain(json.registration_access_token)
  })

  it('emits no secret or token in events', async () => {
    const { server } = registrationServer()
    const events: GrantkitEvent[] = []
    server.on('*', (e) => events.push(e))
    const { json } = await register(server, SERVICE)
    await server.handle(manageRequest('PUT', json.registration_client_uri, json.registration_access_token, { ...SERVICE, client_id: json.client_id }))
    const seen = JSON.stringify(events)
    expect(events.some((e) => e.type === 'client.changed')).toBe(true)
    expect(seen).not.toContain(json.client_secret)
    expect(seen).not.toContain(json.registration_access_token)
  })

  it('the registered client gets a token with client_credentials', async () => {
    const { server } = registrationServer()
    const { json } = await register(server, SERVICE)
    const res = await server.handle(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic(json.client_id, json.client_secret) }))
    expect(res.status, res.body).toBe(200)
    expect(body(res).scope).toBe('api:read')
  })

  it('the registered client completes the authorization code flow', async () => {
    const { server } = registrationServer()
    const { json } = await register(server, WEB)
    const url = new URL(ISSUER + '/authorize')
    url.search = new URLSearchParams({ response_type: 'code', client_id: json.client_id, redirect_uri: WEB.redirect_uris[0]!, scope: 'openid', state: 's' }).toString()
    const started = await server.handle({ method: 'GET', url, headers: {} })
    expect(started.status, started.body).toBe(303)
    const location = new URL(started.headers.location as string)
    expect(location.href.startsWith(UI + '/')).toBe(true)
    const cookie = String(started.headers['set-cookie']).split(';')[0]!
    const finished = await server.interactions.finish({ method: 'POST', url: location, headers: { cookie } }, location.pathname.split('/').pop()!, { login: { sub: 'alice' }, consent: {} })
    const code = new URL(finished.headers.location as string).searchParams.get('code')!
    const res = await server.handle(
      tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: WEB.redirect_uris[0]! }, { authorization: basic(json.client_id, json.client_secret) }),
    )
    expect(res.status, res.body).toBe(200)
    expect(body(res).id_token).toBeTruthy()
  })

  describe('errors (§3.2.2)', () => {
    it('invalid_redirect_uri for an http redirect URI on a public host (RFC 9700 §2.6)', async () => {
      const { server } = registrationServer()
      const { res, json } = await register(server, { ...WEB, redirect_uris: ['http://app.example/cb'] })
      expect(res.status).toBe(400)
      expect(res.headers['cache-control']).toBe('no-store')
      expect(json.error).toBe('invalid_redirect_uri')
      expect(json.error_description).toContain('redirect_uris')
    })

    it('invalid_redirect_uri for a redirect URI with a fragment', async () => {
      const { server } = registrationServer()
      expect((await register(server, { ...WEB, redirect_uris: ['https://app.example/cb#x'] })).json.error).toBe('invalid_redirect_uri')
    })

    it('accepts loopback http and native app redirect URIs', async () => {
      const { server } = registrationServer()
      const { res } = await register(server, { ...WEB, token_endpoint_auth_method: 'none', redirect_uris: ['http://127.0.0.1:8123/cb', 'com.example.app:/cb'] })
      expect(res.status, res.body).toBe(201)
    })

    it('invalid_client_metadata for a grant type the server does not offer, a wrong type, a bad link', async () => {
      const { server } = registrationServer()
      for (const metadata of [
        { grant_types: ['urn:example:unknown'] },
        { ...SERVICE, scope: 42 },
        { ...SERVICE, token_endpoint_auth_method: 'magic' },
        { ...SERVICE, client_uri: 'javascript:alert(1)' },
        { ...SERVICE, contacts: 'me@example.com' },
        { ...SERVICE, scope: 'admin' },
        [],
      ]) {
        const { res, json } = await register(server, metadata)
        expect(res.status, JSON.stringify(metadata)).toBe(400)
        expect(json.error, JSON.stringify(metadata)).toBe('invalid_client_metadata')
      }
    })

    it('authorization_code without redirect_uris is invalid metadata', async () => {
      const { server } = registrationServer()
      const { json } = await register(server, { scope: 'openid' })
      expect(['invalid_client_metadata', 'invalid_redirect_uri']).toContain(json.error)
    })

    it('refuses a body that is not JSON (400), not application/json (400) or too large (413)', async () => {
      const { server } = registrationServer()
      expect((await register(server, '{"redirect_uris": [')).json.error).toBe('invalid_request')
      const form = await server.handle({ ...registerRequest(SERVICE), headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'scope=api%3Aread' })
      expect(form.status).toBe(400)
      expect(body(form).error).toBe('invalid_request')
      const big = await server.handle(registerRequest({ ...SERVICE, client_name: 'x'.repeat(70_000) }))
      expect(big.status).toBe(413)
      const cut = await server.handle({ ...registerRequest(SERVICE), bodyTooLarge: true })
      expect(cut.status).toBe(413)
    })

    it('answers other methods on the registration endpoint with 405 and Allow', async () => {
      const { server } = registrationServer()
      const res = await server.handle({ method: 'GET', url: new URL(ISSUER + '/register'), headers: {} })
      expect(res.status).toBe(405)
      expect(res.headers.allow).toBe('POST')
      const patch = await server.handle({ method: 'PATCH', url: new URL(ISSUER + '/register'), headers: {} })
      expect(patch.status).toBe(405)
    })
  })

  describe('initial access token (§3)', () => {
    const TOKEN = 'initial-access-token-0123456789abcdef'

    it('requires it when configured: missing or wrong is 401 invalid_token with a Bearer challenge', async () => {
      const { server } = registrationServer({ enabled: true, initialAccessToken: TOKEN })
      for (const headers of [{} as Record<string, string>, { authorization: 'Bearer wrong-token' }, { authorization: `Bearer ${TOKEN}x` }, { authorization: `Basic ${TOKEN}` }]) {
        const { res, json } = await register(server, SERVICE, headers)
        expect(res.status, JSON.stringify(headers)).toBe(401)
        expect(json.error).toBe('invalid_token')
        expect(res.headers['www-authenticate']).toMatch(/^Bearer /)
      }
      const { res } = await register(server, SERVICE, { authorization: `Bearer ${TOKEN}` })
      expect(res.status).toBe(201)
    })

    it('checks the token before the body: an unauthenticated caller learns nothing about its metadata', async () => {
      const { server } = registrationServer({ enabled: true, initialAccessToken: TOKEN })
      const { res } = await register(server, '{not json')
      expect(res.status).toBe(401)
    })

    it('accepts any of several tokens', async () => {
      const { server } = registrationServer({ enabled: true, initialAccessToken: ['first-token-abcdefghijklmnop', TOKEN] })
      expect((await register(server, SERVICE, { authorization: `Bearer ${TOKEN}` })).res.status).toBe(201)
      expect((await register(server, SERVICE, { authorization: 'Bearer first-token-abcdefghijklmnop' })).res.status).toBe(201)
    })

    it('refuses a misconfigured token at construction, naming the option', () => {
      expect(() => registrationServer({ enabled: true, initialAccessToken: '' })).toThrow(/^registration\.initialAccessToken: /)
      expect(() => registrationServer({ enabled: true, initialAccessToken: ['ok-token', 'has space'] })).toThrow(/^registration\.initialAccessToken\[1\]: /)
      expect(() => registrationServer({ enabled: true, initialAccessToken: [] })).toThrow(/^registration\.initialAccessToken: /)
    })
  })

  describe('policy', () => {
    it('refuses what the deployment does not allow with its RFC 7591 code and message', async () => {
      const { server } = registrationServer({
        enabled: true,
        policy: (metadata) => {
          if ((metadata.grant_types as string[] | undefined)?.includes('client_credentials')) throw new RegistrationPolicyError('invalid_client_metadata', 'grant_types: client_credentials is not offered to registered clients')
          if ((metadata.redirect_uris as string[] | undefined)?.some((u) => !u.startsWith('https://app.example/'))) throw new RegistrationPolicyError('invalid_redirect_uri', 'redirect_uris: only https://app.example/ is allowed')
          return metadata
        },
      })
      const refused = await register(server, SERVICE)
      expect(refused.res.status).toBe(400)
      expect(refused.json).toEqual({ error: 'invalid_client_metadata', error_description: 'grant_types: client_credentials is not offered to registered clients' })
      expect((await register(server, { ...WEB, redirect_uris: ['https://evil.example/cb'] })).json.error).toBe('invalid_redirect_uri')
      expect((await register(server, WEB)).res.status).toBe(201)
    })

    it('fills defaults, sees only understood fields, and is told the action', async () => {
      const seen: unknown[] = []
      const { server } = registrationServer({
        enabled: true,
        policy: (metadata, ctx) => {
          seen.push({ metadata, action: ctx.action, clientId: ctx.clientId })
          return { scope: 'api:read', ...metadata }
        },
      })
      const { res, json } = await register(server, { grant_types: ['client_credentials'], unknown_field: 1 })
      expect(res.status).toBe(201)
      expect(json.scope).toBe('api:read')
      expect(seen[0]).toEqual({ metadata: { grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_basic', response_types: [] }, action: 'register', clientId: undefined })
      await server.handle(manageRequest('PUT', json.registration_client_uri, json.registration_access_token, { client_id: json.client_id, grant_types: ['client_credentials'] }))
      expect(seen[1]).toMatchObject({ action: 'update', clientId: json.client_id })
    })

    it('cannot take the server past its own rules', async () => {
      const { server } = registrationServer({ enabled: true, policy: (m) => ({ ...m, redirect_uris: ['http://public.example/cb'] }) })
      expect((await register(server, WEB)).json.error).toBe('invalid_redirect_uri')
    })

    it('a policy that fails otherwise is a bare server_error', async () => {
      const { server } = registrationServer({
        enabled: true,
        policy: () => {
          throw new Error('database of allowed apps is down: password=hunter2')
        },
      })
      const { res, json } = await register(server, WEB)
      expect(res.status).toBe(500)
      expect(json.error).toBe('server_error')
      expect(res.body).not.toContain('hunter2')
    })

    it('refuses a policy that is not a function at construction', () => {
      expect(() => registrationServer({ enabled: true, policy: 'allow' as never })).toThrow(/^registration\.policy: /)
    })
  })
})
