/**
 * A provider that lies or breaks: every answer that fails a check is refused
 * with a typed error naming the check, and nothing is stored.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  createMemoryTokenStore,
  createOAuthClient,
  genericOidc,
  ProtocolError,
  ProviderError,
  type OAuthClient,
  type PendingAuthorization,
  type ProviderProfile,
  type TokenStore,
} from '../../src/oauth-client/index.js'
import { startFakeProvider, type FakeProvider } from './fake-provider.js'
import { encryption, keyPair, REDIRECT_URI } from './harness.js'

let fake: FakeProvider
let store: TokenStore
let client: OAuthClient
let waits: number[]

function makeClient(extra: Partial<ProviderProfile> = {}): OAuthClient {
  waits = []
  store = createMemoryTokenStore()
  return createOAuthClient({
    providers: [genericOidc({ id: 'fake', issuer: fake.issuer, clientId: 'app', clientSecret: 'app-secret', redirectUri: REDIRECT_URI, scopes: ['openid', 'api'] }), { ...genericOidc({ id: 'fake2', issuer: fake.issuer, clientId: 'app', clientSecret: 'app-secret', redirectUri: REDIRECT_URI }), ...extra }],
    store,
    encryption: encryption(),
    deps: {
      sleep: async (ms) => {
        waits.push(ms)
      },
    },
  })
}

beforeAll(async () => {
  fake = await startFakeProvider()
})

afterAll(async () => {
  await fake?.close()
})

beforeEach(() => {
  fake.metadata = {}
  fake.requests.length = 0
  client = makeClient()
})

/** A token endpoint that answers with a valid response, whose ID token carries the flow's nonce unless overridden. */
function answerWith(pending: PendingAuthorization, overrides: Record<string, unknown> = {}, idClaims: Record<string, unknown> = {}, idOptions: Parameters<FakeProvider['idToken']>[1] = {}) {
  fake.token = async () => ({
    body: {
      access_token: 'at-1',
      token_type: 'Bearer',
      expires_in: 3600,
      refresh_token: 'rt-1',
      scope: 'openid api',
      id_token: await fake.idToken({ nonce: pending.nonce, ...idClaims }, idOptions),
      ...overrides,
    },
  })
}

async function start() {
  return client.startAuthorization('fake', { subject: 'alice' })
}

function callback(params: Record<string, string>): string {
  return `${REDIRECT_URI}?${new URLSearchParams(params)}`
}

/** Expects a refusal of the given kind and code, and an empty store. */
async function expectRefused(promise: Promise<unknown>, type: typeof ProtocolError | typeof ProviderError, fields: Record<string, unknown>) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(type)
  expect(error).toMatchObject(fields)
  expect(await store.get('fake', 'alice')).toBeNull()
  expect(await client.getTokens('fake', 'alice')).toBeNull()
}

describe('the honest case', () => {
  it('stores the tokens of a valid response', async () => {
    const { pending } = await start()
    answerWith(pending)
    const result = await client.completeAuthorization(callback({ code: 'c', state: pending.state, iss: fake.issuer }), pending)
    expect(result.tokens).toMatchObject({ accessToken: 'at-1', refreshToken: 'rt-1', scope: 'openid api' })
    expect(await client.getAccessToken('fake', 'alice')).toBe('at-1')
    const sent = fake.requests.find((r) => r.path === '/token')!.params
    expect(sent.get('code_verifier')).toBe(pending.codeVerifier)
    expect(sent.get('redirect_uri')).toBe(REDIRECT_URI)
  })
})

describe('callback checks', () => {
  it('refuses a state that is not the one the flow started with, before redeeming the code', async () => {
    const { pending } = await start()
    answerWith(pending)
    await expectRefused(client.completeAuthorization(callback({ code: 'c', state: 'forged', iss: fake.issuer }), pending), ProtocolError, { code: 'state_mismatch' })
    await expectRefused(client.completeAuthorization(callback({ code: 'c', iss: fake.issuer }), pending), ProtocolError, { code: 'state_mismatch' })
    expect(fake.requests.filter((r) => r.path === '/token')).toHaveLength(0)
  })

  it('refuses an iss naming another issuer (RFC 9207 mix-up defence)', async () => {
    const { pending } = await start()
    answerWith(pending)
    await expectRefused(client.completeAuthorization(callback({ code: 'c', state: pending.state, iss: 'https://attacker.example' }), pending), ProtocolError, { code: 'iss_mismatch' })
    expect(fake.requests.filter((r) => r.path === '/token')).toHaveLength(0)
  })

  it('refuses a callback without iss when the provider advertises authorization_response_iss_parameter_supported', async () => {
    const { pending } = await start()
    answerWith(pending)
    await expectRefused(client.completeAuthorization(callback({ code: 'c', state: pending.state }), pending), ProtocolError, { code: 'iss_missing' })
  })

  it('accepts a callback without iss when the provider does not advertise it, but still refuses a wrong one', async () => {
    fake.metadata = { authorization_response_iss_parameter_supported: false }
    const { pending } = await start()
    answerWith(pending)
    await expectRefused(client.completeAuthorization(callback({ code: 'c', state: pending.state, iss: 'https://attacker.example' }), pending), ProtocolError, { code: 'iss_mismatch' })
    await client.completeAuthorization(callback({ code: 'c', state: pending.state }), pending)
    expect(await client.getAccessToken('fake', 'alice')).toBe('at-1')
  })

  it('refuses a callback that repeats state', async () => {
    const { pending } = await start()
    await expectRefused(client.completeAuthorization(`${REDIRECT_URI}?code=c&state=${pending.state}&state=x&iss=${encodeURIComponent(fake.issuer)}`, pending), ProtocolError, { code: 'invalid_callback' })
  })

  it('surfaces error and error_description of the callback as a ProviderError', async () => {
    const { pending } = await start()
    await expectRefused(
      client.completeAuthorization(callback({ error: 'access_denied', error_description: 'The user said no', state: pending.state, iss: fake.issuer }), pending),
      ProviderError,
      { error: 'access_denied', errorDescription: 'The user said no', status: undefined },
    )
  })
})

describe('ID token checks', () => {
  it('refuses a nonce that is not the flow’s', async () => {
    const { pending } = await start()
    answerWith(pending, {}, { nonce: 'another-nonce' })
    await expectRefused(client.completeAuthorization(callback({ code: 'c', state: pending.state, iss: fake.issuer }), pending), ProtocolError, { code: 'nonce_mismatch' })
  })

  it('refuses an ID token without a nonce', async () => {
    const { pending } = await start()
    answerWith(pending, {}, { nonce: undefined })
    await expectRefused(client.completeAuthorization(callback({ code: 'c', state: pending.state, iss: fake.issuer }), pending), ProtocolError, { code: 'nonce_mismatch' })
  })

  it('refuses an ID token signed with another key, under the provider’s kid or another', async () => {
    const other = await keyPair('ES256', 'fake-key')
    for (const kid of ['fake-key', 'unknown-kid']) {
      const { pending } = await start()
      answerWith(pending, {}, {}, { key: other.privateJwk, kid })
      await expectRefused(client.completeAuthorization(callback({ code: 'c', state: pending.state, iss: fake.issuer }), pending), ProtocolError, { code: 'invalid_id_token' })
    }
  })

  it('refuses alg none, even though the provider advertises it', async () => {
    const { pending } = await start()
    answerWith(pending, {}, {}, { none: true })
    await expectRefused(client.completeAuthorization(callback({ code: 'c', state: pending.state, iss: fake.issuer }), pending), ProtocolError, { code: 'invalid_id_token' })
  })

  it('refuses HS256 (a shared secret where a signature belongs)', async () => {
    const { pending } = await start()
    answerWith(pending, {}, {}, { hmacSecret: new TextEncoder().encode('app-secret-app-secret-app-secret') })
    await expectRefused(client.completeAuthorization(callback({ code: 'c', state: pending.state, iss: fake.issuer }), pending), ProtocolError, { code: 'invalid_id_token' })
  })

  it.each([
    ['another issuer', { iss: 'https://attacker.example' }],
    ['another audience', { aud: 'someone-else' }],
    ['several audiences and no azp', { aud: ['app', 'other'] }],
    ['an azp that is another client', { aud: ['app', 'other'], azp: 'other' }],
    ['an exp in the past', { exp: Math.floor(Date.now() / 1000) - 3600, iat: Math.floor(Date.now() / 1000) - 3900 }],
    ['an iat in the future', { iat: Math.floor(Date.now() / 1000) + 3600, exp: Math.floor(Date.now() / 1000) + 7200 }],
    ['an iat long ago', { iat: Math.floor(Date.now() / 1000) - 7200 }],
    ['no sub', { sub: undefined }],
  ])('refuses an ID token with %s', async (_name, claims) => {
    const { pending } = await start()
    answerWith(pending, {}, claims)
    await expectRefused(client.completeAuthorization(callback({ code: 'c', state: pending.state, iss: fake.issuer }), pending), ProtocolError, { code: 'invalid_id_token' })
  })

  it('accepts several audiences when azp is the client', async () => {
    const { pending } = await start()
    answerWith(pending, {}, { aud: ['app', 'other'], azp: 'app' })
    const { claims } = await client.completeAuthorization(callback({ code: 'c', state: pending.state, iss: fake.issuer }), pending)
    expect(claims).toMatchObject({ azp: 'app' })
  })

  it('refuses a response without the ID token openid asked for', async () => {
    const { pending } = await start()
    answerWith(pending, { id_token: undefined })
    await expectRefused(client.completeAuthorization(callback({ code: 'c', state: pending.state, iss: fake.issuer }), pending), ProtocolError, { code: 'invalid_token_response' })
  })
})

describe('token response checks', () => {
  it.each([
    ['without token_type', { token_type: undefined }],
    ['with a token_type other than Bearer', { token_type: 'DPoP' }],
    ['without access_token', { access_token: undefined }],
    ['with an access_token that is not a string', { access_token: 42 }],
    ['with a malformed expires_in', { expires_in: 'soon' }],
  ])('refuses a response %s', async (_name, overrides) => {
    const { pending } = await start()
    answerWith(pending, overrides)
    await expectRefused(client.completeAuthorization(callback({ code: 'c', state: pending.state, iss: fake.issuer }), pending), ProtocolError, { code: 'invalid_token_response' })
  })

  it('surfaces an OAuth error response as a ProviderError with error, description, uri and status', async () => {
    const { pending } = await start()
    fake.token = () => ({ status: 400, body: { error: 'invalid_grant', error_description: 'code already used', error_uri: 'https://docs.example/errors' } })
    await expectRefused(client.completeAuthorization(callback({ code: 'c', state: pending.state, iss: fake.issuer }), pending), ProviderError, {
      error: 'invalid_grant',
      errorDescription: 'code already used',
      errorUri: 'https://docs.example/errors',
      status: 400,
    })
  })

  it('surfaces invalid_client (401) as a ProviderError', async () => {
    const { pending } = await start()
    fake.token = () => ({ status: 401, body: { error: 'invalid_client' }, headers: { 'www-authenticate': 'Basic realm="fake"' } })
    await expectRefused(client.completeAuthorization(callback({ code: 'c', state: pending.state, iss: fake.issuer }), pending), ProviderError, { error: 'invalid_client', status: 401 })
  })

  it('refuses a non-JSON answer, and an error code inside a 200', async () => {
    const { pending } = await start()
    fake.token = () => ({ status: 502, body: '<html>Bad gateway</html>' })
    await expectRefused(client.completeAuthorization(callback({ code: 'c', state: pending.state, iss: fake.issuer }), pending), ProtocolError, { code: 'unexpected_response' })
    // A flow whose exchange failed is used up too: the second answer needs a flow of its own.
    const second = (await start()).pending
    fake.token = () => ({ status: 200, body: { error: 'invalid_grant' } })
    await expectRefused(client.completeAuthorization(callback({ code: 'c', state: second.state, iss: fake.issuer }), second), ProtocolError, { code: 'invalid_token_response' })
  })
})

describe('discovery checks', () => {
  it('refuses a document that names another issuer (RFC 8414 §3.3)', async () => {
    fake.metadata = { issuer: 'https://attacker.example' }
    await expect(client.startAuthorization('fake', { subject: 'alice' })).rejects.toMatchObject({ name: 'ProtocolError', code: 'invalid_metadata' })
  })

  it('refuses endpoints over plain http on a network host', async () => {
    fake.metadata = { token_endpoint: 'http://token.example/token' }
    await expect(client.startAuthorization('fake', { subject: 'alice' })).rejects.toMatchObject({ code: 'invalid_metadata' })
  })

  it('tries again after a failed discovery instead of caching the failure', async () => {
    fake.metadata = { issuer: 'https://attacker.example' }
    await expect(client.metadata('fake')).rejects.toThrow(ProtocolError)
    fake.metadata = {}
    expect((await client.metadata('fake')).issuer).toBe(fake.issuer)
  })
})

describe('device flow polling', () => {
  it('waits the interval, adds 5 s after slow_down (RFC 8628 §3.5), and keeps the longer interval', async () => {
    fake.device = () => ({ body: { device_code: 'dc', user_code: 'ABCD-EFGH', verification_uri: `${fake.issuer}/verify`, expires_in: 600, interval: 3 } })
    const answers = ['authorization_pending', 'slow_down', 'authorization_pending', 'ok']
    fake.token = () => {
      const next = answers.shift()!
      return next === 'ok' ? { body: { access_token: 'dev-at', token_type: 'bearer', expires_in: 60 } } : { status: 400, body: { error: next } }
    }
    const device = await client.startDeviceAuthorization('fake2')
    expect(device).toMatchObject({ userCode: 'ABCD-EFGH', interval: 3 })
    const tokens = await client.completeDeviceAuthorization(device, { subject: 'alice' })
    expect(tokens.accessToken).toBe('dev-at')
    expect(waits).toEqual([3000, 3000, 8000, 8000])
    expect(fake.requests.filter((r) => r.path === '/token').every((r) => r.params.get('device_code') === 'dc')).toBe(true)
  })

  it('defaults the interval to 5 s and stops at access_denied with nothing stored', async () => {
    fake.device = () => ({ body: { device_code: 'dc', user_code: 'U', verification_uri: `${fake.issuer}/verify`, expires_in: 600 } })
    fake.token = () => ({ status: 400, body: { error: 'access_denied', error_description: 'no' } })
    const device = await client.startDeviceAuthorization('fake2')
    await expect(client.completeDeviceAuthorization(device, { subject: 'alice' })).rejects.toMatchObject({ name: 'ProviderError', error: 'access_denied' })
    expect(waits).toEqual([5000])
    expect(await store.get('fake2', 'alice')).toBeNull()
  })

  it('gives up with expired_token once the device code has expired', async () => {
    fake.device = () => ({ body: { device_code: 'dc', user_code: 'U', verification_uri: `${fake.issuer}/verify`, expires_in: 600, interval: 1 } })
    fake.token = () => ({ status: 400, body: { error: 'authorization_pending' } })
    const device = await client.startDeviceAuthorization('fake2')
    const error = await client.completeDeviceAuthorization({ ...device, expiresAt: Date.now() / 1000 - 1 }, { subject: 'alice' }).catch((e: unknown) => e)
    expect(error).toMatchObject({ name: 'ProviderError', error: 'expired_token' })
  })

  it('refuses a device authorization response without a user_code', async () => {
    fake.device = () => ({ body: { device_code: 'dc', verification_uri: `${fake.issuer}/verify`, expires_in: 600 } })
    await expect(client.startDeviceAuthorization('fake2')).rejects.toMatchObject({ code: 'unexpected_response' })
  })
})

describe('quirks', () => {
  it('keeps chosen fields, defaults a missing expires_in, and resolves relative API URLs against instance_url', async () => {
    client = makeClient({
      quirks: { keepFields: ['instance_url'], defaultExpiresIn: 900, apiBaseUrl: (t) => t.extra?.instance_url as string },
    })
    fake.token = () => ({ body: { access_token: 'sf-at', token_type: 'Bearer', instance_url: fake.issuer } })
    const tokens = await client.password('fake2', { subject: 'alice', username: 'a', password: 'b' })
    expect(tokens.extra).toEqual({ instance_url: fake.issuer })
    expect(tokens.expiresAt! - tokens.obtainedAt).toBe(900)
    const res = await client.fetchWithToken('fake2', 'alice', '/jwks')
    expect(res.status).toBe(200)
  })

  it('refuses unsupported grants named in the profile', async () => {
    client = makeClient({ grants: ['authorization_code'] })
    await expect(client.clientCredentials('fake2')).rejects.toThrow(/does not support the client_credentials grant/)
  })
})
