/**
 * grantkit/client against a foreign server: node-oidc-provider, configured
 * through its public API on 127.0.0.1:0 with its in-memory adapter, its
 * development interactions (login and consent pages) and a test account.
 */
import Provider from 'oidc-provider'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createMemoryTokenStore, createOAuthClient, genericOidc, type OAuthClient } from '../../src/oauth-client/index.js'
import { basicCredentials } from '../../src/oauth-client/http.js'
import { Browser, encryption, keyPair, listen, REDIRECT_URI } from './harness.js'

const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code'
const answers = { login: 'alice', password: 'any' }

let issuer: string
let close: () => Promise<void>
let client: OAuthClient
let skew = 0
/** Token endpoint successes seen by the provider, by grant type. */
const granted = new Map<string, number>()
const count = (grant: string) => granted.get(grant) ?? 0

beforeAll(async () => {
  const http = await listen()
  issuer = http.url
  close = http.close
  const { privateJwk } = await keyPair('RS256')
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'app',
        client_secret: 'app-secret',
        redirect_uris: [REDIRECT_URI],
        grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: 'openid offline_access api:read',
      },
      { client_id: 'tv', token_endpoint_auth_method: 'none', grant_types: [DEVICE_CODE, 'refresh_token'], response_types: [], redirect_uris: [], scope: 'openid offline_access' },
    ],
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: true },
      revocation: { enabled: true, allowedPolicy: async () => true },
      clientCredentials: { enabled: true },
    },
    scopes: ['openid', 'offline_access', 'api:read'],
    pkce: { required: () => true },
    rotateRefreshToken: true,
    findAccount: async (_ctx: unknown, id: string) => ({ accountId: id, claims: async () => ({ sub: id, name: 'Alice' }) }),
    jwks: { keys: [privateJwk] },
    cookies: { keys: ['test-only-cookie-key'] },
    // Lifetimes set explicitly, which also keeps the provider's notices out of the test output.
    ttl: { AccessToken: 3600, ClientCredentials: 3600, IdToken: 3600, RefreshToken: 86400, Grant: 86400, Session: 86400, Interaction: 600, DeviceCode: 600, AuthorizationCode: 60 },
  })
  provider.on('grant.success', (ctx: { oidc: { params: { grant_type: string } } }) => {
    const g = ctx.oidc.params.grant_type
    granted.set(g, (granted.get(g) ?? 0) + 1)
  })
  http.setHandler(provider.callback())
  client = createOAuthClient({
    providers: [
      genericOidc({ id: 'op', issuer, clientId: 'app', clientSecret: 'app-secret', redirectUri: REDIRECT_URI, scopes: ['openid', 'offline_access', 'api:read'], quirks: { authorizationParams: { prompt: 'consent' } } }),
      genericOidc({ id: 'op-tv', issuer, clientId: 'tv', scopes: ['openid', 'offline_access'] }),
    ],
    store: createMemoryTokenStore(),
    encryption: encryption(),
    deps: { now: () => Date.now() / 1000 + skew },
  })
})

afterAll(async () => {
  await close?.()
})

afterEach(() => {
  skew = 0
})

async function connect(subject: string) {
  const { url, pending } = await client.startAuthorization('op', { subject })
  const { leftTo } = await new Browser(answers).walk(url)
  expect(leftTo, 'the provider redirects to the callback').toBeDefined()
  return { callback: leftTo!, result: await client.completeAuthorization(leftTo!, pending) }
}

describe('node-oidc-provider', () => {
  it('discovers the provider, which promises RFC 9207 iss', async () => {
    const meta = await client.metadata('op')
    expect(meta.authorization_response_iss_parameter_supported).toBe(true)
    expect(meta.device_authorization_endpoint).toBeDefined()
  })

  it('authorization code + PKCE with a validated ID token', async () => {
    const { callback, result } = await connect('u1')
    expect(new URL(callback).searchParams.get('iss')).toBe(issuer)
    expect(result.claims).toMatchObject({ iss: issuer, sub: 'alice', aud: 'app' })
    expect(result.tokens.refreshToken).toBeDefined()
    const res = await client.fetchWithToken('op', 'u1', `${issuer}/me`)
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ sub: 'alice' })
  })

  it('client credentials, cached', async () => {
    const before = count('client_credentials')
    const a = await client.clientCredentials('op', { scopes: ['api:read'] })
    const b = await client.clientCredentials('op', { scopes: ['api:read'] })
    expect(a.accessToken).toBe(b.accessToken)
    expect(a.scope).toBe('api:read')
    expect(count('client_credentials')).toBe(before + 1)
  })

  it('refresh with rotation: one refresh for concurrent callers, the new refresh token kept', async () => {
    const { result } = await connect('u2')
    const before = count('refresh_token')
    skew += 7200
    const tokens = await Promise.all(Array.from({ length: 10 }, () => client.getAccessToken('op', 'u2')))
    expect(new Set(tokens).size).toBe(1)
    expect(tokens[0]).not.toBe(result.tokens.accessToken)
    expect(count('refresh_token')).toBe(before + 1)
    const stored = await client.getTokens('op', 'u2')
    expect(stored!.refreshToken).not.toBe(result.tokens.refreshToken)
    skew += 7200
    await client.getAccessToken('op', 'u2')
    expect(count('refresh_token')).toBe(before + 2)
  })

  it('device flow: polls until the person confirms the code, signs in and consents', async () => {
    const device = await client.startDeviceAuthorization('op-tv')
    const polling = client.completeDeviceAuthorization(device, { subject: 'u3' })
    const { page } = await new Browser(answers).walk(device.verificationUriComplete!)
    expect(page).toMatch(/successful/i)
    const tokens = await polling
    expect(tokens.claims).toMatchObject({ sub: 'alice', aud: 'tv' })
    expect(tokens.refreshToken).toBeDefined()
  })

  it('revocation: disconnect revokes the refresh token and deletes the stored tokens', async () => {
    const { result } = await connect('u4')
    expect(await client.disconnect('op', 'u4')).toEqual({ revoked: true })
    expect(await client.getTokens('op', 'u4')).toBeNull()
    const res = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicCredentials('app', 'app-secret') },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: result.tokens.refreshToken! }),
    })
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ error: 'invalid_grant' })
  })
})
