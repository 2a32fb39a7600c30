/**
 * Every flow of grantkit/client against grantkit's own server, in process but
 * over HTTP (node adapter on 127.0.0.1:0), with the browser part driven
 * through the built-in login, consent and device pages.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { decodeJwt } from 'jose'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { DEVICE_CODE_GRANT, JWT_BEARER_GRANT, SAML2_BEARER_GRANT } from '../../src/index.js'
import { createMemoryTokenStore, createOAuthClient, grantkit, ProviderError, TokenCipher, TokenUnavailableError, type OAuthClient, type TokenSet, type TokenStore } from '../../src/oauth-client/index.js'
import { basicCredentials } from '../../src/oauth-client/http.js'
import { Browser, encryption, keyPair, REDIRECT_URI, SAML_CERT, SAML_KEY, startGrantkit, users, type RunningGrantkit } from './harness.js'

const SCOPES = ['openid', 'profile', 'offline_access', 'api:read']
const answers = { username: 'alice', password: 'wonderland', decision: 'allow' }

let gk: RunningGrantkit
let store: TokenStore
let client: OAuthClient
const keys = encryption()
const cipher = new TokenCipher(keys)
/** Seconds the client's clock runs ahead of the real one. */
let skew = 0

beforeAll(async () => {
  const assertionKeys = await keyPair('ES256')
  const clientKeys = await keyPair('ES256')
  gk = await startGrantkit(() => ({
    clients: [
      { client_id: 'web', client_secret: 'web-secret', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code', 'refresh_token'], scope: 'openid profile email offline_access api:read' },
      {
        client_id: 'web-jwt',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [clientKeys.publicJwk] },
        redirect_uris: [REDIRECT_URI],
        grant_types: ['authorization_code', 'refresh_token'],
        scope: 'openid offline_access api:read',
      },
      {
        client_id: 'svc',
        client_secret: 'svc-secret',
        token_endpoint_auth_method: 'client_secret_post',
        grant_types: ['client_credentials', 'password', JWT_BEARER_GRANT, SAML2_BEARER_GRANT],
        scope: 'api:read api:write',
      },
      { client_id: 'tv', token_endpoint_auth_method: 'none', grant_types: [DEVICE_CODE_GRANT, 'refresh_token'], scope: 'openid offline_access api:read' },
      { client_id: 'rs', client_secret: 'rs-secret', grant_types: [], introspection_allowed: true },
    ],
    users,
    pkce: { required: 'all' },
    deviceFlow: { interval: 1 },
    trust: {
      jwtIssuers: [{ issuer: 'https://idp.test', jwks: { keys: [assertionKeys.publicJwk] } }],
      samlIdps: [{ entityId: 'https://idp.test/saml', certificate: SAML_CERT }],
    },
  }))
  const issuer = gk.issuer
  store = createMemoryTokenStore()
  client = createOAuthClient({
    providers: [
      grantkit({ issuer, clientId: 'web', clientSecret: 'web-secret', redirectUri: REDIRECT_URI, scopes: SCOPES }),
      grantkit({ id: 'gk-jwt', issuer, clientId: 'web-jwt', privateJwk: clientKeys.privateJwk, redirectUri: REDIRECT_URI, scopes: ['openid', 'offline_access', 'api:read'] }),
      grantkit({
        id: 'gk-svc',
        issuer,
        clientId: 'svc',
        clientSecret: 'svc-secret',
        authMethod: 'client_secret_post',
        scopes: ['api:read'],
        jwtBearer: { privateJwk: assertionKeys.privateJwk, issuer: 'https://idp.test' },
        saml: { privateKey: SAML_KEY, certificate: SAML_CERT, issuer: 'https://idp.test/saml' },
      }),
      grantkit({ id: 'gk-tv', issuer, clientId: 'tv', scopes: ['openid', 'offline_access', 'api:read'] }),
    ],
    store,
    encryption: keys,
    deps: { now: () => Date.now() / 1000 + skew },
  })
})

afterAll(async () => {
  await gk?.close()
})

afterEach(() => {
  skew = 0
})

const count = (key: string) => gk.grantCounts.get(key) ?? 0

/** Edits a stored record in place, as if time had passed (the server's clock stays real). */
async function rewrite(provider: string, subject: string, edit: (t: TokenSet) => void): Promise<void> {
  const tokens = cipher.open(provider, subject, (await store.get(provider, subject))!)
  edit(tokens)
  await store.put(provider, subject, cipher.seal(provider, subject, tokens))
}

/** Runs the code flow for a subject through the built-in pages. */
async function connect(provider: string, subject: string, person = answers) {
  const { url, pending } = await client.startAuthorization(provider, { subject })
  const { leftTo } = await new Browser(person).walk(url)
  expect(leftTo).toBeDefined()
  return client.completeAuthorization(leftTo!, pending)
}

describe('authorization code with PKCE and an ID token', () => {
  it('sends S256, state and nonce, and stores tokens after checking the callback and the ID token', async () => {
    const { url, pending } = await client.startAuthorization('grantkit', { subject: 'user-1' })
    const sent = new URL(url).searchParams
    expect(sent.get('code_challenge_method')).toBe('S256')
    expect(sent.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(sent.get('state')).toBe(pending.state)
    expect(sent.get('nonce')).toBe(pending.nonce)
    expect(url).not.toContain(pending.codeVerifier)

    const { leftTo } = await new Browser(answers).walk(url)
    const callback = new URL(leftTo!)
    expect(callback.searchParams.get('iss')).toBe(gk.issuer)
    const result = await client.completeAuthorization(callback, pending)
    expect(result.subject).toBe('user-1')
    expect(result.claims).toMatchObject({ iss: gk.issuer, sub: 'alice-sub', aud: 'web', nonce: pending.nonce })
    expect(result.tokens.refreshToken).toBeDefined()
    const stored = await client.getTokens('grantkit', 'user-1')
    expect(stored?.accessToken).toBe(result.tokens.accessToken)
    // At rest the record is ciphertext: no token appears in it.
    const sealed = await store.get('grantkit', 'user-1')
    expect(sealed!.ciphertext).not.toContain(result.tokens.accessToken.slice(0, 20))
  })

  it('calls an API with the stored token (userinfo)', async () => {
    await connect('grantkit', 'user-2')
    const res = await client.fetchWithToken('grantkit', 'user-2', `${gk.issuer}/userinfo`)
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ sub: 'alice-sub', name: 'Alice' })
  })

  it('authenticates with private_key_jwt (iss = sub = client_id, aud = token endpoint)', async () => {
    const result = await connect('gk-jwt', 'user-3')
    expect(decodeJwt(result.tokens.accessToken)).toMatchObject({ client_id: 'web-jwt', sub: 'alice-sub' })
  })

  it('surfaces a denial as a ProviderError and stores nothing', async () => {
    const { url, pending } = await client.startAuthorization('grantkit', { subject: 'user-denied', params: { prompt: 'consent' } })
    const { leftTo } = await new Browser({ ...answers, decision: 'deny' }).walk(url)
    const error = await client.completeAuthorization(leftTo!, pending).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ProviderError)
    expect(error).toMatchObject({ error: 'access_denied' })
    expect(await store.get('grantkit', 'user-denied')).toBeNull()
  })
})

describe('refresh with rotation', () => {
  it('refreshes shortly before expiry, keeps the new refresh token, and refreshes once for concurrent callers', async () => {
    const first = await connect('grantkit', 'user-r')
    const before = count('refresh_token')
    expect(await client.getAccessToken('grantkit', 'user-r')).toBe(first.tokens.accessToken)
    expect(count('refresh_token')).toBe(before)

    skew += 3600
    const tokens = await Promise.all(Array.from({ length: 10 }, () => client.getAccessToken('grantkit', 'user-r')))
    expect(new Set(tokens).size).toBe(1)
    expect(tokens[0]).not.toBe(first.tokens.accessToken)
    expect(count('refresh_token')).toBe(before + 1)
    expect(count('error:refresh_token:invalid_grant')).toBe(0)
    const stored = await client.getTokens('grantkit', 'user-r')
    expect(stored!.refreshToken).not.toBe(first.tokens.refreshToken)
    // The ID token and its claims from the first connection are kept.
    expect(stored!.claims).toMatchObject({ sub: 'alice-sub' })

    // The rotated chain still works: one more refresh later.
    skew += 3600
    await client.getAccessToken('grantkit', 'user-r')
    expect(count('refresh_token')).toBe(before + 2)
    expect(count('error:refresh_token:invalid_grant')).toBe(0)
  })

  it('deletes the tokens and reports TokenUnavailableError, with the invalid_grant as cause, when the grant is gone', async () => {
    const first = await connect('grantkit', 'user-gone')
    // Someone else used the refresh token: grantkit rotates it, so ours is now a reused one.
    const res = await fetch(`${gk.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicCredentials('web', 'web-secret') },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: first.tokens.refreshToken! }),
    })
    expect(res.status).toBe(200)
    skew += 3600
    const error = await client.getAccessToken('grantkit', 'user-gone').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TokenUnavailableError)
    expect(error).toMatchObject({ reason: 'refresh_refused', cause: { name: 'ProviderError', error: 'invalid_grant' } })
    expect(await store.get('grantkit', 'user-gone')).toBeNull()
    await expect(client.getAccessToken('grantkit', 'user-gone')).rejects.toBeInstanceOf(TokenUnavailableError)
  })
})

describe('fetchWithToken', () => {
  it('on 401 invalid_token refreshes and retries once', async () => {
    const connected = await connect('grantkit', 'user-f')
    // Revoke the access token only (RFC 7009): userinfo now answers 401 invalid_token.
    const revoke = await fetch(`${gk.issuer}/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicCredentials('web', 'web-secret') },
      body: new URLSearchParams({ token: connected.tokens.accessToken, token_type_hint: 'access_token' }),
    })
    expect(revoke.status).toBe(200)
    const direct = await fetch(`${gk.issuer}/userinfo`, { headers: { authorization: `Bearer ${connected.tokens.accessToken}` } })
    expect(direct.status).toBe(401)
    expect(direct.headers.get('www-authenticate')).toContain('invalid_token')

    const before = count('refresh_token')
    const res = await client.fetchWithToken('grantkit', 'user-f', `${gk.issuer}/userinfo`)
    expect(res.status).toBe(200)
    expect(count('refresh_token')).toBe(before + 1)
  })

  it('retries exactly once when the API keeps refusing, and sends POST bodies again', async () => {
    await connect('grantkit', 'user-f2')
    const seen: Array<{ auth: string | undefined; body: string }> = []
    const api = createServer((req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => (body += c.toString()))
      req.on('end', () => {
        seen.push({ auth: req.headers.authorization, body })
        res.writeHead(401, { 'www-authenticate': 'DPoP algs="ES256", Bearer realm="api", error="invalid_token", error_description="expired"' })
        res.end()
      })
    })
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r))
    try {
      const url = `http://127.0.0.1:${(api.address() as AddressInfo).port}/things`
      const before = count('refresh_token')
      const res = await client.fetchWithToken('grantkit', 'user-f2', url, { method: 'POST', body: 'hello', headers: { 'content-type': 'text/plain' } })
      expect(res.status).toBe(401)
      expect(seen).toHaveLength(2)
      expect(seen.map((s) => s.body)).toEqual(['hello', 'hello'])
      expect(seen[0]!.auth).not.toBe(seen[1]!.auth)
      expect(count('refresh_token')).toBe(before + 1)
    } finally {
      api.closeAllConnections()
      api.close()
    }
  })

  it('refuses to send a token over plain http to a non-loopback host', async () => {
    await expect(client.fetchWithToken('grantkit', 'user-f2', 'http://api.example/x')).rejects.toThrow(TypeError)
  })
})

describe('client credentials', () => {
  it('caches the token per scope and audience, with one request for concurrent callers', async () => {
    const before = count('client_credentials')
    const [a, b] = await Promise.all([client.clientCredentials('gk-svc'), client.clientCredentials('gk-svc')])
    expect(a.accessToken).toBe(b.accessToken)
    expect(count('client_credentials')).toBe(before + 1)
    expect((await client.clientCredentials('gk-svc')).accessToken).toBe(a.accessToken)
    expect(count('client_credentials')).toBe(before + 1)
    const wider = await client.clientCredentials('gk-svc', { scopes: ['api:read', 'api:write'] })
    expect(wider.scope).toBe('api:read api:write')
    expect(count('client_credentials')).toBe(before + 2)
    expect(decodeJwt(a.accessToken)).toMatchObject({ sub: 'svc', client_id: 'svc', scope: 'api:read' })
  })

  it('gets a new token once the cached one is about to expire', async () => {
    const a = await client.clientCredentials('gk-svc')
    const before = count('client_credentials')
    skew += 3600
    const b = await client.clientCredentials('gk-svc')
    expect(b.accessToken).not.toBe(a.accessToken)
    expect(count('client_credentials')).toBe(before + 1)
  })
})

describe('password', () => {
  it('stores the tokens under the subject', async () => {
    const tokens = await client.password('gk-svc', { subject: 'user-p', username: 'bob', password: 'builder' })
    expect(decodeJwt(tokens.accessToken)).toMatchObject({ sub: 'bob-sub' })
    expect(await client.getAccessToken('gk-svc', 'user-p')).toBe(tokens.accessToken)
  })

  it('surfaces invalid_grant for a wrong password and stores nothing', async () => {
    const error = await client.password('gk-svc', { subject: 'user-p2', username: 'bob', password: 'nope' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ProviderError)
    expect(error).toMatchObject({ error: 'invalid_grant', status: 400 })
    expect(await store.get('gk-svc', 'user-p2')).toBeNull()
  })
})

describe('assertion grants', () => {
  it('JWT bearer (RFC 7523): a signed assertion for a user becomes that user’s token', async () => {
    const tokens = await client.jwtBearer('gk-svc', { subject: 'user-j', assertionSubject: 'alice-sub' })
    expect(decodeJwt(tokens.accessToken)).toMatchObject({ sub: 'alice-sub', client_id: 'svc' })
    expect(tokens.renew).toEqual({ grant: 'jwt_bearer', assertionSubject: 'alice-sub', scope: 'api:read' })
  })

  it('JWT bearer: an expired token is renewed with a fresh assertion', async () => {
    const first = await client.jwtBearer('gk-svc', { subject: 'user-j2', assertionSubject: 'alice-sub' })
    const before = count(JWT_BEARER_GRANT)
    await rewrite('gk-svc', 'user-j2', (t) => {
      t.obtainedAt -= 3600
      t.expiresAt = Math.floor(Date.now() / 1000) + 5
    })
    const next = await client.getAccessToken('gk-svc', 'user-j2')
    expect(next).not.toBe(first.accessToken)
    expect(count(JWT_BEARER_GRANT)).toBe(before + 1)
  })

  it('SAML 2.0 bearer (RFC 7522): an assertion signed with the configured key is accepted', async () => {
    const tokens = await client.saml2Bearer('gk-svc', { subject: 'user-s', nameId: 'bob-sub' })
    expect(decodeJwt(tokens.accessToken)).toMatchObject({ sub: 'bob-sub', client_id: 'svc' })
    expect(await client.getAccessToken('gk-svc', 'user-s')).toBe(tokens.accessToken)
  })
})

describe('device flow', () => {
  it('polls while the person enters the code, signs in and allows; validates the ID token', async () => {
    const device = await client.startDeviceAuthorization('gk-tv')
    expect(device.userCode).toMatch(/\S/)
    expect(device.interval).toBe(1)
    const before = count('error:' + DEVICE_CODE_GRANT + ':authorization_pending')
    const polling = client.completeDeviceAuthorization(device, { subject: 'user-d' })
    await new Promise((r) => setTimeout(r, 1500))
    const { page } = await new Browser(answers).walk(device.verificationUriComplete!)
    expect(page).toContain('Device connected')
    const tokens = await polling
    expect(count('error:' + DEVICE_CODE_GRANT + ':authorization_pending')).toBeGreaterThan(before)
    expect(count('error:' + DEVICE_CODE_GRANT + ':slow_down')).toBe(0)
    expect(tokens.claims).toMatchObject({ sub: 'alice-sub', aud: 'tv' })
    expect(await client.getAccessToken('gk-tv', 'user-d')).toBe(tokens.accessToken)
  })

  it('reports access_denied when the person denies', async () => {
    const device = await client.startDeviceAuthorization('gk-tv')
    await new Browser({ ...answers, decision: 'deny' }).walk(device.verificationUriComplete!)
    await expect(client.completeDeviceAuthorization(device, { subject: 'user-d2' })).rejects.toMatchObject({ error: 'access_denied' })
    expect(await store.get('gk-tv', 'user-d2')).toBeNull()
  })
})

describe('disconnect', () => {
  it('revokes the refresh token at the provider and deletes the stored tokens', async () => {
    const { tokens } = await connect('grantkit', 'user-x')
    expect(await client.disconnect('grantkit', 'user-x')).toEqual({ revoked: true })
    expect(await store.get('grantkit', 'user-x')).toBeNull()
    const res = await fetch(`${gk.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicCredentials('web', 'web-secret') },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refreshToken! }),
    })
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ error: 'invalid_grant' })
    const introspection = await fetch(`${gk.issuer}/introspect`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicCredentials('rs', 'rs-secret') },
      body: new URLSearchParams({ token: tokens.accessToken }),
    })
    expect(await introspection.json()).toMatchObject({ active: false })
  })

  it('is a no-op for a subject that never connected', async () => {
    expect(await client.disconnect('grantkit', 'nobody')).toEqual({ revoked: false })
  })
})
