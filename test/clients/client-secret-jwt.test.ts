import { describe, it } from 'vitest'
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
