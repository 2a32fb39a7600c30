import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose'
import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { ASYMMETRIC_ALGORITHMS, localKeySet } from '../../src/crypto/jose.js'
import { assertionReplayKey, JwtAssertionError, verifyJwtAssertion, type JwtAssertionRules } from '../../src/crypto/jwt-assertion.js'
import { createAuthorizationServer, JWT_BEARER_GRANT, type GrantkitResponse, type ReplayStore } from '../../src/index.js'
import { counterIds, fakeClock, ISSUER, json, tokenRequest } from '../helpers.js'

const START = 1_800_000_000
const TOKEN_URL = `${ISSUER}/token`
const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

let robot: { privateKey: CryptoKey; publicJwk: JWK }
beforeAll(async () => {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  robot = { privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid: 'robot-es256', alg: 'ES256', use: 'sig' } }
})

/** A JWT valid both as robot's client_assertion and as a self-issued JWT bearer assertion: iss = sub = robot. */
function robotJwt(jti: string, claims: JWTPayload = {}): Promise<string> {
  return new SignJWT({ iss: 'robot', sub: 'robot', aud: TOKEN_URL, iat: START, exp: START + 60, jti, ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: robot.publicJwk.kid! })
    .sign(robot.privateKey)
}

function setup() {
  const clock = fakeClock(START)
  const server = createAuthorizationServer({
    issuer: ISSUER,
    clients: [
      {
        client_id: 'robot',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [robot.publicJwk] },
        grant_types: ['client_credentials', JWT_BEARER_GRANT],
        scope: 'api:read',
      },
    ],
    deps: { now: clock.now, randomId: counterIds() },
  })
  const authFailures: Array<string | undefined> = []
  const grantErrors: Array<string | undefined> = []
  server.on('client.authentication.failed', (e) => void authFailures.push(e.detail))
  server.on('token.error', (e) => void grantErrors.push(e.detail))
  return {
    authFailures,
    grantErrors,
    /** client_credentials, authenticated by `clientAssertion` (private_key_jwt). */
    clientCredentials(clientAssertion: string): Promise<GrantkitResponse> {
      return server.handle(tokenRequest({ grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: clientAssertion }))
    },
    /** The JWT bearer grant with `assertion`, the client authenticated by `clientAssertion`. */
    jwtBearer(assertion: string, clientAssertion: string): Promise<GrantkitResponse> {
      return server.handle(
        tokenRequest({ grant_type: JWT_BEARER_GRANT, assertion, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: clientAssertion }),
      )
    },
  }
}

function expectError(res: GrantkitResponse, status: number, error: string): void {
  expect({ status: res.status, error: json(res).error }).toEqual({ status, error })
}

describe('one JWT, one use (issue 12; RFC 7523 §3 item 7): one replay record per issuer and jti', () => {
  it('refuses as a JWT bearer assertion (invalid_grant) a JWT already accepted as client_assertion', async () => {
    const h = setup()
    const jwt = await robotJwt('shared-1')
    expect((await h.clientCredentials(jwt)).status).toBe(200)
    // The client authenticates with a fresh assertion, so only the grant's assertion is at stake.
    expectError(await h.jwtBearer(jwt, await robotJwt('auth-1')), 400, 'invalid_grant')
    expect(h.grantErrors.at(-1)).toMatch(/assertion jti replayed/)
    // The refusal is the replay and nothing else: a fresh jti passes.
    expect((await h.jwtBearer(await robotJwt('fresh-1'), await robotJwt('auth-2'))).status).toBe(200)
  })

  it('refuses as client_assertion (invalid_client) a JWT already accepted as a JWT bearer assertion', async () => {
    const h = setup()
    const jwt = await robotJwt('shared-2')
    expect((await h.jwtBearer(jwt, await robotJwt('auth-1'))).status).toBe(200)
    expectError(await h.clientCredentials(jwt), 401, 'invalid_client')
    expect(h.authFailures.at(-1)).toMatch(/client_assertion jti replayed/)
    expect((await h.clientCredentials(await robotJwt('fresh-2'))).status).toBe(200)
  })

  it('accepts one JWT sent as both client_assertion and assertion of one request only once: invalid_grant', async () => {
    const h = setup()
    const jwt = await robotJwt('both-at-once')
    expectError(await h.jwtBearer(jwt, jwt), 400, 'invalid_grant')
    expect(h.grantErrors.at(-1)).toMatch(/jti replayed/)
  })

  it('refuses a new signature over a spent jti, whichever use spent it', async () => {
    const h = setup()
    expect((await h.clientCredentials(await robotJwt('spent', { exp: START + 30 }))).status).toBe(200)
    // Different bytes (another exp), same issuer and jti.
    expectError(await h.jwtBearer(await robotJwt('spent', { exp: START + 90 }), await robotJwt('auth-3')), 400, 'invalid_grant')
  })
})

describe('one algorithm allow-list for client assertions and JWT bearer assertions (issue 11 §5)', () => {
  type NodeKey = { privateKey: KeyObject; publicJwk: JWK }
  /** One node:crypto key per key type and curve, registered without `alg` so each serves every algorithm of its type. */
  function keyFor(alg: string, cache: Map<string, NodeKey>): NodeKey {
    const type = alg.startsWith('RS') || alg.startsWith('PS') ? 'rsa' : alg === 'EdDSA' || alg === 'Ed25519' ? 'ed25519' : alg
    let key = cache.get(type)
    if (key === undefined) {
      const curves: Record<string, string> = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }
      const pair =
        type === 'rsa'
          ? generateKeyPairSync('rsa', { modulusLength: 2048 })
          : type === 'ed25519'
            ? generateKeyPairSync('ed25519')
            : generateKeyPairSync('ec', { namedCurve: curves[type]! })
      key = { privateKey: pair.privateKey, publicJwk: { ...(pair.publicKey.export({ format: 'jwk' }) as JWK), kid: `k-${type}` } }
      cache.set(type, key)
    }
    return key
  }

  it('accepts every algorithm of the list (RS, PS, ES 256-512, EdDSA, Ed25519) both as client_assertion and as grant assertion', async () => {
    const cache = new Map<string, NodeKey>()
    for (const alg of ASYMMETRIC_ALGORITHMS) keyFor(alg, cache)
    const server = createAuthorizationServer({
      issuer: ISSUER,
      clients: [
        {
          client_id: 'robot',
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [...cache.values()].map((k) => k.publicJwk) },
          grant_types: ['client_credentials', JWT_BEARER_GRANT],
          scope: 'api:read',
        },
      ],
      deps: { now: fakeClock(START).now, randomId: counterIds() },
    })
    let n = 0
    const sign = async (alg: string) => {
      const key = keyFor(alg, cache)
      return new SignJWT({ iss: 'robot', sub: 'robot', aud: TOKEN_URL, iat: START, exp: START + 60, jti: `${alg}-${++n}` })
        .setProtectedHeader({ alg, kid: key.publicJwk.kid! })
        .sign(key.privateKey)
    }
    for (const alg of ASYMMETRIC_ALGORITHMS) {
      const auth = { client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: await sign(alg) }
      expect((await server.handle(tokenRequest({ grant_type: 'client_credentials', ...auth }))).status, `${alg} client_assertion`).toBe(200)
      const bearer = { grant_type: JWT_BEARER_GRANT, assertion: await sign(alg), client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: await sign('ES256') }
      expect((await server.handle(tokenRequest(bearer))).status, `${alg} assertion`).toBe(200)
    }
  })
})

describe('verifyJwtAssertion', () => {
  function memoryReplay(): ReplayStore & { keys: string[] } {
    const seen = new Map<string, number>()
    return {
      keys: [],
      async markUsed(key, expiresAt) {
        this.keys.push(key)
        if (seen.has(key)) return false
        seen.set(key, expiresAt)
        return true
      },
    }
  }

  function rules(replay: ReplayStore, over: Partial<JwtAssertionRules> = {}): JwtAssertionRules {
    return {
      keys: localKeySet({ keys: [robot.publicJwk] }),
      algorithms: ['ES256'],
      issuer: 'robot',
      audience: [TOKEN_URL, ISSUER],
      now: START,
      clockSkew: 60,
      maxLifetime: 300,
      replay,
      ...over,
    }
  }

  it('keys the replay record by issuer and jti only, not by the subject rule or audience of the use', async () => {
    const replay = memoryReplay()
    const verified = await verifyJwtAssertion(await robotJwt('j1'), rules(replay, { subject: 'robot' }))
    expect(verified).toMatchObject({ iss: 'robot', sub: 'robot', jti: 'j1', exp: START + 60 })
    const again = verifyJwtAssertion(await robotJwt('j1'), rules(replay, { audience: [TOKEN_URL] }))
    await expect(again).rejects.toThrow(JwtAssertionError)
    await expect(again).rejects.toMatchObject({ detail: 'jti replayed' })
    expect(replay.keys).toEqual([assertionReplayKey('robot', 'j1'), assertionReplayKey('robot', 'j1')])
  })

  it('remembers a jti until exp plus the clock skew', async () => {
    let until = 0
    await verifyJwtAssertion(await robotJwt('j2'), rules({ markUsed: async (_key, expiresAt) => ((until = expiresAt), true) }))
    expect(until).toBe(START + 60 + 60)
  })

  it('does not spend the jti of an assertion it refuses', async () => {
    const replay = memoryReplay()
    await expect(verifyJwtAssertion(await robotJwt('j3', { aud: 'https://other.example' }), rules(replay))).rejects.toMatchObject({ detail: /^rejected: ERR_JWT_CLAIM_VALIDATION_FAILED/ })
    await expect(verifyJwtAssertion(await robotJwt('j3'), rules(replay, { subject: 'someone-else' }))).rejects.toMatchObject({ detail: /^rejected: .*sub/ })
    expect(replay.keys).toEqual([])
    await expect(verifyJwtAssertion(await robotJwt('j3'), rules(replay))).resolves.toMatchObject({ jti: 'j3' })
  })

  it('keeps issuers apart in the replay key, even with separators in their names', () => {
    expect(assertionReplayKey('a:b', 'c')).not.toBe(assertionReplayKey('a', 'b:c'))
    expect(assertionReplayKey('a","b', 'c')).not.toBe(assertionReplayKey('a', 'b","c'))
  })

  it('passes a replay store failure through rather than calling it a bad assertion', async () => {
    const failing: ReplayStore = {
      async markUsed() {
        throw new Error('store down')
      },
    }
    const result = verifyJwtAssertion(await robotJwt('j4'), rules(failing))
    await expect(result).rejects.toThrow('store down')
    await expect(result).rejects.not.toBeInstanceOf(JwtAssertionError)
  })
})
