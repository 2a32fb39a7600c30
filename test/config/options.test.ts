import { describe, expect, it } from 'vitest'
import { createAuthorizationServer, type AuthorizationServerOptions } from '../../src/index.js'
import { contextOf } from '../../src/server.js'

const base: AuthorizationServerOptions = {
  issuer: 'https://as.example',
  clients: [{ client_id: 'svc', client_secret: 's', grant_types: ['client_credentials'] }],
}

function fails(over: Record<string, unknown>, message: RegExp): void {
  expect(() => createAuthorizationServer({ ...base, ...over } as AuthorizationServerOptions)).toThrow(TypeError)
  expect(() => createAuthorizationServer({ ...base, ...over } as AuthorizationServerOptions)).toThrow(message)
}

describe('createAuthorizationServer validates its options up front', () => {
  it('accepts a minimal configuration', () => {
    expect(contextOf(createAuthorizationServer(base)).issuer).toBe('https://as.example')
  })

  it('requires an https issuer without query, fragment or trailing slash', () => {
    fails({ issuer: undefined }, /^issuer:/)
    fails({ issuer: 'not a url' }, /^issuer:/)
    fails({ issuer: 'http://as.example' }, /^issuer: must be https/)
    fails({ issuer: 'https://as.example?x=1' }, /^issuer: must not have a query/)
    fails({ issuer: 'https://as.example#f' }, /^issuer: must not have a query/)
    fails({ issuer: 'https://as.example/' }, /^issuer: must not end/)
  })

  it('allows http for loopback and with the explicit switch', () => {
    expect(() => createAuthorizationServer({ ...base, issuer: 'http://127.0.0.1:4000' })).not.toThrow()
    expect(() => createAuthorizationServer({ ...base, issuer: 'http://localhost:4000' })).not.toThrow()
    expect(() => createAuthorizationServer({ ...base, issuer: 'http://as.internal', allowHttpIssuer: true })).not.toThrow()
  })

  it('names the client field that is wrong', () => {
    fails({ clients: [{ client_secret: 's' }] }, /^clients\[0\]\.client_id:/)
    fails({ clients: [{ client_id: 'a', client_secret: 's', grant_types: ['client_credentials'] }, { client_id: 'a', client_secret: 's', grant_types: ['client_credentials'] }] }, /^clients\[1\]\.client_id: "a" is registered twice/)
    fails({ clients: [{ client_id: 'a', grant_types: ['client_credentials'] }] }, /^clients\[0\]\.client_secret: is required/)
    fails({ clients: [{ client_id: 'a', client_secret: 's', token_endpoint_auth_method: 'tls_client_auth' }] }, /^clients\[0\]\.token_endpoint_auth_method:/)
    fails({ clients: [{ client_id: 'a', client_secret: 's', token_endpoint_auth_method: 'none' }] }, /^clients\[0\]\.client_secret: a client with token_endpoint_auth_method "none"/)
    fails({ clients: [{ client_id: 'a', token_endpoint_auth_method: 'private_key_jwt', grant_types: ['client_credentials'] }] }, /^clients\[0\]\.jwks: is required/)
    fails({ clients: [{ client_id: 'a', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ kty: 'oct', k: 'abc' }] }, grant_types: ['client_credentials'] }] }, /^clients\[0\]\.jwks\.keys\[0\]: must be a public key/)
    fails({ clients: [{ client_id: 'a', client_secret: 's', grant_types: ['urn:unknown'] }] }, /^clients\[0\]\.grant_types: "urn:unknown" is not a grant this server supports/)
    fails({ clients: [{ client_id: 'a', client_secret: 's', grant_types: 'client_credentials' }] }, /^clients\[0\]\.grant_types: must be an array/)
    fails({ clients: [{ client_id: 'a', client_secret: 's', redirect_uris: ['https://a.example/cb#x'], grant_types: ['client_credentials'] }] }, /^clients\[0\]\.redirect_uris\[0\]: .* fragment/)
    fails({ clients: [{ client_id: 'a', client_secret: 's', client_secret_hash: 'sha256:x', grant_types: ['client_credentials'] }] }, /^clients\[0\]\.client_secret_hash:/)
    fails({ clients: [{ client_id: 'a', client_secret: 's', grant_types: ['client_credentials'], scope: 'a', default_scope: 'b' }] }, /^clients\[0\]\.default_scope: "b"/)
  })

  it('requires redirect_uris for a client that uses the authorization code grant', () => {
    fails({ clients: [{ client_id: 'a', client_secret: 's' }] }, /^clients\[0\]\.redirect_uris: is required/)
  })

  it('checks lifetimes, format, scopes, paths and grants', () => {
    fails({ ttl: { accessToken: 0 } }, /^ttl\.accessToken: must be a positive number/)
    fails({ ttl: { accessToken: '60' } }, /^ttl\.accessToken:/)
    fails({ ttl: { forever: 1 } }, /^ttl\.forever: unknown lifetime/)
    fails({ accessTokenFormat: 'paseto' }, /^accessTokenFormat:/)
    fails({ scopes: ['ok', 'not ok'] }, /^scopes:/)
    fails({ scopes: ['x'], clients: [{ client_id: 'a', client_secret: 's', grant_types: ['client_credentials'], scope: 'y' }] }, /^clients\[0\]\.scope: "y" is not in scopes/)
    fails({ paths: { token: 'token' } }, /^paths\.token:/)
    fails({ paths: { authorise: '/a' } }, /^paths\.authorise: unknown endpoint/)
    fails({ grants: [{ grantType: '', parameters: [], clientAuth: 'required', handle: async () => ({}) }] }, /^grants\[0\]\.grantType:/)
    fails({ grants: [{ grantType: 'x', parameters: [], clientAuth: 'sometimes', handle: async () => ({}) }] }, /^grants\[0\]\.clientAuth:/)
    fails({ clockSkew: -1 }, /^clockSkew:/)
    fails({ accessTokenAudience: [] }, /^accessTokenAudience:/)
  })

  it('checks configured keys', () => {
    fails({ keys: { keys: [{ kty: 'EC', crv: 'P-256', x: 'a', y: 'b' }] } }, /^keys: a signing key must be a private JWK/)
    fails({ keys: { keys: [{ kty: 'EC', crv: 'P-256', x: 'a', y: 'b', d: 'c' }] } }, /^keys: the JWK is not a valid private key/)
  })
})
