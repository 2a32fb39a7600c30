/**
 * private_key_jwt (and a client's own JWT bearer assertions) with keys
 * published at a `jwks_uri` (RFC 7591 §2): fetched from a local web host
 * through the guarded cache, on the server's clock.
 */
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAuthorizationServer, defaultGrants, type ClientMetadata, type GrantkitEvent } from '../../src/index.js'
import { counterIds, fakeClock, ISSUER } from '../helpers.js'
import { startDocumentServer, type DocumentServer } from './document-server.js'
import { assertionClaims, ECHO_GRANT, echoGrant, expectAuthenticated, expectInvalidClient, failures, JWT_BEARER, START, testKeys, tokenRequest, TOKEN_URL, type TestKey } from './fixtures.js'

let host: DocumentServer
beforeAll(async () => {
  host = await startDocumentServer()
})
afterAll(() => host.close())

let paths = 0
/** A fresh path on the host for each test, so counts and caches start empty. */
function freshPath(): string {
  return `/jwks-${++paths}.json`
}

function setup(jwksPath: string, extra: Partial<ClientMetadata> = {}) {
  const clock = fakeClock(START)
  const server = createAuthorizationServer({
    issuer: ISSUER,
    clients: [
      {
        client_id: 'remote',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks_uri: `${host.origin}${jwksPath}`,
        grant_types: ['client_credentials', ECHO_GRANT, 'urn:ietf:params:oauth:grant-type:jwt-bearer'],
        scope: 'api:read',
        ...extra,
      },
    ],
    grants: [...defaultGrants, echoGrant],
    allowPrivateNetworkFetches: true,
    deps: { now: clock.now, randomId: counterIds(), randomToken: counterIds('token') },
  })
  const events: GrantkitEvent[] = []
  server.on('*', (e) => void events.push(e))
  const nextJti = counterIds('jti')
  const assertion = (key: TestKey, claims: Record<string, unknown> = {}) =>
    new SignJWT(assertionClaims(clock.now(), nextJti, { sub: 'remote', ...claims })).setProtectedHeader({ alg: key.alg, kid: key.kid }).sign(key.privateKey)
  const authenticate = async (key: TestKey) =>
    server.token(tokenRequest({ grant_type: ECHO_GRANT, client_assertion_type: JWT_BEARER, client_assertion: await assertion(key) }))
  return { server, clock, events, assertion, authenticate }
}

async function newKey(kid: string): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  return { alg: 'ES256', kid, privateKey, publicKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256' } }
}

describe('private_key_jwt with jwks_uri', () => {
  it('authenticates with a key fetched from the jwks_uri, fetched once for many assertions', async () => {
    const keys = await testKeys()
    const path = freshPath()
    host.route(path, { json: { keys: [keys.es256.publicJwk, keys.rs256.publicJwk] }, headers: { 'cache-control': 'max-age=600' } })
    const t = setup(path)
    expectAuthenticated(await t.authenticate(keys.es256), 'remote', 'private_key_jwt')
    expectAuthenticated(await t.authenticate(keys.rs256), 'remote', 'private_key_jwt')
    expect(host.hits(path)).toBe(1)
  })

  it("keeps the key set for its Cache-Control max-age on the server's clock, then fetches it again", async () => {
    const keys = await testKeys()
    const path = freshPath()
    host.route(path, { json: { keys: [keys.es256.publicJwk] }, headers: { 'cache-control': 'public, max-age=900' } })
    const t = setup(path)
    expectAuthenticated(await t.authenticate(keys.es256), 'remote', 'private_key_jwt')
    t.clock.advance(899)
    expectAuthenticated(await t.authenticate(keys.es256), 'remote', 'private_key_jwt')
    expect(host.hits(path)).toBe(1)
    t.clock.advance(1)
    expectAuthenticated(await t.authenticate(keys.es256), 'remote', 'private_key_jwt')
    expect(host.hits(path)).toBe(2)
  })

  it('keeps a no-store key set for the minimum lifetime (remoteDocuments.minCacheTtl, 300 s)', async () => {
    const keys = await testKeys()
    const path = freshPath()
    host.route(path, { json: { keys: [keys.es256.publicJwk] }, headers: { 'cache-control': 'no-store' } })
    const t = setup(path)
    await t.authenticate(keys.es256)
    t.clock.advance(299)
    await t.authenticate(keys.es256)
    expect(host.hits(path)).toBe(1)
    t.clock.advance(1)
    await t.authenticate(keys.es256)
    expect(host.hits(path)).toBe(2)
  })

  it('fetches again for an unknown kid (a rotated key), at most once per refetchInterval', async () => {
    const keys = await testKeys()
    const rotated = await newKey('rotated-1')
    const later = await newKey('rotated-2')
    const path = freshPath()
    host.route(path, { json: { keys: [keys.es256.publicJwk] }, headers: { 'cache-control': 'max-age=86400' } })
    const t = setup(path)
    expectAuthenticated(await t.authenticate(keys.es256), 'remote', 'private_key_jwt')
    t.clock.advance(60)
    // The client rotates: the new key is published, then used.
    host.route(path, { json: { keys: [keys.es256.publicJwk, rotated.publicJwk] }, headers: { 'cache-control': 'max-age=86400' } })
    expectAuthenticated(await t.authenticate(rotated), 'remote', 'private_key_jwt')
    expect(host.hits(path)).toBe(2)
    // Made-up kids within the interval do not reach the client's host.
    const stranger = (await testKeys()).stranger
    for (let i = 0; i < 5; i++) expectInvalidClient(await t.authenticate(stranger))
    expect(host.hits(path)).toBe(2)
    // Nor does the next real rotation until the interval has passed.
    host.route(path, { json: { keys: [rotated.publicJwk, later.publicJwk] }, headers: { 'cache-control': 'max-age=86400' } })
    t.clock.advance(59)
    expectInvalidClient(await t.authenticate(later))
    expect(host.hits(path)).toBe(2)
    t.clock.advance(1)
    expectAuthenticated(await t.authenticate(later), 'remote', 'private_key_jwt')
    expect(host.hits(path)).toBe(3)
  })

  it('answers invalid_client, saying why in the event only, when the key set cannot be had', async () => {
    const keys = await testKeys()
    const t = setup('/missing.json')
    const res = await t.authenticate(keys.es256)
    expectInvalidClient(res)
    expect(res.body).not.toContain('127.0.0.1')
    expect(failures(t.events).at(-1)?.detail).toMatch(/missing\.json answered 404/)
  })

  it('refuses a key set that is too large, or that holds private key material', async () => {
    const keys = await testKeys()
    const big = freshPath()
    host.route(big, { json: { keys: [keys.es256.publicJwk], pad: 'x'.repeat(70_000) } })
    const t1 = setup(big)
    expectInvalidClient(await t1.authenticate(keys.es256))
    expect(failures(t1.events).at(-1)?.detail).toMatch(/larger than 65536 bytes/)

    const leaked = freshPath()
    const privateJwk = { ...(await exportJWK(keys.es256.privateKey)), kid: keys.es256.kid }
    host.route(leaked, { json: { keys: [privateJwk] } })
    const t2 = setup(leaked)
    expectInvalidClient(await t2.authenticate(keys.es256))
    expect(failures(t2.events).at(-1)?.detail).toMatch(/must be a public key/)
  })

  it("verifies the client's own JWT bearer assertion with the same keys (RFC 7523 §2.1)", async () => {
    const keys = await testKeys()
    const path = freshPath()
    host.route(path, { json: { keys: [keys.es256.publicJwk] } })
    const t = setup(path, { token_endpoint_auth_method: 'none' })
    const res = await t.server.token(
      tokenRequest({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', client_id: 'remote', assertion: await t.assertion(keys.es256, { aud: TOKEN_URL }) }),
    )
    expect(res.status).toBe(200)
    expect(JSON.parse(res.body!)).toMatchObject({ token_type: 'Bearer', scope: 'api:read' })
  })
})

describe('jwks_uri in client metadata', () => {
  const base = { client_id: 'c', token_endpoint_auth_method: 'private_key_jwt' as const, grant_types: ['client_credentials'] }
  const build = (metadata: ClientMetadata, allowPrivateNetworkFetches = false) =>
    createAuthorizationServer({ issuer: ISSUER, clients: [metadata], allowPrivateNetworkFetches })

  it('is accepted for private_key_jwt, as an https URL', () => {
    expect(() => build({ ...base, jwks_uri: 'https://client.example/jwks.json' })).not.toThrow()
  })

  it('is refused together with jwks (RFC 7591 §2)', () => {
    expect(() => build({ ...base, jwks_uri: 'https://client.example/jwks.json', jwks: { keys: [] } })).toThrow(/clients\[0\]\.jwks_uri: give jwks or jwks_uri, not both/)
  })

  it('must be https; http only to loopback and only with allowPrivateNetworkFetches', () => {
    expect(() => build({ ...base, jwks_uri: 'http://client.example/jwks.json' })).toThrow(/clients\[0\]\.jwks_uri: .*must use https/)
    expect(() => build({ ...base, jwks_uri: 'http://client.example/jwks.json' }, true)).toThrow(/must use https/)
    expect(() => build({ ...base, jwks_uri: 'http://127.0.0.1:9/jwks.json' })).toThrow(/must use https/)
    expect(() => build({ ...base, jwks_uri: 'http://127.0.0.1:9/jwks.json' }, true)).not.toThrow()
  })

  it('is refused on a loopback or private address without allowPrivateNetworkFetches', () => {
    expect(() => build({ ...base, jwks_uri: 'https://10.1.2.3/jwks.json' })).toThrow(/loopback or private address/)
    expect(() => build({ ...base, jwks_uri: 'https://localhost/jwks.json' })).toThrow(/loopback or private address/)
    expect(() => build({ ...base, jwks_uri: 'https://10.1.2.3/jwks.json' }, true)).not.toThrow()
  })

  it('is refused with a fragment, credentials, or when it is not a URL', () => {
    expect(() => build({ ...base, jwks_uri: 'https://client.example/jwks.json#k' })).toThrow(/fragment/)
    expect(() => build({ ...base, jwks_uri: 'https://u:p@client.example/jwks.json' })).toThrow(/user name or password/)
    expect(() => build({ ...base, jwks_uri: 'jwks.json' })).toThrow(/not an absolute URL/)
  })

  it('still requires keys of some kind for private_key_jwt', () => {
    expect(() => build(base)).toThrow(/clients\[0\]\.jwks: is required for private_key_jwt \(or jwks_uri\)/)
  })
})
