import { describe, expect, it } from 'vitest'
import { ISSUER, json, makeServer } from '../helpers.js'

const get = (path: string) => ({ method: 'GET', url: new URL('https://as.example' + path), headers: {} })

describe('discovery (RFC 8414, OIDC Discovery)', () => {
  it('describes what is enabled, at both well-known locations', async () => {
    const { server } = makeServer({ scopes: ['api:read', 'api:write'] })
    const a = await server.handle(get('/.well-known/oauth-authorization-server'))
    const b = await server.handle(get('/.well-known/openid-configuration'))
    expect(a.status).toBe(200)
    expect(a.body).toBe(b.body)
    const doc = json(a)
    expect(doc).toMatchObject({
      issuer: ISSUER,
      token_endpoint: ISSUER + '/token',
      jwks_uri: ISSUER + '/jwks',
      grant_types_supported: ['authorization_code', 'client_credentials', 'refresh_token', 'password', 'urn:ietf:params:oauth:grant-type:device_code', 'urn:ietf:params:oauth:grant-type:jwt-bearer', 'urn:ietf:params:oauth:grant-type:saml2-bearer', 'urn:ietf:params:oauth:grant-type:token-exchange', 'implicit'],
      revocation_endpoint: ISSUER + '/revoke',
      introspection_endpoint: ISSUER + '/introspect',
      device_authorization_endpoint: ISSUER + '/device_authorization',
      authorization_endpoint: ISSUER + '/authorize',
      userinfo_endpoint: ISSUER + '/userinfo',
      response_types_supported: ['code', 'token', 'id_token', 'id_token token'],
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
      // OIDC Discovery §3: RS256 is always listed (the default ID token algorithm).
      id_token_signing_alg_values_supported: ['ES256', 'RS256'],
      scopes_supported: ['api:read', 'api:write'],
    })
    expect(doc.token_endpoint_auth_methods_supported).toEqual(
      expect.arrayContaining(['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'none']),
    )
    expect(doc.token_endpoint_auth_signing_alg_values_supported).not.toContain('none')
  })

  it('lists an embedder grant and only the grants registered', async () => {
    const { server } = makeServer({
      clients: [{ client_id: 'c', client_secret: 's', grant_types: ['urn:x'] }],
      grants: [{ grantType: 'urn:x', parameters: [], clientAuth: 'required', handle: async () => ({ access_token: 'a', token_type: 'Bearer' }) }],
    })
    const doc = json(await server.handle(get('/.well-known/oauth-authorization-server')))
    expect(doc.grant_types_supported).toEqual(['urn:x', 'implicit'])
    expect(doc.response_types_supported).not.toContain('code')
    expect(doc.device_authorization_endpoint).toBeUndefined()
  })

  it('puts the well-known suffix where RFC 8414 §3.1 and OIDC Discovery §4 say for an issuer with a path', async () => {
    const { server } = makeServer({ issuer: 'https://as.example/t1' })
    expect((await server.handle(get('/.well-known/oauth-authorization-server/t1'))).status).toBe(200)
    expect((await server.handle(get('/t1/.well-known/openid-configuration'))).status).toBe(200)
    expect(json(await server.handle(get('/t1/.well-known/openid-configuration'))).token_endpoint).toBe('https://as.example/t1/token')
  })

  it('refuses POST with 405', async () => {
    const { server } = makeServer()
    expect((await server.handle({ ...get('/.well-known/openid-configuration'), method: 'POST' })).status).toBe(405)
  })
})

describe('JWKS endpoint', () => {
  it('publishes public keys only', async () => {
    const { server } = makeServer()
    const res = await server.handle(get('/jwks'))
    expect(res.status).toBe(200)
    const { keys } = json(res) as { keys: Array<Record<string, unknown>> }
    // The access-token key, and the RS256 key of ID tokens (OIDC Core §3.1.3.7).
    expect(keys).toHaveLength(2)
    expect(keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' })
    expect(keys[1]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' })
    for (const k of keys) for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) expect(k[priv]).toBeUndefined()
  })
})
