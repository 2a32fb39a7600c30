/**
 * Issue 12 (Low): ID tokens are RS256 unless the client registers
 * `id_token_signed_response_alg` (OIDC Core §3.1.3.7, OIDC Registration §2),
 * and discovery always lists RS256 (OIDC Discovery §3).
 */
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import { describe, expect, it } from 'vitest'
import { createAuthorizationServer, exportPrivateJwk, generateSigningKey, KeyRing, type AuthorizationServerOptions, type KeyStore } from '../../src/index.js'
import { basic, counterIds, fakeClock, ISSUER, json, makeServer, plainUsers, alice, tokenRequest } from '../helpers.js'

const appClients = [
  { client_id: 'plain', client_secret: 'plain-secret', grant_types: ['password'], scope: 'openid api:read' },
  { client_id: 'ec', client_secret: 'ec-secret', grant_types: ['password'], scope: 'openid api:read', id_token_signed_response_alg: 'ES256' },
]

function setup(extra: Partial<AuthorizationServerOptions> = {}) {
  return makeServer({ clients: appClients, users: plainUsers(alice()), ...extra })
}

async function idTokenFor(server: ReturnType<typeof setup>['server'], client: string): Promise<{ idToken: string; accessToken: string }> {
  const res = await server.handle(tokenRequest({ grant_type: 'password', username: 'alice', password: 'wonderland', scope: 'openid api:read' }, { authorization: basic(client, `${client}-secret`) }))
  expect(res.status).toBe(200)
  const body = json(res)
  return { idToken: body.id_token as string, accessToken: body.access_token as string }
}

function jwksOf(server: ReturnType<typeof setup>['server']) {
  return createLocalJWKSet(JSON.parse(server.jwks({ method: 'GET', url: new URL(server.endpoints.jwks!), headers: {} }).body!))
}

describe('ID token algorithm (OIDC Core §3.1.3.7, Registration §2)', () => {
  it('signs RS256 ID tokens for a client that registers no algorithm, verifiable with the JWKS, and keeps ES256 access tokens', async () => {
    const { server, clock } = setup()
    const { idToken, accessToken } = await idTokenFor(server, 'plain')
    const { protectedHeader, payload } = await jwtVerify(idToken, jwksOf(server), { issuer: ISSUER, audience: 'plain', currentDate: new Date(clock.now() * 1000) })
    expect(protectedHeader.alg).toBe('RS256')
    expect(payload.sub).toBe('alice-sub')
    expect(decodeProtectedHeader(accessToken).alg).toBe('ES256')
  })

  it('signs ES256 ID tokens for a client registered with id_token_signed_response_alg ES256', async () => {
    const { server, clock } = setup()
    const { idToken } = await idTokenFor(server, 'ec')
    const { protectedHeader } = await jwtVerify(idToken, jwksOf(server), { audience: 'ec', currentDate: new Date(clock.now() * 1000) })
    expect(protectedHeader.alg).toBe('ES256')
  })

  it('lists RS256 in id_token_signing_alg_values_supported, and only the access-token algorithm for access tokens', async () => {
    const { server } = setup()
    const res = await server.handle({ method: 'GET', url: new URL(`${ISSUER}/.well-known/openid-configuration`), headers: {} })
    const doc = json(res)
    expect(doc.id_token_signing_alg_values_supported).toEqual(['ES256', 'RS256'])
    expect(doc.access_token_signing_alg_values_supported).toEqual(['ES256'])
  })

  it('refuses at construction an unknown, symmetric or "none" algorithm, and one the server has no key for', () => {
    const make = (alg: string, keys?: AuthorizationServerOptions['keys']) => () =>
      createAuthorizationServer({
        issuer: ISSUER,
        clients: [{ ...appClients[0]!, id_token_signed_response_alg: alg }],
        users: plainUsers(alice()),
        ...(keys !== undefined && { keys }),
      })
    expect(make('none')).toThrow(new TypeError('clients[0].id_token_signed_response_alg: "none" is refused: ID tokens are always signed; use one of ES256, ES384, ES512, RS256, PS256, EdDSA'))
    expect(make('HS256')).toThrow(/clients\[0\]\.id_token_signed_response_alg: "HS256" is symmetric/)
    expect(make('XX512')).toThrow(/clients\[0\]\.id_token_signed_response_alg: "XX512" is not supported/)
    expect(make('EdDSA')).toThrow(/clients\[0\]\.id_token_signed_response_alg: the server has no EdDSA signing key; add one to keys/)
    const ed = exportPrivateJwk(generateSigningKey('EdDSA'))
    const es = exportPrivateJwk(generateSigningKey('ES256'))
    expect(make('EdDSA', { keys: [ed, es] })).not.toThrow()
  })

  it('keeps the RS256 key published through a rotation, and signs with the new one once it is active', async () => {
    const clock = fakeClock()
    const ring = new KeyRing()
    const server = createAuthorizationServer({ issuer: ISSUER, clients: appClients, users: plainUsers(alice()), keys: ring, deps: { now: clock.now, randomId: counterIds() } })
    const before = await idTokenFor(server, 'plain')
    ring.rotate({ now: clock.now(), publishLead: 300, maxTokenLifetime: 3600 })
    clock.advance(300)
    const after = await idTokenFor(server, 'plain')
    const oldKid = decodeProtectedHeader(before.idToken).kid
    expect(decodeProtectedHeader(after.idToken).kid).not.toBe(oldKid)
    // The ID token signed before the rotation still verifies with the JWKS.
    await jwtVerify(before.idToken, jwksOf(server), { currentDate: new Date(clock.now() * 1000) })
    await jwtVerify(after.idToken, jwksOf(server), { currentDate: new Date(clock.now() * 1000) })
  })

  it('signs a client without the metadata with the only key of a custom KeyStore that has no signingKeyFor', async () => {
    const key = generateSigningKey('ES256')
    const custom: KeyStore = { signingKey: () => key, publishedKeys: () => [key], findKey: (kid) => (kid === key.kid ? key : undefined) }
    const { server } = setup({ keys: custom })
    expect(decodeProtectedHeader((await idTokenFor(server, 'plain')).idToken).alg).toBe('ES256')
  })
})
