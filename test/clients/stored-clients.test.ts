import { generateKeyPairSync } from 'node:crypto'
import { SignJWT, importJWK, type JWK } from 'jose'
import { describe, expect, it } from 'vitest'
import {
  ClientManagementError,
  createAuthorizationServer,
  createMemoryStorage,
  hashClientSecret,
  SECRET_ROTATION_OVERLAP,
  type AuthorizationServer,
  type GrantkitEvent,
  type Storage,
} from '../../src/index.js'
import { basic, counterIds, fakeClock, ISSUER, json, tokenRequest } from '../helpers.js'

const configured = [{ client_id: 'svc', client_secret: 'svc-secret', grant_types: ['client_credentials'], scope: 'api:read' }]

function makePair(storage?: Storage, clientCacheTtl?: number) {
  const clock = fakeClock()
  const store = storage ?? createMemoryStorage({ now: clock.now })
  const make = (): AuthorizationServer =>
    createAuthorizationServer({
      issuer: ISSUER,
      clients: configured,
      storage: store,
      scopes: ['api:read', 'api:write', 'openid'],
      deps: { now: clock.now, randomId: counterIds() },
      ...(clientCacheTtl !== undefined && { clientCacheTtl }),
    })
  return { clock, storage: store, make }
}

const service = { grant_types: ['client_credentials'], scope: 'api:read' }

async function credentials(server: AuthorizationServer, id: string, secret: string) {
  return server.token(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic(id, secret) }))
}

describe('stored clients (server.clients)', () => {
  it('creates a client whose secret is shown once and stored only as its hash; it gets tokens at once', async () => {
    const { make, storage } = makePair()
    const server = make()
    const { client, secret } = await server.clients.create(service)
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(client.hasSecret).toBe(true)
    expect(client.metadata).toMatchObject({ client_id: client.clientId, client_secret_expires_at: 0, scope: 'api:read' })
    expect(JSON.stringify(client)).not.toContain(secret!)
    const record = await storage.clients!.get(client.clientId)
    expect(JSON.stringify(record)).not.toContain(secret!)
    expect(record?.secretHash).toBe('sha256:' + hashClientSecret(secret!).toString('base64url'))
    const res = await credentials(server, client.clientId, secret!)
    expect(res.status).toBe(200)
    expect(json(res).scope).toBe('api:read')
    expect((await credentials(server, client.clientId, secret + 'x')).status).toBe(401)
    expect(await server.clients.get(client.clientId)).toEqual(client)
  })

  it('authenticates stored clients with client_secret_post and none', async () => {
    const server = makePair().make()
    const post = await server.clients.create({ ...service, token_endpoint_auth_method: 'client_secret_post' })
    const ok = await server.token(tokenRequest({ grant_type: 'client_credentials', client_id: post.client.clientId, client_secret: post.secret! }))
    expect(ok.status).toBe(200)
    // Registered for post: Basic is refused (one method, the registered one).
    expect((await credentials(server, post.client.clientId, post.secret!)).status).toBe(401)

    const pub = await server.clients.create({ token_endpoint_auth_method: 'none', grant_types: ['refresh_token'], scope: 'api:read' })
    expect(pub.secret).toBeUndefined()
    const revoke = (client_id: string) => server.handle(tokenRequest({ token: 'whatever', client_id }, {}, '/revoke'))
    expect((await revoke(pub.client.clientId)).status).toBe(200)
    expect((await revoke('nobody')).status).toBe(401)
  })

  it('authenticates a stored private_key_jwt client, and replaceKeys swaps its keys at once', async () => {
    const { make, clock } = makePair()
    const server = make()
    const pair = () => {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      return { priv: privateKey.export({ format: 'jwk' }) as JWK, pub: { ...(publicKey.export({ format: 'jwk' }) as JWK), alg: 'ES256', use: 'sig' } }
    }
    const first = pair()
    const { client } = await server.clients.create({ ...service, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [first.pub] } })
    let n = 0
    const assertion = async (priv: JWK) =>
      new SignJWT({ jti: `j${++n}` })
        .setProtectedHeader({ alg: 'ES256' })
        .setIssuer(client.clientId)
        .setSubject(client.clientId)
        .setAudience(`${ISSUER}/token`)
        .setIssuedAt(clock.now())
        .setExpirationTime(clock.now() + 60)
        .sign(await importJWK(priv, 'ES256'))
    const call = async (priv: JWK) =>
      server.token(tokenRequest({ grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: await assertion(priv) }))
    expect((await call(first.priv)).status).toBe(200)
    const second = pair()
    await server.clients.replaceKeys(client.clientId, { keys: [second.pub] })
    expect((await call(second.priv)).status).toBe(200)
    expect((await call(first.priv)).status).toBe(401)
  })

  it('refuses a configured id, a taken id, secrets in the metadata, client_secret_jwt, and metadata the server cannot serve, naming the field', async () => {
    const server = makePair().make()
    const refused = async (p: Promise<unknown>, code: string, field?: string) => {
      const err = await p.then(() => undefined, (e: unknown) => e)
      expect(err).toBeInstanceOf(ClientManagementError)
      expect((err as ClientManagementError).code).toBe(code)
      if (field !== undefined) expect((err as ClientManagementError).field).toBe(field)
    }
    await refused(server.clients.create({ ...service, client_id: 'svc' }), 'configured_client', 'client_id')
    await server.clients.create({ ...service, client_id: 'mine' })
    await refused(server.clients.create({ ...service, client_id: 'mine' }), 'conflict', 'client_id')
    await refused(server.clients.create({ ...service, client_secret: 'chosen' } as never), 'invalid_client_metadata', 'client_secret')
    await refused(server.clients.create({ ...service, token_endpoint_auth_method: 'client_secret_jwt' }), 'invalid_client_metadata', 'token_endpoint_auth_method')
    await refused(server.clients.create({ grant_types: ['authorization_code'], redirect_uris: ['http://app.example/cb'] }), 'invalid_redirect_uri', 'redirect_uris[0]')
    await refused(server.clients.create({ grant_types: ['urn:example:nope'] }), 'invalid_client_metadata', 'grant_types')
    await refused(server.clients.create({ ...service, scope: 'api:admin' }), 'invalid_client_metadata', 'scope')
    await refused(server.clients.create({ ...service, client_id: 'bad\nid' }), 'invalid_client_metadata', 'client_id')
    await refused(server.clients.update('nobody', service), 'not_found')
    // Nothing refused was stored.
    expect((await server.clients.list()).clients.map((c) => c.clientId)).toEqual(['mine'])
  })

  it('keeps the configured client when the store has one of the same id, and reports the stored one', async () => {
    const { make, storage, clock } = makePair()
    await storage.clients!.create({ clientId: 'svc', metadata: { grant_types: ['client_credentials'], scope: 'api:read' }, secretHash: 'sha256:' + hashClientSecret('stored-secret').toString('base64url'), secretExpiresAt: 0, createdAt: clock.now(), updatedAt: clock.now(), version: 1 })
    const server = make()
    const events: GrantkitEvent[] = []
    server.on('client.ignored', (e) => events.push(e))
    await new Promise((r) => setTimeout(r, 10))
    expect(events).toMatchObject([{ type: 'client.ignored', clientId: 'svc', reason: 'shadowed', detail: expect.stringContaining('configured') }])
    expect(await server.clients.shadowed()).toEqual(['svc'])
    expect((await credentials(server, 'svc', 'svc-secret')).status).toBe(200)
    expect((await credentials(server, 'svc', 'stored-secret')).status).toBe(401)
  })

  it('updates whole metadata by compare-and-swap on the version, and deletes', async () => {
    const server = makePair().make()
    const { client, secret } = await server.clients.create(service)
    const updated = await server.clients.update(client.clientId, { ...service, scope: 'api:read api:write', client_name: 'Two' }, { expectedVersion: 1 })
    expect(updated.secret).toBeUndefined()
    expect(updated.client).toMatchObject({ version: 2, metadata: { client_name: 'Two', scope: 'api:read api:write' } })
    const res = await server.token(tokenRequest({ grant_type: 'client_credentials', scope: 'api:write' }, { authorization: basic(client.clientId, secret!) }))
    expect(json(res).scope).toBe('api:write')
    await expect(server.clients.update(client.clientId, service, { expectedVersion: 1 })).rejects.toMatchObject({ code: 'conflict' })
    // Moving to a method without a secret drops it; moving back makes a new one, shown once.
    const pub = await server.clients.update(client.clientId, { ...service, grant_types: ['refresh_token'], token_endpoint_auth_method: 'none' })
    expect(pub.client.hasSecret).toBe(false)
    const back = await server.clients.update(client.clientId, service)
    expect(back.secret).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect((await credentials(server, client.clientId, secret!)).status).toBe(401)
    expect((await credentials(server, client.clientId, back.secret!)).status).toBe(200)
    expect(await server.clients.delete(client.clientId)).toBe(true)
    expect(await server.clients.delete(client.clientId)).toBe(false)
    expect((await credentials(server, client.clientId, back.secret!)).status).toBe(401)
  })

  it('lists in pages', async () => {
    const server = makePair().make()
    for (const id of ['c', 'a', 'b']) await server.clients.create({ ...service, client_id: id })
    const first = await server.clients.list({ limit: 2 })
    expect(first.clients.map((c) => c.clientId)).toEqual(['a', 'b'])
    expect(first.next).toBe('b')
    const second = await server.clients.list({ after: first.next!, limit: 2 })
    expect(second).toEqual({ clients: [expect.objectContaining({ clientId: 'c' })] })
    await expect(server.clients.list({ limit: 0 })).rejects.toBeInstanceOf(ClientManagementError)
  })

  it('emits client.changed without the secret', async () => {
    const server = makePair().make()
    const events: GrantkitEvent[] = []
    server.on('*', (e) => events.push(e))
    const { client, secret } = await server.clients.create(service)
    const rotated = await server.clients.rotateSecret(client.clientId)
    await server.clients.delete(client.clientId)
    expect(events.filter((e) => e.type === 'client.changed').map((e) => (e as { change: string }).change)).toEqual(['created', 'secret.rotated', 'deleted'])
    expect(JSON.stringify(events)).not.toContain(secret!)
    expect(JSON.stringify(events)).not.toContain(rotated.secret)
  })

  it('fails every management call, naming the store, on a storage without clients', async () => {
    const clock = fakeClock()
    const { clients: _none, ...storage } = createMemoryStorage({ now: clock.now })
    const server = createAuthorizationServer({ issuer: ISSUER, clients: configured, storage, deps: { now: clock.now } })
    await expect(server.clients.create(service)).rejects.toThrow(/storage\.clients: missing/)
    // Configured clients work as before.
    expect((await credentials(server, 'svc', 'svc-secret')).status).toBe(200)
  })
})

describe('secret rotation with an overlap', () => {
  it('accepts the new secret at once and the old one until oldSecretValidUntil, then invalid_client', async () => {
    const { make, clock } = makePair()
    const server = make()
    const { client, secret: old } = await server.clients.create(service)
    const rotated = await server.clients.rotateSecret(client.clientId, { oldSecretValidUntil: clock.now() + 600 })
    expect(rotated.secret).not.toBe(old)
    expect(rotated.client.previousSecretValidUntil).toBe(clock.now() + 600)
    expect((await credentials(server, client.clientId, rotated.secret)).status).toBe(200)
    clock.advance(599)
    expect((await credentials(server, client.clientId, old!)).status).toBe(200)
    clock.advance(1)
    const late = await credentials(server, client.clientId, old!)
    expect(late.status).toBe(401)
    expect(json(late).error).toBe('invalid_client')
    expect((await credentials(server, client.clientId, rotated.secret)).status).toBe(200)
  })

  it('keeps the old secret a day by default; a rotation ending now, or a second rotation, ends the overlap', async () => {
    const { make, clock } = makePair()
    const server = make()
    const { client, secret: s1 } = await server.clients.create(service)
    const r2 = await server.clients.rotateSecret(client.clientId)
    expect(r2.client.previousSecretValidUntil).toBe(clock.now() + SECRET_ROTATION_OVERLAP)
    const r3 = await server.clients.rotateSecret(client.clientId)
    expect((await credentials(server, client.clientId, s1!)).status).toBe(401)
    expect((await credentials(server, client.clientId, r2.secret)).status).toBe(200)
    const r4 = await server.clients.rotateSecret(client.clientId, { oldSecretValidUntil: clock.now() })
    expect(r4.client.previousSecretValidUntil).toBeUndefined()
    expect((await credentials(server, client.clientId, r3.secret)).status).toBe(401)
    expect((await credentials(server, client.clientId, r4.secret)).status).toBe(200)
  })

  it('refuses to rotate a client without a secret', async () => {
    const server = makePair().make()
    const { client } = await server.clients.create({ token_endpoint_auth_method: 'none', grant_types: ['refresh_token'] })
    await expect(server.clients.rotateSecret(client.clientId)).rejects.toMatchObject({ code: 'no_secret' })
  })
})

describe('two processes on one store: the cache bound (clientCacheTtl)', () => {
  it('a deletion through one server is in force on the other after the TTL, and not before', async () => {
    const { make, clock } = makePair(undefined, 30)
    const a = make()
    const b = make()
    const { client, secret } = await a.clients.create(service)
    expect((await credentials(b, client.clientId, secret!)).status).toBe(200)
    await a.clients.delete(client.clientId)
    expect((await credentials(a, client.clientId, secret!)).status).toBe(401)
    clock.advance(29)
    expect((await credentials(b, client.clientId, secret!)).status).toBe(200)
    clock.advance(1)
    expect((await credentials(b, client.clientId, secret!)).status).toBe(401)
  })

  it('an update through one server is in force on the other within the TTL', async () => {
    const { make, clock } = makePair(undefined, 10)
    const a = make()
    const b = make()
    const { client, secret } = await a.clients.create({ ...service, scope: 'api:read api:write' })
    const scoped = async (server: AuthorizationServer) => json(await server.token(tokenRequest({ grant_type: 'client_credentials', scope: 'api:write' }, { authorization: basic(client.clientId, secret!) })))
    expect((await scoped(b)).scope).toBe('api:write')
    await a.clients.update(client.clientId, service)
    expect((await scoped(a)).error).toBe('invalid_scope')
    clock.advance(9)
    expect((await scoped(b)).scope).toBe('api:write')
    clock.advance(1)
    expect((await scoped(b)).error).toBe('invalid_scope')
  })

  it('a rotated secret works on the other server at once; the old one ends there at its time', async () => {
    const { make, clock } = makePair(undefined, 30)
    const a = make()
    const b = make()
    const { client, secret: old } = await a.clients.create(service)
    expect((await credentials(b, client.clientId, old!)).status).toBe(200)
    clock.advance(2)
    const rotated = await a.clients.rotateSecret(client.clientId, { oldSecretValidUntil: clock.now() + 5 })
    expect((await credentials(b, client.clientId, rotated.secret)).status).toBe(200)
    clock.advance(5)
    expect((await credentials(b, client.clientId, old!)).status).toBe(401)
  })

  it('a client created through one server is found by the other at once, even after the other was asked for it', async () => {
    const { make, clock } = makePair(undefined, 30)
    const a = make()
    const b = make()
    expect((await credentials(b, 'later', 'x')).status).toBe(401)
    clock.advance(2)
    const { secret } = await a.clients.create({ ...service, client_id: 'later' })
    expect((await credentials(b, 'later', secret!)).status).toBe(200)
  })

  it('reads the store again after a failure at most once a second per client', async () => {
    const { make, storage } = makePair(undefined, 30)
    const server = make()
    const { client, secret } = await server.clients.create(service)
    let reads = 0
    const store = storage.clients!
    const get = store.get.bind(store)
    store.get = async (id) => {
      reads++
      return get(id)
    }
    expect((await credentials(server, client.clientId, secret!)).status).toBe(200)
    expect(reads).toBe(1)
    for (let i = 0; i < 20; i++) await credentials(server, client.clientId, 'wrong')
    expect(reads).toBe(1)
  })

  it('with clientCacheTtl 0 reads the store at every lookup', async () => {
    const { make } = makePair(undefined, 0)
    const a = make()
    const b = make()
    const { client, secret } = await a.clients.create(service)
    expect((await credentials(b, client.clientId, secret!)).status).toBe(200)
    await a.clients.delete(client.clientId)
    expect((await credentials(b, client.clientId, secret!)).status).toBe(401)
  })
})

describe('CORS with stored clients', () => {
  const preflight = (server: AuthorizationServer, origin: string) =>
    server.handle({ method: 'OPTIONS', url: new URL(`${ISSUER}/token`), headers: { origin, 'access-control-request-method': 'POST' } })

  it("answers a preflight from a stored public client's redirect origin, and stops after its deletion within the TTL", async () => {
    const { make, clock } = makePair(undefined, 30)
    const a = make()
    const b = make()
    await new Promise((r) => setTimeout(r, 5))
    expect((await preflight(b, 'https://spa.example')).status).toBe(403)
    const { client } = await a.clients.create({ token_endpoint_auth_method: 'none', grant_types: ['refresh_token'], redirect_uris: ['https://spa.example/cb'] })
    // Local change: in force here at once.
    await new Promise((r) => setTimeout(r, 5))
    expect((await preflight(a, 'https://spa.example')).status).toBe(204)
    clock.advance(30)
    await preflight(b, 'https://spa.example')
    await new Promise((r) => setTimeout(r, 5))
    expect((await preflight(b, 'https://spa.example')).status).toBe(204)
    // A confidential client allows no origin unless it lists it.
    expect((await preflight(b, 'https://other.example')).status).toBe(403)
    await a.clients.delete(client.clientId)
    await new Promise((r) => setTimeout(r, 5))
    expect((await preflight(a, 'https://spa.example')).status).toBe(403)
  })

  it('refuses a token request from an origin the stored client does not allow', async () => {
    const server = makePair().make()
    const { client, secret } = await server.clients.create({ ...service, allowed_origins: ['https://ok.example'] })
    const from = (origin: string) => server.token(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic(client.clientId, secret!), origin }))
    expect((await from('https://ok.example')).status).toBe(200)
    expect(json(await from('https://evil.example')).error).toBe('invalid_request')
  })
})
