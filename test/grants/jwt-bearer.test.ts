import { decodeJwt, exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import { createAuthorizationServer, JWT_BEARER_GRANT, type AuthorizationServer, type GrantkitResponse, type UserSource } from '../../src/index.js'
import { basic, counterIds, fakeClock, ISSUER, json, tokenRequest } from '../helpers.js'

const START = 1_800_000_000
const TOKEN_URL = `${ISSUER}/token`
const IDP = 'https://idp.example'
const LIMITED = 'https://limited.example'
const OTHER = 'https://other.example'
const APP = { authorization: basic('app', 'app-secret') }
const ROBOT = { authorization: basic('robot', 'robot-secret') }

/** alice-sub and bob-sub exist; nobody else. */
const users: UserSource = {
  async findByUsername() {
    return undefined
  },
  async verifyPassword() {
    return false
  },
  async claims(sub) {
    return sub === 'alice-sub' || sub === 'bob-sub' ? { sub } : undefined
  },
}

interface Key {
  kid: string
  alg: 'ES256' | 'RS256'
  privateKey: CryptoKey
  publicKey: CryptoKey
  publicJwk: JWK
}

async function makeKey(alg: 'ES256' | 'RS256', kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  return { kid, alg, privateKey, publicKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } }
}

let keys: { idp: Key; idpRsa: Key; limited: Key; other: Key; robot: Key }
beforeAll(async () => {
  keys = {
    idp: await makeKey('ES256', 'idp-es256'),
    idpRsa: await makeKey('RS256', 'idp-rs256'),
    limited: await makeKey('ES256', 'limited-es256'),
    other: await makeKey('ES256', 'other-es256'),
    robot: await makeKey('ES256', 'robot-es256'),
  }
})

interface Harness {
  server: AuthorizationServer
  clock: ReturnType<typeof fakeClock>
  /** An assertion signed with `key`: RFC 7523 §3 claims from the IdP for alice, `claims` over them (`undefined` removes one). */
  assertion(key: Key, claims?: Record<string, unknown>, header?: Record<string, unknown>): Promise<string>
  grant(assertion: string | undefined, extra?: Record<string, string>, headers?: Record<string, string>): Promise<GrantkitResponse>
  /** Expects invalid_grant, for the reason the server logged (the `detail` of its token.error event). */
  expectRejected(res: GrantkitResponse, reason: RegExp): void
}

function setup(): Harness {
  const clock = fakeClock(START)
  const server = createAuthorizationServer({
    issuer: ISSUER,
    clients: [
      { client_id: 'app', client_secret: 'app-secret', grant_types: [JWT_BEARER_GRANT], scope: 'api:read api:write' },
      // A client that signs its own assertions (iss = client_id) with the keys it registered.
      { client_id: 'robot', client_secret: 'robot-secret', jwks: { keys: [keys.robot.publicJwk] }, grant_types: [JWT_BEARER_GRANT], scope: 'api:read', jwt_bearer_subjects: ['bob-sub'] },
      { client_id: 'drone', client_secret: 'drone-secret', jwks: { keys: [keys.robot.publicJwk] }, grant_types: [JWT_BEARER_GRANT], scope: 'api:read' },
      { client_id: 'svc', client_secret: 'svc-secret', grant_types: ['client_credentials'], scope: 'api:read' },
    ],
    users,
    trust: {
      jwtIssuers: [
        { issuer: IDP, jwks: { keys: [keys.idp.publicJwk, keys.idpRsa.publicJwk] } },
        { issuer: LIMITED, jwks: { keys: [keys.limited.publicJwk] }, subjects: ['alice-sub'], scopes: ['api:read'] },
        { issuer: OTHER, jwks: { keys: [keys.other.publicJwk] } },
      ],
    },
    deps: { now: clock.now, randomId: counterIds() },
  })
  const details: Array<string | undefined> = []
  server.on('token.error', (e) => details.push(e.detail))
  let jti = 0
  return {
    server,
    clock,
    expectRejected(res, reason) {
      expectError(res, 'invalid_grant')
      expect(details.at(-1)).toMatch(reason)
    },
    async assertion(key, claims = {}, header = {}) {
      const now = clock.now()
      const payload: Record<string, unknown> = { iss: IDP, sub: 'alice-sub', aud: TOKEN_URL, iat: now, exp: now + 60, jti: `jti-${++jti}`, ...claims }
      for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k]
      return new SignJWT(payload as JWTPayload).setProtectedHeader({ alg: key.alg, kid: key.kid, ...header }).sign(key.privateKey)
    },
    grant(assertion, extra = {}, headers = APP) {
      return server.handle(tokenRequest({ grant_type: JWT_BEARER_GRANT, ...(assertion !== undefined && { assertion }), ...extra }, headers))
    },
  }
}

function expectError(res: GrantkitResponse, error: string): void {
  expect({ status: res.status, error: json(res).error }).toEqual({ status: 400, error })
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')

describe('JWT bearer grant (RFC 7523 §2.1, §3)', () => {
  describe('accepts', () => {
    it('an assertion from a trusted issuer about a known user, and issues a JWT access token whose sub is that user', async () => {
      const h = setup()
      const res = await h.grant(await h.assertion(keys.idp))
      expect(res.status).toBe(200)
      expect(res.headers['cache-control']).toBe('no-store')
      const body = json(res)
      expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'api:read api:write' })
      expect(body.refresh_token).toBeUndefined()
      expect(decodeJwt(body.access_token as string)).toMatchObject({ iss: ISSUER, sub: 'alice-sub', client_id: 'app', scope: 'api:read api:write' })
      const introspected = await h.server.introspect(tokenRequest({ token: body.access_token as string }, APP, '/introspect'))
      expect(json(introspected)).toMatchObject({ active: true, sub: 'alice-sub', client_id: 'app' })
    })

    it("an aud equal to the issuer identifier, and any of the issuer's keys", async () => {
      const h = setup()
      expect((await h.grant(await h.assertion(keys.idp, { aud: ISSUER }))).status).toBe(200)
      expect((await h.grant(await h.assertion(keys.idpRsa, { aud: [OTHER, TOKEN_URL] }))).status).toBe(200)
    })

    it('a narrower scope when the request names one', async () => {
      const h = setup()
      const body = json(await h.grant(await h.assertion(keys.idp), { scope: 'api:write' }))
      expect(body.scope).toBe('api:write')
    })

    it("the client's own registered keys with iss = client_id, for the client itself or a user it is configured for", async () => {
      const h = setup()
      const self = json(await h.grant(await h.assertion(keys.robot, { iss: 'robot', sub: 'robot' }), {}, ROBOT))
      expect(decodeJwt(self.access_token as string)).toMatchObject({ sub: 'robot', client_id: 'robot' })
      const forUser = json(await h.grant(await h.assertion(keys.robot, { iss: 'robot', sub: 'bob-sub' }), {}, ROBOT))
      expect(decodeJwt(forUser.access_token as string)).toMatchObject({ sub: 'bob-sub', client_id: 'robot' })
    })

    it("refuses a client's own assertion for any user it is not configured for (default: none but itself)", async () => {
      const h = setup()
      const DRONE = { authorization: basic('drone', 'drone-secret') }
      expect(json(await h.grant(await h.assertion(keys.robot, { iss: 'drone', sub: 'drone' }), {}, DRONE)).access_token).toBeDefined()
      const res = await h.grant(await h.assertion(keys.robot, { iss: 'drone', sub: 'bob-sub' }), {}, DRONE)
      expect(res.status).toBe(400)
      expect(json(res).error).toBe('invalid_grant')
      const other = await h.grant(await h.assertion(keys.robot, { iss: 'robot', sub: 'alice-sub' }), {}, ROBOT)
      expect(json(other).error).toBe('invalid_grant')
    })

    it("the requesting client as subject of a trusted issuer's assertion", async () => {
      const h = setup()
      const body = json(await h.grant(await h.assertion(keys.idp, { sub: 'app' })))
      expect(decodeJwt(body.access_token as string).sub).toBe('app')
    })

    it("a default scope trimmed to what the issuer may grant", async () => {
      const h = setup()
      const body = json(await h.grant(await h.assertion(keys.limited, { iss: LIMITED })))
      expect(body.scope).toBe('api:read')
    })

    it('an expiry less than the clock skew ago, and no iat with exp within maxAssertionLifetime', async () => {
      const h = setup()
      expect((await h.grant(await h.assertion(keys.idp, { iat: START - 100, exp: START - 50 }))).status).toBe(200)
      expect((await h.grant(await h.assertion(keys.idp, { iat: undefined, exp: START + 300 }))).status).toBe(200)
    })
  })

  describe('rejects with invalid_grant', () => {
    it("an unsigned assertion (alg 'none')", async () => {
      const h = setup()
      const payload = { iss: IDP, sub: 'alice-sub', aud: TOKEN_URL, iat: START, exp: START + 60, jti: 'none-1' }
      h.expectRejected(await h.grant(`${b64({ alg: 'none' })}.${b64(payload)}.`), /ERR_JOSE_ALG_NOT_ALLOWED|ERR_JOSE_NOT_SUPPORTED/)
      h.expectRejected(await h.grant(`${b64({ alg: 'none', kid: keys.idp.kid })}.${b64({ ...payload, jti: 'none-2' })}.`), /ERR_JOSE_ALG_NOT_ALLOWED|ERR_JOSE_NOT_SUPPORTED/)
    })

    it("HS256 keyed with the issuer's public key: its JWK JSON or its PEM bytes (algorithm confusion)", async () => {
      const h = setup()
      let n = 0
      for (const key of [keys.idp, keys.idpRsa]) {
        const secrets = [new TextEncoder().encode(JSON.stringify(key.publicJwk)), new TextEncoder().encode(await exportSPKI(key.publicKey))]
        for (const secret of secrets) {
          const token = await new SignJWT({ iss: IDP, sub: 'alice-sub', aud: TOKEN_URL, iat: START, exp: START + 60, jti: `hs-${++n}` })
            .setProtectedHeader({ alg: 'HS256', kid: key.kid })
            .sign(secret)
          h.expectRejected(await h.grant(token), /ERR_JOSE_ALG_NOT_ALLOWED/)
        }
      }
    })

    it('an unknown kid', async () => {
      const h = setup()
      h.expectRejected(await h.grant(await h.assertion(keys.idp, {}, { kid: 'no-such-key' })), /ERR_JWKS_NO_MATCHING_KEY/)
    })

    it('a signature by the key of another trusted issuer', async () => {
      const h = setup()
      h.expectRejected(await h.grant(await h.assertion(keys.other)), /ERR_JWKS_NO_MATCHING_KEY/)
      h.expectRejected(await h.grant(await h.assertion(keys.other, {}, { kid: keys.idp.kid })), /ERR_JWS_SIGNATURE_VERIFICATION_FAILED/)
    })

    it('a signature that does not cover the claims (tampered payload)', async () => {
      const h = setup()
      const [header, payload, signature] = (await h.assertion(keys.idp)).split('.')
      const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>
      h.expectRejected(await h.grant(`${header}.${b64({ ...claims, sub: 'bob-sub' })}.${signature}`), /ERR_JWS_SIGNATURE_VERIFICATION_FAILED/)
    })

    it('an untrusted or missing iss', async () => {
      const h = setup()
      h.expectRejected(await h.grant(await h.assertion(keys.idp, { iss: 'https://evil.example' })), /untrusted issuer/)
      h.expectRejected(await h.grant(await h.assertion(keys.idp, { iss: undefined })), /no iss/)
    })

    it("iss = another client's id, even signed with that client's keys", async () => {
      const h = setup()
      h.expectRejected(await h.grant(await h.assertion(keys.robot, { iss: 'robot', sub: 'robot' })), /untrusted issuer robot/)
      h.expectRejected(await h.grant(await h.assertion(keys.robot, { iss: 'robot', sub: 'alice-sub' })), /untrusted issuer robot/)
    })

    it('an expired assertion, beyond the clock skew', async () => {
      const h = setup()
      h.expectRejected(await h.grant(await h.assertion(keys.idp, { iat: START - 120, exp: START - 61 })), /ERR_JWT_EXPIRED/)
    })

    it('an nbf in the future, beyond the clock skew', async () => {
      const h = setup()
      h.expectRejected(await h.grant(await h.assertion(keys.idp, { nbf: START + 120, exp: START + 180 })), /ERR_JWT_CLAIM_VALIDATION_FAILED.*nbf/)
    })

    it('an iat far in the future', async () => {
      const h = setup()
      h.expectRejected(await h.grant(await h.assertion(keys.idp, { iat: START + 3600, exp: START + 3660 })), /iat in the future/)
    })

    it('an aud that is not this server, or no aud', async () => {
      const h = setup()
      h.expectRejected(await h.grant(await h.assertion(keys.idp, { aud: 'https://other-as.example/token' })), /ERR_JWT_CLAIM_VALIDATION_FAILED.*aud/)
      h.expectRejected(await h.grant(await h.assertion(keys.idp, { aud: `${ISSUER}/revoke` })), /ERR_JWT_CLAIM_VALIDATION_FAILED.*aud/)
      h.expectRejected(await h.grant(await h.assertion(keys.idp, { aud: undefined })), /ERR_JWT_CLAIM_VALIDATION_FAILED.*aud/)
    })

    it('a missing exp, sub or jti', async () => {
      const h = setup()
      for (const claim of ['exp', 'sub', 'jti']) {
        h.expectRejected(await h.grant(await h.assertion(keys.idp, { [claim]: undefined })), /ERR_JWT_CLAIM_VALIDATION_FAILED.*missing/)
      }
      h.expectRejected(await h.grant(await h.assertion(keys.idp, { jti: '' })), /jti must be a non-empty string/)
      h.expectRejected(await h.grant(await h.assertion(keys.idp, { sub: '' })), /sub must be a non-empty string/)
    })

    it('a lifetime longer than maxAssertionLifetime, by exp − iat or, without iat, by exp − now', async () => {
      const h = setup()
      h.expectRejected(await h.grant(await h.assertion(keys.idp, { iat: START, exp: START + 301 })), /maxAssertionLifetime/)
      h.expectRejected(await h.grant(await h.assertion(keys.idp, { iat: START - 250, exp: START + 51 })), /maxAssertionLifetime/)
      h.expectRejected(await h.grant(await h.assertion(keys.idp, { iat: undefined, exp: START + 361 })), /maxAssertionLifetime/)
    })

    it('a replayed jti, from the same or another client', async () => {
      const h = setup()
      const assertion = await h.assertion(keys.idp)
      expect((await h.grant(assertion)).status).toBe(200)
      h.expectRejected(await h.grant(assertion), /jti replayed/)
      // A fresh signature over the same jti is a replay too.
      h.expectRejected(await h.grant(await h.assertion(keys.idp, { jti: decodeJwt(assertion).jti })), /jti replayed/)
    })

    it('a sub that maps to no user and is not the client', async () => {
      const h = setup()
      h.expectRejected(await h.grant(await h.assertion(keys.idp, { sub: 'carol-sub' })), /not a known user/)
      h.expectRejected(await h.grant(await h.assertion(keys.idp, { sub: 'robot' })), /not a known user/)
    })

    it("a subject outside the issuer's subjects list, even one that exists", async () => {
      const h = setup()
      h.expectRejected(await h.grant(await h.assertion(keys.limited, { iss: LIMITED, sub: 'bob-sub' })), /may not assert subject bob-sub/)
    })

    it('something that is not a JWT', async () => {
      const h = setup()
      for (const assertion of ['not-a-jwt', 'a.b.c', `${b64({ alg: 'ES256' })}.bm90IGpzb24.`]) {
        h.expectRejected(await h.grant(assertion), /not a JWT|assertion rejected|no iss/)
      }
    })
  })

  describe('other errors', () => {
    it("answers a scope beyond the issuer's scopes with invalid_scope", async () => {
      const h = setup()
      expectError(await h.grant(await h.assertion(keys.limited, { iss: LIMITED }), { scope: 'api:read api:write' }), 'invalid_scope')
    })

    it("answers a scope beyond the client's registration with invalid_scope", async () => {
      const h = setup()
      expectError(await h.grant(await h.assertion(keys.idp), { scope: 'admin' }), 'invalid_scope')
    })

    it('answers a missing assertion with invalid_request', async () => {
      const h = setup()
      expectError(await h.grant(undefined), 'invalid_request')
    })

    it('refuses a client not registered for the grant with unauthorized_client', async () => {
      const h = setup()
      expectError(await h.grant(await h.assertion(keys.idp), {}, { authorization: basic('svc', 'svc-secret') }), 'unauthorized_client')
    })
  })
})
