import { describe, expect, it } from 'vitest'
import { createAuthorizationServer, type AuthorizationServerOptions } from '../../src/index.js'

const users = [{ username: 'u', password_hash: 'scrypt$1024$8$1$c2FsdHNhbHRzYWx0$' + 'A'.repeat(43) }]
const base = { issuer: 'https://as.example', users } as unknown as AuthorizationServerOptions

const make = (client: Record<string, unknown>, extra: Partial<AuthorizationServerOptions> = {}) =>
  () => createAuthorizationServer({ ...base, clients: [{ client_id: 'c', client_secret: 's', ...client }], ...extra } as AuthorizationServerOptions)

describe('client registration rules', () => {
  it('refuses an http redirect URI on a non-loopback host (RFC 9700 §2.6)', () => {
    expect(make({ redirect_uris: ['http://app.example/cb'] })).toThrow(/^clients\[0\]\.redirect_uris\[0\]: .*http on a non-loopback host/)
  })

  it('accepts http on loopback, app schemes, and http anywhere with the explicit switch', () => {
    expect(make({ redirect_uris: ['http://127.0.0.1:8080/cb', 'http://localhost/cb', 'http://[::1]:9/cb', 'com.example.app:/oauth'] })).not.toThrow()
    expect(make({ redirect_uris: ['http://app.example/cb'] }, { allowHttpRedirectUris: true })).not.toThrow()
  })

  it('refuses javascript: and data: redirect URIs', () => {
    expect(make({ redirect_uris: ['javascript:alert(1)'] })).toThrow(/is not a redirect URI/)
    expect(make({ redirect_uris: ['data:text/html,x'] })).toThrow(/is not a redirect URI/)
  })

  it('refuses response types without their grant type (RFC 7591 §2.1)', () => {
    expect(make({ redirect_uris: ['https://a.example/cb'], response_types: ['code', 'token'] })).toThrow(/^clients\[0\]\.response_types: "token" needs the implicit grant type/)
    expect(make({ redirect_uris: ['https://a.example/cb'], grant_types: ['implicit'], response_types: ['code'] })).toThrow(/"code" needs the authorization_code grant type/)
    expect(make({ redirect_uris: ['https://a.example/cb'], grant_types: ['authorization_code', 'implicit'], response_types: ['code', 'id_token token'] })).not.toThrow()
  })
})
