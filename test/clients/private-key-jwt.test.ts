import { exportSPKI, SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import {
  assertionClaims,
  CLOCK_SKEW,
  ECHO_GRANT,
  expectAuthenticated,
  expectInvalidClient,
  failures,
  ISSUER,
  JWT_BEARER,
  MAX_ASSERTION_LIFETIME,
  setup,
  START,
  TOKEN_URL,
  unsecuredJwt,
  type Harness,
} from './fixtures.js'

const echo = { grant_type: ECHO_GRANT }

function withAssertion(client_assertion: string, extra: Record<string, string> = {}): Record<string, string> {
  return { ...echo, client_assertion_type: JWT_BEARER, client_assertion, ...extra }
}

async function expectRejected(h: Harness, client_assertion: string, extra: Record<string, string> = {}): Promise<void> {
  expectInvalidClient(await h.token(withAssertion(client_assertion, extra)))
}

describe('private_key_jwt (RFC 7523 §2.2, §3)', () => {
  describe('accepts', () => {
    it('an assertion whose aud is the token endpoint URL', async () => {
      const h = await setup()
      expectAuthenticated(await h.token(withAssertion(await h.assertion(h.keys.es256, { aud: TOKEN_URL }))), 'pkjwt', 'private_key_jwt')
    })

    it('an assertion whose aud is the issuer identifier', async () => {
      const h = await setup()
      expectAuthenticated(await h.token(withAssertion(await h.assertion(h.keys.es256, { aud: ISSUER }))), 'pkjwt', 'private_key_jwt')
    })

    it('an aud array that contains the token endpoint URL', async () => {
      const h = await setup()
      const client_assertion = await h.assertion(h.keys.es256, { aud: ['https://other.example', TOKEN_URL] })
      expectAuthenticated(await h.token(withAssertion(client_assertion)), 'pkjwt', 'private_key_jwt')
    })

    it('any of the keys registered in the client jwks', async () => {
      const h = await setup()
      expectAuthenticated(await h.token(withAssertion(await h.assertion(h.keys.rs256))), 'pkjwt', 'private_key_jwt')
    })

    it('a client_id parameter equal to sub', async () => {
      const h = await setup()
      expectAuthenticated(await h.token(withAssertion(await h.assertion(h.keys.es256), { client_id: 'pkjwt' })), 'pkjwt', 'private_key_jwt')
    })

    it('an assertion that expired less than the clock skew ago', async () => {
      const h = await setup()
      const client_assertion = await h.assertion(h.keys.es256, { iat: START - 60, exp: START - (CLOCK_SKEW - 10) })
      expectAuthenticated(await h.token(withAssertion(client_assertion)), 'pkjwt', 'private_key_jwt')
    })

    it('an assertion without iat whose exp is within maxAssertionLifetime', async () => {
      const h = await setup()
      const client_assertion = await h.assertion(h.keys.es256, { iat: undefined, exp: START + MAX_ASSERTION_LIFETIME })
      expectAuthenticated(await h.token(withAssertion(client_assertion)), 'pkjwt', 'private_key_jwt')
    })
  })

  describe('signature and algorithm', () => {
    it("rejects an unsigned assertion (alg 'none')", async () => {
      const h = await setup()
      const payload = assertionClaims(h.clock.now(), () => 'jti-none')
      await expectRejected(h, unsecuredJwt(payload))
      await expectRejected(h, unsecuredJwt(payload, { kid: h.keys.es256.kid }))
    })

    it("rejects HS256 keyed with the bytes of the client's public JWK (algorithm confusion)", async () => {
      const h = await setup()
      const key = new TextEncoder().encode(JSON.stringify(h.keys.es256.publicJwk))
      await expectRejected(h, await h.assertion(key, {}, { kid: h.keys.es256.kid }))
      const rsaKey = new TextEncoder().encode(JSON.stringify(h.keys.rs256.publicJwk))
      await expectRejected(h, await h.assertion(rsaKey, {}, { kid: h.keys.rs256.kid }))
    })

    it("rejects HS256 keyed with the client's public key in PEM (algorithm confusion)", async () => {
      const h = await setup()
      const pem = new TextEncoder().encode(await exportSPKI(h.keys.rs256.publicKey))
      await expectRejected(h, await h.assertion(pem, {}, { kid: h.keys.rs256.kid }))
    })

    it('rejects HS256 keyed with a shared secret', async () => {
      const h = await setup()
      await expectRejected(h, await h.assertion(new TextEncoder().encode('a-shared-secret-of-32-bytes-or-more')))
    })

    it('rejects an assertion signed by a key the client did not register', async () => {
      const h = await setup()
      // Under a registered kid, and under no kid at all.
      await expectRejected(h, await h.assertion(h.keys.stranger, {}, { kid: h.keys.es256.kid }))
      const jwt = await new SignJWT(assertionClaims(h.clock.now(), () => 'jti-nokid'))
        .setProtectedHeader({ alg: 'ES256' })
        .sign(h.keys.stranger.privateKey)
      await expectRejected(h, jwt)
    })

    it('rejects an assertion whose kid is not in the client jwks', async () => {
      const h = await setup()
      await expectRejected(h, await h.assertion(h.keys.stranger))
      await expectRejected(h, await h.assertion(h.keys.es256, {}, { kid: 'no-such-kid' }))
    })

    it('rejects an assertion whose signature was altered', async () => {
      const h = await setup()
      const jwt = await h.assertion(h.keys.es256)
      const [head, payload] = jwt.split('.')
      const other = (await h.assertion(h.keys.es256)).split('.')[2]
      await expectRejected(h, `${head}.${payload}.${other}`)
    })

    it('rejects a client_assertion that is not a JWT', async () => {
      const h = await setup()
      await expectRejected(h, 'not-a-jwt')
      await expectRejected(h, 'a.b.c')
    })

    it('a client pinned to ES256 by token_endpoint_auth_signing_alg rejects an RS256 assertion from its own key', async () => {
      const h = await setup()
      expectAuthenticated(await h.token(withAssertion(await h.assertion(h.keys.es256, { sub: 'pinned' }))), 'pinned', 'private_key_jwt')
      await expectRejected(h, await h.assertion(h.keys.rs256, { sub: 'pinned' }))
    })
  })

  describe('claims (RFC 7523 §3)', () => {
    it('rejects an assertion without exp', async () => {
      const h = await setup()
      await expectRejected(h, await h.assertion(h.keys.es256, { exp: undefined }))
    })

    it('rejects an assertion that expired longer ago than the clock skew', async () => {
      const h = await setup()
      await expectRejected(h, await h.assertion(h.keys.es256, { iat: START - 120, exp: START - (CLOCK_SKEW + 1) }))
    })

    it('rejects an assertion once it has expired, by the server clock', async () => {
      const h = await setup()
      const client_assertion = await h.assertion(h.keys.es256, { exp: START + 60 })
      h.clock.advance(60 + CLOCK_SKEW)
      await expectRejected(h, client_assertion)
    })

    it('rejects an assertion whose nbf is further in the future than the clock skew', async () => {
      const h = await setup()
      await expectRejected(h, await h.assertion(h.keys.es256, { nbf: START + CLOCK_SKEW + 30, exp: START + 120 }))
    })

    it('rejects an assertion whose iat is far in the future', async () => {
      const h = await setup()
      // Issued (by its own account) an hour from now, yet exp is near: the client clock is
      // far off or the claims are forged. Beyond the clock skew, iat must not be in the future.
      await expectRejected(h, await h.assertion(h.keys.es256, { iat: START + 3600, exp: START + 60 }))
      await expectRejected(h, await h.assertion(h.keys.es256, { iat: START + 3600, exp: START + 3660 }))
    })

    it('rejects an assertion whose lifetime (exp - iat) exceeds maxAssertionLifetime', async () => {
      const h = await setup()
      await expectRejected(h, await h.assertion(h.keys.es256, { iat: START, exp: START + 3600 }))
      // Issued long ago, still valid: the lifetime counts from iat, not from now.
      await expectRejected(h, await h.assertion(h.keys.es256, { iat: START - 3000, exp: START + 60 }))
    })

    it('accepts a lifetime of exactly maxAssertionLifetime and rejects one second more', async () => {
      const h = await setup()
      const ok = await h.assertion(h.keys.es256, { iat: START, exp: START + MAX_ASSERTION_LIFETIME })
      expectAuthenticated(await h.token(withAssertion(ok)), 'pkjwt', 'private_key_jwt')
      // exp - iat is measured on the client's clock alone: clock skew does not stretch it
      // (defaults.ts: "Longest lifetime in seconds (exp − iat, or exp − now) accepted").
      await expectRejected(h, await h.assertion(h.keys.es256, { iat: START, exp: START + MAX_ASSERTION_LIFETIME + 1 }))
    })

    it('rejects an assertion without iat whose exp is further than maxAssertionLifetime away', async () => {
      const h = await setup()
      await expectRejected(h, await h.assertion(h.keys.es256, { iat: undefined, exp: START + 3600 }))
    })

    it('rejects an assertion whose aud is neither the token endpoint nor the issuer', async () => {
      const h = await setup()
      await expectRejected(h, await h.assertion(h.keys.es256, { aud: 'https://other.example/token' }))
      await expectRejected(h, await h.assertion(h.keys.es256, { aud: `${ISSUER}/jwks` }))
      await expectRejected(h, await h.assertion(h.keys.es256, { aud: `${TOKEN_URL}/` }))
      await expectRejected(h, await h.assertion(h.keys.es256, { aud: undefined }))
    })

    it('rejects an assertion whose iss differs from sub', async () => {
      const h = await setup()
      await expectRejected(h, await h.assertion(h.keys.es256, { iss: 'someone-else' }))
      await expectRejected(h, await h.assertion(h.keys.es256, { iss: undefined }))
    })

    it('rejects an assertion without sub', async () => {
      const h = await setup()
      await expectRejected(h, await h.assertion(h.keys.es256, { sub: undefined, iss: 'pkjwt' }))
    })

    it('rejects an assertion whose sub is not a registered client', async () => {
      const h = await setup()
      await expectRejected(h, await h.assertion(h.keys.es256, { sub: 'nobody' }))
    })

    it('rejects a client_id parameter that differs from sub', async () => {
      const h = await setup()
      await expectRejected(h, await h.assertion(h.keys.es256), { client_id: 'pinned' })
      await expectRejected(h, await h.assertion(h.keys.es256), { client_id: 'svc' })
    })

    it('rejects an assertion without jti, or with an empty one', async () => {
      const h = await setup()
      await expectRejected(h, await h.assertion(h.keys.es256, { jti: undefined }))
      await expectRejected(h, await h.assertion(h.keys.es256, { jti: '' }))
    })

    it('rejects a client assertion whose jti was already used (RFC 7523 §3 item 7)', async () => {
      const h = await setup()
      const client_assertion = await h.assertion(h.keys.es256, { jti: 'once' })
      expectAuthenticated(await h.token(withAssertion(client_assertion)), 'pkjwt', 'private_key_jwt')
      await expectRejected(h, client_assertion)
      // A new assertion that reuses the jti is a replay too.
      await expectRejected(h, await h.assertion(h.keys.rs256, { jti: 'once' }))
      expect(failures(h.events).at(-1)).toMatchObject({ clientId: 'pkjwt', detail: expect.stringMatching(/replay/) })
    })

    it('rejects a jti longer than 512 characters', async () => {
      const h = await setup()
      await expectRejected(h, await h.assertion(h.keys.es256, { jti: 'x'.repeat(513) }))
      expectAuthenticated(await h.token(withAssertion(await h.assertion(h.keys.es256, { jti: 'x'.repeat(512) }))), 'pkjwt', 'private_key_jwt')
    })

    it('tracks jti per client: another client may use the same jti', async () => {
      const h = await setup()
      expectAuthenticated(await h.token(withAssertion(await h.assertion(h.keys.es256, { jti: 'shared' }))), 'pkjwt', 'private_key_jwt')
      expectAuthenticated(await h.token(withAssertion(await h.assertion(h.keys.es256, { sub: 'pinned', jti: 'shared' }))), 'pinned', 'private_key_jwt')
    })

    it('does not burn the jti of an assertion it rejected', async () => {
      const h = await setup()
      await expectRejected(h, await h.assertion(h.keys.es256, { jti: 'retry', aud: 'https://other.example' }))
      await expectRejected(h, await h.assertion(h.keys.stranger, { jti: 'retry' }))
      expectAuthenticated(await h.token(withAssertion(await h.assertion(h.keys.es256, { jti: 'retry' }))), 'pkjwt', 'private_key_jwt')
    })
  })

  describe('client_assertion_type and registration', () => {
    it('rejects a client_assertion_type other than jwt-bearer', async () => {
      const h = await setup()
      const client_assertion = await h.assertion(h.keys.es256)
      await expectRejected(h, client_assertion, { client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer' })
      await expectRejected(h, client_assertion, { client_assertion_type: 'jwt-bearer' })
      // The assertion was never checked, so it is still good.
      expectAuthenticated(await h.token(withAssertion(client_assertion)), 'pkjwt', 'private_key_jwt')
    })

    it('rejects client_assertion without client_assertion_type, and the type without an assertion', async () => {
      const h = await setup()
      expectInvalidClient(await h.token({ ...echo, client_assertion: await h.assertion(h.keys.es256) }))
      expectInvalidClient(await h.token({ ...echo, client_assertion_type: JWT_BEARER }))
      expectInvalidClient(await h.token({ ...echo, client_assertion_type: JWT_BEARER, client_id: 'pkjwt' }))
    })

    it('rejects private_key_jwt from a client registered for client_secret_basic', async () => {
      const h = await setup()
      await expectRejected(h, await h.assertion(h.keys.es256, { sub: 'svc' }))
    })

    it('rejects a client assertion from a public client', async () => {
      const h = await setup()
      await expectRejected(h, await h.assertion(h.keys.es256, { sub: 'pub' }))
    })

    it('rejects client_id alone from a private_key_jwt client', async () => {
      const h = await setup()
      expectInvalidClient(await h.token({ ...echo, client_id: 'pkjwt' }))
    })
  })
})
