/**
 * Refresh semantics and what goes on the wire, against the fake provider:
 * rotation, leases left by a dead process, disconnect racing a refresh, client
 * authentication and grant assertions as the provider receives them.
 */
import { decodeJwt, decodeProtectedHeader } from 'jose'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { verifySamlAssertion } from '../../src/saml/verify.js'
import {
  createMemoryTokenStore,
  createOAuthClient,
  defineProvider,
  genericOidc,
  google,
  TokenCipher,
  TokenUnavailableError,
  type EncryptionOptions,
  type OAuthClient,
  type ProviderProfile,
  type TokenSet,
  type TokenStore,
} from '../../src/oauth-client/index.js'
import { startFakeProvider, type FakeProvider } from './fake-provider.js'
import { encryption, keyPair, SAML_CERT, SAML_KEY } from './harness.js'

let fake: FakeProvider
let store: TokenStore
let keys: EncryptionOptions
let cipher: TokenCipher

beforeAll(async () => {
  fake = await startFakeProvider()
})
afterAll(async () => {
  await fake?.close()
})
beforeEach(() => {
  fake.requests.length = 0
  fake.metadata = {}
  store = createMemoryTokenStore()
  keys = encryption()
  cipher = new TokenCipher(keys)
})

function clientFor(profile: Partial<ProviderProfile> = {}, options: { leaseTtl?: number; timeout?: number } = {}): OAuthClient {
  return createOAuthClient({
    providers: [defineProvider({ ...genericOidc({ id: 'fake', issuer: fake.issuer, clientId: 'app', clientSecret: 'app secret/ü' }), ...profile })],
    store,
    encryption: keys,
    ...options,
  })
}

const now = () => Math.floor(Date.now() / 1000)

/** Stores tokens whose access token has expired, as a connection made an hour ago would have. */
async function storeExpired(subject: string, extra: Partial<TokenSet> = {}): Promise<void> {
  const t: TokenSet = { accessToken: 'at-0', tokenType: 'Bearer', refreshToken: 'rt-0', obtainedAt: now() - 3600, expiresAt: now() - 10, scope: 'openid api', ...extra }
  await store.put('fake', subject, cipher.seal('fake', subject, t))
}

/** A rotating token endpoint: each refresh_token is accepted once and answered with the next. */
function rotating(delayMs = 0): { sent: string[] } {
  const sent: string[] = []
  let n = 0
  fake.token = async (params) => {
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs))
    const rt = params.get('refresh_token')!
    if (sent.includes(rt)) return { status: 400, body: { error: 'invalid_grant', error_description: 'refresh token reused' } }
    sent.push(rt)
    n++
    return { body: { access_token: `at-${n}`, token_type: 'Bearer', expires_in: 3600, refresh_token: `rt-${n}` } }
  }
  return { sent }
}

const tokenRequests = () => fake.requests.filter((r) => r.path === '/token').map((r) => r.params)

describe('refresh', () => {
  it('sends each rotated refresh token once and keeps the newest', async () => {
    const { sent } = rotating()
    const client = clientFor()
    await storeExpired('alice')
    expect(await client.getAccessToken('fake', 'alice')).toBe('at-1')
    await storeExpired('alice', { refreshToken: (await client.getTokens('fake', 'alice'))!.refreshToken! })
    expect(await client.getAccessToken('fake', 'alice')).toBe('at-2')
    expect(sent).toEqual(['rt-0', 'rt-1'])
    expect((await client.getTokens('fake', 'alice'))!.refreshToken).toBe('rt-2')
  })

  it('keeps the refresh token when the response has none (RFC 6749 §6), and the original ID token claims', async () => {
    fake.token = async () => ({ body: { access_token: 'at-new', token_type: 'Bearer', expires_in: 3600, id_token: await fake.idToken({ sub: 'mallory' }) } })
    const client = clientFor()
    await storeExpired('alice', { claims: { sub: 'alice' }, idToken: 'the-first-id-token' })
    expect(await client.getAccessToken('fake', 'alice')).toBe('at-new')
    const stored = (await client.getTokens('fake', 'alice'))!
    expect(stored).toMatchObject({ refreshToken: 'rt-0', claims: { sub: 'alice' }, idToken: 'the-first-id-token', scope: 'openid api' })
  })

  it('waits for a lease left by a dead process, then refreshes once', async () => {
    rotating()
    const client = clientFor({}, { timeout: 0.5, leaseTtl: 2 })
    await storeExpired('alice')
    expect(await store.acquireLease('fake', 'alice', 'dead-process', 400)).toBe(true)
    const started = Date.now()
    const tokens = await Promise.all([client.getAccessToken('fake', 'alice'), client.getAccessToken('fake', 'alice')])
    expect(tokens).toEqual(['at-1', 'at-1'])
    expect(Date.now() - started).toBeGreaterThanOrEqual(350)
    expect(tokenRequests()).toHaveLength(1)
  })

  it('gives up with lease_timeout when a lease is never released', async () => {
    rotating()
    const client = clientFor({}, { timeout: 0.1, leaseTtl: 0.3 })
    await storeExpired('alice')
    expect(await store.acquireLease('fake', 'alice', 'stuck', 60_000)).toBe(true)
    await expect(client.getAccessToken('fake', 'alice')).rejects.toMatchObject({ name: 'TokenUnavailableError', reason: 'lease_timeout' })
    expect(tokenRequests()).toHaveLength(0)
  })

  it('reports expired when there is nothing to refresh with', async () => {
    const client = clientFor()
    await storeExpired('alice', { refreshToken: undefined })
    const error = await client.getAccessToken('fake', 'alice').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TokenUnavailableError)
    expect(error).toMatchObject({ reason: 'expired' })
  })

  it('does not refresh short-lived tokens on every call (the skew is at most half the lifetime)', async () => {
    rotating()
    const client = clientFor()
    const t: TokenSet = { accessToken: 'short', tokenType: 'Bearer', refreshToken: 'rt-0', obtainedAt: now(), expiresAt: now() + 30 }
    await store.put('fake', 'alice', cipher.seal('fake', 'alice', t))
    expect(await client.getAccessToken('fake', 'alice')).toBe('short')
    expect(tokenRequests()).toHaveLength(0)
  })

  it('disconnect waits for a refresh in flight, then revokes the rotated token and leaves nothing behind', async () => {
    rotating(200)
    const client = clientFor()
    await storeExpired('alice')
    const refreshing = client.getAccessToken('fake', 'alice')
    await new Promise((r) => setTimeout(r, 50))
    const disconnected = await client.disconnect('fake', 'alice')
    expect(await refreshing).toBe('at-1')
    expect(disconnected).toEqual({ revoked: true })
    expect(await store.get('fake', 'alice')).toBeNull()
    const revoked = fake.requests.filter((r) => r.path === '/revoke').map((r) => [r.params.get('token'), r.params.get('token_type_hint')])
    expect(revoked).toEqual([
      ['rt-1', 'refresh_token'],
      ['at-1', 'access_token'],
    ])
  })

  it('deletes locally even when revocation fails, and says so', async () => {
    const client = clientFor({ metadata: { revocation_endpoint: `${fake.issuer}/nowhere` } })
    await storeExpired('alice')
    const result = await client.disconnect('fake', 'alice')
    expect(result.revoked).toBe(false)
    expect(result.error).toMatchObject({ name: 'ProtocolError' })
    expect(await store.get('fake', 'alice')).toBeNull()
  })
})

describe('client authentication on the wire', () => {
  function answerCc() {
    fake.token = () => ({ body: { access_token: 'cc', token_type: 'Bearer', expires_in: 3600 } })
  }
  const tokenHeaders: Array<Record<string, string | string[] | undefined>> = []
  beforeEach(() => {
    tokenHeaders.length = 0
  })

  it('client_secret_basic form-encodes id and secret (RFC 6749 §2.3.1)', async () => {
    fake.token = (_p, headers) => {
      tokenHeaders.push(headers)
      return { body: { access_token: 'cc', token_type: 'Bearer', expires_in: 3600 } }
    }
    await clientFor().clientCredentials('fake')
    const auth = String(tokenHeaders[0]!.authorization)
    expect(Buffer.from(auth.slice(6), 'base64').toString()).toBe('app:app+secret%2F%C3%BC')
    expect(tokenRequests()[0]!.get('client_secret')).toBeNull()
  })

  it('client_secret_post sends them in the body', async () => {
    answerCc()
    await clientFor({ authMethod: 'client_secret_post' }).clientCredentials('fake', { scopes: ['a', 'b'], audience: 'https://api.example' })
    const sent = tokenRequests()[0]!
    expect(Object.fromEntries(sent)).toEqual({ grant_type: 'client_credentials', scope: 'a b', resource: 'https://api.example', client_id: 'app', client_secret: 'app secret/ü' })
  })

  it('private_key_jwt signs iss = sub = client_id, aud = token endpoint, exp, iat, jti', async () => {
    answerCc()
    const { privateJwk } = await keyPair('ES256', 'client-key')
    await clientFor({ authMethod: 'private_key_jwt', privateJwk, clientSecret: undefined }).clientCredentials('fake')
    const sent = tokenRequests()[0]!
    expect(sent.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
    expect(sent.get('client_secret')).toBeNull()
    const assertion = sent.get('client_assertion')!
    expect(decodeProtectedHeader(assertion)).toMatchObject({ alg: 'ES256', kid: 'client-key' })
    const claims = decodeJwt(assertion)
    expect(claims).toMatchObject({ iss: 'app', sub: 'app', aud: `${fake.issuer}/token` })
    expect(claims.exp! - claims.iat!).toBe(60)
    expect(claims.jti).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })
})

describe('grant assertions on the wire', () => {
  it('JWT bearer: iss, sub, aud, iat, exp and jti, signed with the configured key', async () => {
    fake.token = () => ({ body: { access_token: 'jb', token_type: 'Bearer', expires_in: 3600 } })
    const { privateJwk } = await keyPair('RS256', 'assertion-key')
    const client = clientFor({ jwtBearer: { privateJwk, issuer: 'https://idp.example' } })
    await client.jwtBearer('fake', { subject: 'alice', scopes: ['api'] })
    const sent = tokenRequests()[0]!
    expect(sent.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer')
    expect(sent.get('scope')).toBe('api')
    const claims = decodeJwt(sent.get('assertion')!)
    expect(claims).toMatchObject({ iss: 'https://idp.example', sub: 'alice', aud: `${fake.issuer}/token` })
    expect(claims.exp! - claims.iat!).toBe(180)
    expect(typeof claims.jti).toBe('string')
    expect(decodeProtectedHeader(sent.get('assertion')!)).toMatchObject({ alg: 'RS256', kid: 'assertion-key' })
  })

  it('JWT bearer for Google service accounts: scope inside the assertion, no sub when acting as itself', async () => {
    fake.token = () => ({ body: { access_token: 'g', token_type: 'Bearer', expires_in: 3600 } })
    const { privateJwk } = await keyPair('RS256')
    const g = google({ clientId: 'sa@project.iam.gserviceaccount.com', jwtBearer: { privateJwk } })
    const client = clientFor({ jwtBearer: g.jwtBearer!, authMethod: 'none', clientSecret: undefined })
    await client.jwtBearer('fake', { subject: 'service', assertionSubject: null, scopes: ['https://www.googleapis.com/auth/drive'] })
    const sent = tokenRequests()[0]!
    expect(sent.get('scope')).toBeNull()
    const claims = decodeJwt(sent.get('assertion')!)
    expect(claims.scope).toBe('https://www.googleapis.com/auth/drive')
    expect(claims.sub).toBeUndefined()
  })

  it('SAML 2.0 bearer: a signed assertion with Recipient and Audience = token endpoint, base64url-encoded', async () => {
    fake.token = () => ({ body: { access_token: 's', token_type: 'Bearer', expires_in: 3600 } })
    const client = clientFor({ saml: { privateKey: SAML_KEY, certificate: SAML_CERT, issuer: 'https://idp.example/saml' } })
    await client.saml2Bearer('fake', { subject: 'alice', nameId: 'alice@example.com' })
    const sent = tokenRequests()[0]!
    expect(sent.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:saml2-bearer')
    const encoded = sent.get('assertion')!
    expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/)
    const xml = Buffer.from(encoded, 'base64url').toString('utf8')
    expect(xml).toContain('<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>')
    expect(xml).toContain('http://www.w3.org/2000/09/xmldsig#enveloped-signature')
    // Checked by grantkit's own verifier, which reads only what the signature covers.
    const claims = verifySamlAssertion(xml, { certificateFor: (iss) => (iss === 'https://idp.example/saml' ? SAML_CERT : undefined) })
    const token = `${fake.issuer}/token`
    expect(claims).toMatchObject({ issuer: 'https://idp.example/saml', nameId: 'alice@example.com' })
    expect(claims.subjectConfirmations).toEqual([{ method: 'urn:oasis:names:tc:SAML:2.0:cm:bearer', recipient: token, notOnOrAfter: expect.any(Number) }])
    expect(claims.conditions!.audienceRestrictions).toEqual([[token]])
    expect(claims.subjectConfirmations[0]!.notOnOrAfter! - claims.issueInstant).toBe(180)
  })

  it('SAML: values are escaped, never markup', async () => {
    fake.token = () => ({ body: { access_token: 's', token_type: 'Bearer', expires_in: 3600 } })
    const client = clientFor({ saml: { privateKey: SAML_KEY, certificate: SAML_CERT, issuer: 'https://idp.example/saml' } })
    await client.saml2Bearer('fake', { subject: 'alice', nameId: 'a</saml:NameID><x>&"' })
    const xml = Buffer.from(tokenRequests()[0]!.get('assertion')!, 'base64url').toString('utf8')
    const claims = verifySamlAssertion(xml, { certificateFor: () => SAML_CERT })
    expect(claims.nameId).toBe('a</saml:NameID><x>&"')
  })
})
