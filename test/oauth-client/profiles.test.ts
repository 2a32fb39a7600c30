/**
 * Provider profiles and presets, configuration errors, and the small parsers:
 * everything that needs no provider on the wire.
 */
import { describe, expect, it } from 'vitest'
import {
  createOAuthClient,
  defineProvider,
  genericOidc,
  google,
  grantkit,
  isBearerInvalidToken,
  microsoftEntra,
  parseWwwAuthenticate,
  salesforce,
  type TokenSet,
} from '../../src/oauth-client/index.js'
import { discoveryUrl } from '../../src/oauth-client/discovery.js'
import { encryption, keyPair } from './harness.js'

describe('WWW-Authenticate', () => {
  it('reads several challenges, quoted strings with commas and escapes included', () => {
    expect(parseWwwAuthenticate('DPoP algs="ES256 PS256", Bearer realm="a, b", error="invalid_token", error_description="say \\"hi\\""')).toEqual([
      { scheme: 'dpop', params: { algs: 'ES256 PS256' } },
      { scheme: 'bearer', params: { realm: 'a, b', error: 'invalid_token', error_description: 'say "hi"' } },
    ])
    expect(parseWwwAuthenticate('Basic realm=api, Bearer')).toEqual([
      { scheme: 'basic', params: { realm: 'api' } },
      { scheme: 'bearer', params: {} },
    ])
  })

  it('counts only a 401 whose Bearer challenge says invalid_token', () => {
    const res = (status: number, header?: string) => new Response(null, { status, headers: header === undefined ? {} : { 'www-authenticate': header } })
    expect(isBearerInvalidToken(res(401, 'Bearer error="invalid_token"'))).toBe(true)
    expect(isBearerInvalidToken(res(401, 'bearer error=invalid_token'))).toBe(true)
    expect(isBearerInvalidToken(res(401, 'Bearer error="insufficient_scope"'))).toBe(false)
    expect(isBearerInvalidToken(res(401, 'Basic error="invalid_token"'))).toBe(false)
    expect(isBearerInvalidToken(res(403, 'Bearer error="invalid_token"'))).toBe(false)
    expect(isBearerInvalidToken(res(401))).toBe(false)
  })
})

describe('discovery locations', () => {
  it('appends for OIDC and inserts for RFC 8414', () => {
    expect(discoveryUrl('https://op.example', 'oidc')).toBe('https://op.example/.well-known/openid-configuration')
    expect(discoveryUrl('https://op.example/tenant/v2.0', 'oidc')).toBe('https://op.example/tenant/v2.0/.well-known/openid-configuration')
    expect(discoveryUrl('https://op.example/tenant', 'oauth')).toBe('https://op.example/.well-known/oauth-authorization-server/tenant')
  })
})

describe('defineProvider', () => {
  it('resolves the auth method from what is configured', async () => {
    const { privateJwk } = await keyPair()
    expect(defineProvider({ id: 'a', issuer: 'https://op.example', clientId: 'c', clientSecret: 's' }).authMethod).toBe('client_secret_basic')
    expect(defineProvider({ id: 'a', issuer: 'https://op.example', clientId: 'c', privateJwk }).authMethod).toBe('private_key_jwt')
    expect(defineProvider({ id: 'a', issuer: 'https://op.example', clientId: 'c' }).authMethod).toBe('none')
  })

  it.each([
    [{ id: '', clientId: 'c' }, /provider.id/],
    [{ id: 'a', clientId: '' }, /providers\["a"\].clientId/],
    [{ id: 'a', clientId: 'c', issuer: 'http://op.example' }, /issuer: must be an https URL/],
    [{ id: 'a', clientId: 'c' }, /metadata.token_endpoint: is required without discovery/],
    [{ id: 'a', clientId: 'c', discovery: false, metadata: { token_endpoint: 'http://op.example/token' } }, /metadata.token_endpoint: must be an https URL/],
    [{ id: 'a', clientId: 'c', issuer: 'https://op.example', authMethod: 'client_secret_post' }, /clientSecret: is required/],
    [{ id: 'a', clientId: 'c', issuer: 'https://op.example', authMethod: 'private_key_jwt' }, /privateJwk: is required/],
    [{ id: 'a', clientId: 'c', issuer: 'https://op.example', privateJwk: { kty: 'oct', k: 'c2VjcmV0' } }, /privateJwk: must be an asymmetric private key/],
    [{ id: 'a', clientId: 'c', issuer: 'https://op.example', scopes: ['a b'] }, /scopes/],
    [{ id: 'a', clientId: 'c', issuer: 'https://op.example', grants: ['implicit'] }, /grants/],
    [{ id: 'a', clientId: 'c', issuer: 'https://op.example', saml: { privateKey: 'x', certificate: 'y', issuer: 'z' } }, /saml.privateKey: is not a PEM private key/],
    [{ id: 'a', clientId: 'c', issuer: 'https://op.example', apiOrigins: ['https://api.example/path'] }, /apiOrigins\[0\]/],
  ])('refuses %j', (profile, message) => {
    expect(() => defineProvider(profile as never)).toThrow(message)
  })

  it('refuses two providers with one id, and a lease shorter than two requests', () => {
    const p = genericOidc({ issuer: 'https://op.example', clientId: 'c' })
    expect(() => createOAuthClient({ providers: [p, p], encryption: encryption() })).toThrow(/"oidc" appears twice/)
    expect(() => createOAuthClient({ providers: [p], encryption: encryption(), timeout: 10, leaseTtl: 15 })).toThrow(/leaseTtl/)
  })

  it('refuses unknown providers and reserved authorization parameters', async () => {
    const client = createOAuthClient({
      providers: [defineProvider({ id: 'p', discovery: false, metadata: { authorization_endpoint: 'https://op.example/authorize', token_endpoint: 'https://op.example/token' }, clientId: 'c', redirectUri: 'https://app.example/cb' })],
      encryption: encryption(),
    })
    await expect(client.getAccessToken('nope', 'alice')).rejects.toThrow(/"nope" is not configured/)
    await expect(client.startAuthorization('p', { params: { state: 'mine' } })).rejects.toThrow(/params.state is set by the client itself/)
    const { url, pending } = await client.startAuthorization('p', { scopes: ['read'], params: { prompt: 'login' } })
    const q = new URL(url).searchParams
    expect(Object.fromEntries(q)).toEqual({
      response_type: 'code',
      client_id: 'c',
      redirect_uri: 'https://app.example/cb',
      scope: 'read',
      state: pending.state,
      code_challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      code_challenge_method: 'S256',
      prompt: 'login',
    })
    // No openid, no nonce.
    expect(pending.nonce).toBeUndefined()
  })
})

describe('presets', () => {
  const creds = { clientId: 'id', clientSecret: 'secret', redirectUri: 'https://app.example/cb' }

  it('google asks for offline access, and accepts both of its issuer spellings', () => {
    const g = defineProvider(google(creds))
    expect(g).toMatchObject({ id: 'google', issuer: 'https://accounts.google.com', authMethod: 'client_secret_post', quirks: { authorizationParams: { access_type: 'offline', prompt: 'consent' } } })
    expect(g.quirks.acceptIdTokenIssuer!('accounts.google.com', {}, 'https://accounts.google.com')).toBe(true)
    expect(g.quirks.acceptIdTokenIssuer!('https://evil.example', {}, 'https://accounts.google.com')).toBe(false)
    expect(g.quirks.deviceResponseAliases).toEqual({ verification_url: 'verification_uri' })
  })

  it('salesforce keeps instance_url, defaults expires_in, and uses the sandbox login host', async () => {
    const sf = defineProvider(salesforce({ ...creds, sandbox: true }))
    expect(sf.issuer).toBe('https://test.salesforce.com')
    expect(sf.quirks).toMatchObject({ defaultExpiresIn: 900, keepFields: expect.arrayContaining(['instance_url']) })
    const t: TokenSet = { accessToken: 'a', tokenType: 'Bearer', obtainedAt: 0, extra: { instance_url: 'https://na1.my.salesforce.com' } }
    expect(sf.quirks.apiBaseUrl!(t)).toBe('https://na1.my.salesforce.com')
    expect(await sf.quirks.isInvalidToken!(new Response('[{"errorCode":"INVALID_SESSION_ID"}]', { status: 401 }))).toBe(true)
    expect(await sf.quirks.isInvalidToken!(new Response('[{"errorCode":"OTHER"}]', { status: 401 }))).toBe(false)
    expect(defineProvider(salesforce(creds)).issuer).toBe('https://login.salesforce.com')
    const { privateJwk } = await keyPair('RS256')
    expect(defineProvider(salesforce({ ...creds, jwtBearer: { privateJwk } })).jwtBearer!.audience).toBe('https://login.salesforce.com')
  })

  it('microsoftEntra checks ID token issuers against the tenant', () => {
    const common = defineProvider(microsoftEntra({ ...creds, tenant: 'common' }))
    expect(common.issuer).toBe('https://login.microsoftonline.com/common/v2.0')
    const template = 'https://login.microsoftonline.com/{tenantid}/v2.0'
    const tid = '72f988bf-86f1-41af-91ab-2d7cd011db47'
    expect(common.quirks.acceptMetadataIssuer!(template)).toBe(true)
    expect(common.quirks.acceptMetadataIssuer!('https://evil.example/{tenantid}/v2.0')).toBe(false)
    expect(common.quirks.acceptIdTokenIssuer!(`https://login.microsoftonline.com/${tid}/v2.0`, { tid }, template)).toBe(true)
    expect(common.quirks.acceptIdTokenIssuer!(`https://login.microsoftonline.com/${tid}/v2.0`, { tid: 'other' }, template)).toBe(false)
    const single = `https://login.microsoftonline.com/${tid}/v2.0`
    expect(common.quirks.acceptIdTokenIssuer!(single, { tid }, single)).toBe(true)
    expect(common.quirks.acceptIdTokenIssuer!(`https://login.microsoftonline.com/other/v2.0`, { tid: 'other' }, single)).toBe(false)
    expect(() => microsoftEntra({ ...creds, tenant: '../x' })).toThrow(/tenant/)
  })

  it('genericOidc and grantkit discover from the issuer; ids and quirks can be overridden', () => {
    expect(defineProvider(genericOidc({ ...creds, issuer: 'https://op.example' }))).toMatchObject({ id: 'oidc', discovery: 'oidc', scopes: ['openid'] })
    const gk = defineProvider(grantkit({ ...creds, id: 'auth', issuer: 'https://auth.example', scopes: ['api'], quirks: { defaultExpiresIn: 60 } }))
    expect(gk).toMatchObject({ id: 'auth', scopes: ['api'], quirks: { defaultExpiresIn: 60 } })
    expect(gk.grants).toContain('saml2_bearer')
  })
})
