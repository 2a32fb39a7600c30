import { describe, expect, it } from 'vitest'
import { prepareClient } from '../../src/index.js'
import { ECHO_GRANT, expectAuthenticated, expectInvalidClient, ISSUER, JWT_BEARER, SECRETS, setup } from './fixtures.js'

const echo = { grant_type: ECHO_GRANT }
const key = (secret: string): Uint8Array => new TextEncoder().encode(secret)

function withAssertion(client_assertion: string): Record<string, string> {
  return { ...echo, client_assertion_type: JWT_BEARER, client_assertion }
}

describe('client_secret_jwt (RFC 7523 §2.2, OIDC Core §9)', () => {
  it("accepts an HS256 assertion keyed with the client's secret", async () => {
    const h = await setup()
    expectAuthenticated(await h.token(withAssertion(await h.assertion(key(SECRETS.hmac), { sub: 'hmac' }))), 'hmac', 'client_secret_jwt')
    expectAuthenticated(await h.token(withAssertion(await h.assertion(key(SECRETS.hmac), { sub: 'hmac', aud: ISSUER }))), 'hmac', 'client_secret_jwt')
  })

  it('accepts HS384 and HS512 as well', async () => {
    const h = await setup()
    for (const alg of ['HS384', 'HS512']) {
      const client_assertion = await h.assertion(key(SECRETS.hmac), { sub: 'hmac' }, { alg })
      expectAuthenticated(await h.token(withAssertion(client_assertion)), 'hmac', 'client_secret_jwt')
    }
  })

  it('refuses HS384 and HS512 when the secret is shorter than their hash (RFC 7518 §3.2), HS256 still works', async () => {
    const h = await setup()
    expect(Buffer.byteLength(SECRETS.hmacShort)).toBe(40)
    expectAuthenticated(await h.token(withAssertion(await h.assertion(key(SECRETS.hmacShort), { sub: 'hmac-short' }))), 'hmac-short', 'client_secret_jwt')
    for (const alg of ['HS384', 'HS512']) {
      expectInvalidClient(await h.token(withAssertion(await h.assertion(key(SECRETS.hmacShort), { sub: 'hmac-short' }, { alg }))))
    }
  })

  it('refuses at configuration a client_secret_jwt secret shorter than the hash of its algorithm (RFC 7518 §3.2)', () => {
    const base = { client_id: 'c', token_endpoint_auth_method: 'client_secret_jwt' as const, grant_types: ['client_credentials'] }
    expect(() => prepareClient({ ...base, client_secret: 'x'.repeat(31) })).toThrow(/client\.client_secret: must be at least 32 bytes for client_secret_jwt/)
    expect(() => prepareClient({ ...base, client_secret: 'x'.repeat(32) })).not.toThrow()
    expect(() => prepareClient({ ...base, client_secret: 'x'.repeat(47), token_endpoint_auth_signing_alg: 'HS384' })).toThrow(/at least 48 bytes .* with HS384/)
    expect(() => prepareClient({ ...base, client_secret: 'x'.repeat(63), token_endpoint_auth_signing_alg: 'HS512' })).toThrow(/at least 64 bytes .* with HS512/)
    expect(() => prepareClient({ ...base, client_secret: 'x'.repeat(64), token_endpoint_auth_signing_alg: 'RS256' })).toThrow(/token_endpoint_auth_signing_alg: must be one of HS256/)
  })

  it('rejects an assertion keyed with a wrong secret', async () => {
    const h = await setup()
    expectInvalidClient(await h.token(withAssertion(await h.assertion(key(SECRETS.hmac + 'x'), { sub: 'hmac' }))))
    expectInvalidClient(await h.token(withAssertion(await h.assertion(key(SECRETS.svc), { sub: 'hmac' }))))
  })

  it('refuses an RS256-signed assertion for a client_secret_jwt client', async () => {
    const h = await setup()
    expectInvalidClient(await h.token(withAssertion(await h.assertion(h.keys.rs256, { sub: 'hmac' }))))
    expectInvalidClient(await h.token(withAssertion(await h.assertion(h.keys.es256, { sub: 'hmac' }))))
  })

  it('rejects a client_secret_jwt assertion whose jti was already used', async () => {
    const h = await setup()
    const client_assertion = await h.assertion(key(SECRETS.hmac), { sub: 'hmac' })
    expectAuthenticated(await h.token(withAssertion(client_assertion)), 'hmac', 'client_secret_jwt')
    expectInvalidClient(await h.token(withAssertion(client_assertion)))
  })

  it('rejects the same claims as private_key_jwt: wrong aud, iss differing from sub, missing exp', async () => {
    const h = await setup()
    const k = key(SECRETS.hmac)
    expectInvalidClient(await h.token(withAssertion(await h.assertion(k, { sub: 'hmac', aud: 'https://other.example' }))))
    expectInvalidClient(await h.token(withAssertion(await h.assertion(k, { sub: 'hmac', iss: 'svc' }))))
    expectInvalidClient(await h.token(withAssertion(await h.assertion(k, { sub: 'hmac', exp: undefined }))))
  })

  it('rejects an assertion keyed with a secret whose client_secret_expires_at has passed (RFC 7591 §3.2.1)', async () => {
    const h = await setup()
    expectInvalidClient(await h.token(withAssertion(await h.assertion(key(SECRETS.hmacExpired), { sub: 'hmac-expired' }))))
  })

  it('rejects client_secret_jwt from a private_key_jwt client keyed with anything it could know', async () => {
    const h = await setup()
    expectInvalidClient(await h.token(withAssertion(await h.assertion(key('pkjwt'), { sub: 'pkjwt' }))))
  })
})
