import { describe, expect, it } from 'vitest'
import { resolveOptions } from '../../src/config/resolve.js'
import { createAuthorizationServer, defaults, type AuthorizationServerOptions } from '../../src/index.js'
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

describe('unknown options are refused at construction with the closest known name', () => {
  it('at the top level', () => {
    fails({ accesTokenFormat: 'opaque' }, /^accesTokenFormat: unknown option; did you mean accessTokenFormat\?$/)
    fails({ ClockSkew: 5 }, /^ClockSkew: unknown option; did you mean clockSkew\?$/)
    // A name of the CLI's config file is not an option of the library.
    fails({ devicePollInterval: 5 }, /^devicePollInterval: unknown option; known options: issuer, clients, /)
  })

  it('in nested options, naming the full path', () => {
    fails({ ttl: { acessToken: 60 } }, /^ttl\.acessToken: unknown lifetime; did you mean ttl\.accessToken\?$/)
    fails({ pkce: { allowplain: true } }, /^pkce\.allowplain: unknown option; did you mean pkce\.allowPlain\?$/)
    fails({ deviceFlow: { intervall: 5 } }, /^deviceFlow\.intervall: unknown option; did you mean deviceFlow\.interval\?$/)
    fails({ passwordGrant: { maxFailure: 3 } }, /^passwordGrant\.maxFailure: unknown option; did you mean passwordGrant\.maxFailures\?$/)
    fails({ paths: { tokn: '/t' } }, /^paths\.tokn: unknown endpoint; did you mean paths\.token\?$/)
    fails({ interaction: { uri: () => 'x' } }, /^interaction\.uri: unknown option; did you mean interaction\.url\?$/)
    fails({ deps: { clock: () => 0 } }, /^deps\.clock: unknown option; known options: now, randomId, randomToken$/)
    fails({ keys: { key: [] } }, /^keys\.key: unknown option; did you mean keys\.keys\?$/)
    fails({ trust: { jwtIssuer: [] } }, /^trust\.jwtIssuer: unknown option; did you mean trust\.jwtIssuers\?$/)
  })

  it('in the entries of users and trust, whose misspelt fields would otherwise be ignored', () => {
    // An ignored `subject` would trust the issuer for every user.
    fails({ trust: { jwtIssuers: [{ issuer: 'i', jwks: { keys: [] }, subject: ['alice'] }] } }, /^trust\.jwtIssuers\[0\]\.subject: unknown field; did you mean trust\.jwtIssuers\[0\]\.subjects\?$/)
    fails({ trust: { samlIdps: [{ entityId: 'e', certificate: 'c', scope: ['x'] }] } }, /^trust\.samlIdps\[0\]\.scope: unknown field; did you mean/)
    fails({ users: [{ username: 'a', pasword: 'p' }] }, /^users\[0\]\.pasword: unknown field; did you mean users\[0\]\.password\?$/)
  })

  it('refuses values of the wrong kind that 0.1 let through or failed on without a field name', () => {
    fails({ allowHttpIssuer: 'yes' }, /^allowHttpIssuer: must be a boolean$/)
    fails({ trust: [] }, /^trust: must be an object$/)
    fails({ keys: 'keys.json' }, /^keys: must be a KeyStore or \{ keys, algorithm \}$/)
    fails({ keys: { algorithm: 'HS256' } }, /^keys\.algorithm: must be one of "ES256", /)
    fails({ maxBodyBytes: 0 }, /^maxBodyBytes: must be a positive number of bytes$/)
    fails({ deps: { now: 5 } }, /^deps\.now: must be a function/)
    fails({ interaction: { url: 'https://ui.example' } }, /^interaction\.url: must be a function of the interaction uid$/)
  })

  it('still accepts undefined for an option, as an absent one', () => {
    const server = createAuthorizationServer({ ...base, ttl: { accessToken: undefined }, scopes: undefined, pkce: undefined })
    expect(contextOf(server).ttl.accessToken).toBe(3600)
    expect(contextOf(server).pkce).toEqual({ required: 'public', allowPlain: false })
  })
})

describe('resolveOptions', () => {
  it('validates paths against the endpoints the caller names, not a fixed list', () => {
    const defaultPaths = { token: '/token', health: '/health' }
    // The options type lists the built-in endpoints; an endpoint of one's own is not in it yet.
    const withPaths = (paths: Record<string, string>) => ({ ...base, paths }) as AuthorizationServerOptions
    const resolved = resolveOptions(withPaths({ health: '/up' }), { defaultPaths })
    expect(resolved.paths).toEqual({ token: '/token', health: '/up' })
    expect(() => resolveOptions(withPaths({ jwks: '/keys' }), { defaultPaths })).toThrow(/^paths\.jwks: unknown endpoint; known endpoints: token, health$/)
    expect(() => resolveOptions(withPaths({ helth: '/up' }), { defaultPaths })).toThrow(/^paths\.helth: unknown endpoint; did you mean paths\.health\?$/)
  })

  it('returns every option resolved, collaborators built', () => {
    const now = (): number => 1_700_000_000
    const resolved = resolveOptions({ ...base, deps: { now }, scopes: ['a'], clients: [{ client_id: 'svc', client_secret: 's', grant_types: ['client_credentials'], scope: 'a' }] }, { defaultPaths: defaults.paths })
    expect(resolved.issuer).toBe('https://as.example')
    expect(resolved.accessTokenAudience).toBe('https://as.example')
    expect(resolved.scopes).toEqual(new Set(['a']))
    expect(resolved.grants.has('client_credentials')).toBe(true)
    expect(resolved.deps.now).toBe(now)
    expect(typeof resolved.deps.randomId()).toBe('string')
    expect(resolved.interaction.url).toBeUndefined()
    expect(resolved.users).toBeUndefined()
    expect(resolved.trust.jwtIssuers.size).toBe(0)
    expect(resolved.allowHttpIssuer).toBe(false)
    expect(resolved.paths).toEqual(defaults.paths)
    expect(resolved.keys.signingKey(now())).toBeDefined()
  })

  it('keeps the rules that join options: grants, scopes and a user source', () => {
    const web = { client_id: 'web', client_secret: 's', redirect_uris: ['https://app.example/cb'] }
    const resolve = (over: Partial<AuthorizationServerOptions>) => () => resolveOptions({ ...base, ...over }, { defaultPaths: defaults.paths })
    expect(resolve({ clients: [web] })).toThrow(/^users: required by the built-in login page, which clients\[0\] \("web"\)/)
    expect(resolve({ clients: [web], interaction: { url: (uid) => `https://ui.example/${uid}` } })).not.toThrow()
    expect(resolve({ clients: [{ client_id: 'cli', token_endpoint_auth_method: 'none', grant_types: ['password'] }] })).toThrow(/^users: required by the password grant, which clients\[0\] \("cli"\) has$/)
    const tv = { client_id: 'tv', token_endpoint_auth_method: 'none' as const, grant_types: ['urn:ietf:params:oauth:grant-type:device_code'] }
    expect(resolve({ clients: [tv] })).toThrow(/^users: required by the built-in login page of the urn:ietf:params:oauth:grant-type:device_code grant/)
    expect(resolve({ clients: [tv], interaction: { url: (uid) => `https://ui.example/${uid}` } })).not.toThrow()
    expect(resolve({ grants: [], clients: [{ client_id: 'svc', client_secret: 's', grant_types: ['client_credentials'] }] })).toThrow(/^clients\[0\]\.grant_types: "client_credentials" is not a grant this server supports/)
  })
})
