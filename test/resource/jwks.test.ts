import { createHmac } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { signJwt } from '../../src/crypto/jws.js'
import type { KeyRing } from '../../src/keys/key-store.js'
import { createResourceProtector, type RemoteJwksOptions, type ResourceProtectorOptions } from '../../src/resource/protector.js'
import { type AuthorizationServer } from '../../src/index.js'
import { json } from '../helpers.js'
import { challenge, fetchSpy, issue, listen, serveAs, withHeader, type Clock } from './fixtures.js'
import { issueIdToken } from '../../src/tokens/id-token.js'
import { contextOf } from '../../src/server.js'

let closers: (() => Promise<void>)[] = []
afterEach(async () => {
  await Promise.all(closers.map((c) => c()))
  closers = []
})

async function start(extra: Parameters<typeof serveAs>[0] = {}) {
  const as = await serveAs(extra)
  closers.push(as.close)
  return as
}

function remote(as: { origin: string; clock: Clock }, jwks: Partial<RemoteJwksOptions> = {}, extra: Partial<ResourceProtectorOptions> = {}) {
  const spy = fetchSpy()
  const protector = createResourceProtector({
    jwks: { issuer: as.origin, jwksUri: `${as.origin}/jwks`, ...jwks },
    fetch: spy,
    deps: { now: as.clock.now },
    ...extra,
  })
  return { protector, spy }
}

const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url')

function claims(server: AuthorizationServer, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(contextOf(server).now())
  return { iss: contextOf(server).issuer, sub: 'svc', aud: contextOf(server).issuer, exp: now + 600, iat: now, jti: 'j', client_id: 'svc', scope: 'api:read', ...extra }
}

async function expectInvalid(p: ReturnType<typeof createResourceProtector>, token: string): Promise<void> {
  const result = await p.check(withHeader(token))
  expect(result.ok).toBe(false)
  if (result.ok) return
  expect(result.response.status).toBe(401)
  expect(challenge(result.response)).toContain('error="invalid_token"')
}

describe('resource protector, remote JWKS served by grantkit over HTTP', () => {
  it('accepts a JWT access token, fetching the JWKS once for many checks', async () => {
    const as = await start()
    const { protector, spy } = remote(as)
    const token = await issue(as.server, 'api:read api:write')
    for (let i = 0; i < 3; i++) {
      const result = await protector.check(withHeader(token), ['api:write'])
      expect(result.ok).toBe(true)
      if (result.ok) expect(result.token).toMatchObject({ sub: 'svc', clientId: 'svc', scope: ['api:read', 'api:write'], aud: [as.origin] })
    }
    expect(spy.calls.map((c) => c.url)).toEqual([`${as.origin}/jwks`])
    // The realm defaults to the issuer.
    const none = await protector.check(withHeader(undefined))
    if (!none.ok) expect(challenge(none.response)).toBe(`Bearer realm="${as.origin}"`)
  })

  it('picks up a rotated signing key: an unknown kid refetches the JWKS', async () => {
    const as = await start()
    const { protector, spy } = remote(as, { cooldownSeconds: 0 })
    const before = await issue(as.server)
    expect((await protector.check(withHeader(before))).ok).toBe(true)
    const ring = contextOf(as.server).keys as KeyRing
    const next = ring.rotate({ now: as.clock.now(), publishLead: 0, maxTokenLifetime: 3600 })
    const after = await issue(as.server)
    expect(JSON.parse(Buffer.from(after.split('.')[0]!, 'base64url').toString()).kid).toBe(next.kid)
    expect((await protector.check(withHeader(after))).ok).toBe(true)
    // The retired key stays published, so tokens it signed still pass.
    expect((await protector.check(withHeader(before))).ok).toBe(true)
    expect(spy.calls).toHaveLength(2)
  })

  it('does not refetch for an unknown kid during the cooldown', async () => {
    const as = await start()
    const { protector, spy } = remote(as)
    expect((await protector.check(withHeader(await issue(as.server)))).ok).toBe(true)
    const stranger = signJwt((await import('../../src/keys/signing-key.js')).generateSigningKey('ES256'), 'at+jwt', claims(as.server))
    await expectInvalid(protector, stranger)
    await expectInvalid(protector, stranger)
    expect(spy.calls).toHaveLength(1)
  })

  it('rejects an ID token (typ JWT) signed by the same key (RFC 9068 §4)', async () => {
    const as = await start()
    const { protector } = remote(as)
    const client = await contextOf(as.server).clients.find('svc')
    const idToken = issueIdToken(contextOf(as.server), { client: client!, sub: 'svc', authTime: Math.floor(as.clock.now()), claims: { client_id: 'svc' } })
    await expectInvalid(protector, idToken)
    // The same claims as an at+jwt pass: only typ differs.
    const key = contextOf(as.server).keys.signingKey(as.clock.now())
    expect((await protector.check(withHeader(signJwt(key, 'at+jwt', claims(as.server))))).ok).toBe(true)
    await expectInvalid(protector, signJwt(key, 'JWT', claims(as.server)))
  })

  it('rejects alg none', async () => {
    const as = await start()
    const { protector } = remote(as)
    const kid = contextOf(as.server).keys.signingKey(as.clock.now()).kid
    await expectInvalid(protector, `${b64({ alg: 'none', typ: 'at+jwt', kid })}.${b64(claims(as.server))}.`)
  })

  it('rejects HS256 with the public key as the HMAC secret', async () => {
    const as = await start({ keys: { algorithm: 'RS256' } })
    const { protector, spy } = remote(as)
    const key = contextOf(as.server).keys.signingKey(as.clock.now())
    const input = `${b64({ alg: 'HS256', typ: 'at+jwt', kid: key.kid })}.${b64(claims(as.server))}`
    for (const secret of [key.publicKey.export({ type: 'spki', format: 'pem' }), JSON.stringify(key.publicJwk)]) {
      await expectInvalid(protector, `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`)
    }
    // Refused on the header alone: no key was ever fetched for it.
    expect(spy.calls).toHaveLength(0)
  })

  it('rejects a token from another issuer', async () => {
    const as = await start()
    const { protector } = remote(as)
    const key = contextOf(as.server).keys.signingKey(as.clock.now())
    await expectInvalid(protector, signJwt(key, 'at+jwt', claims(as.server, { iss: 'https://evil.example' })))
  })

  it('rejects a token for another audience when one is configured, and accepts one for it', async () => {
    const as = await start()
    const { protector } = remote(as, {}, { audience: 'https://api.example' })
    await expectInvalid(protector, await issue(as.server))
    const key = contextOf(as.server).keys.signingKey(as.clock.now())
    expect((await protector.check(withHeader(signJwt(key, 'at+jwt', claims(as.server, { aud: ['https://other.example', 'https://api.example'] }))))).ok).toBe(true)
  })

  it('rejects an expired token, within the clock skew and past it', async () => {
    const as = await start()
    const { protector } = remote(as, { clockSkew: 60 })
    const token = await issue(as.server)
    as.clock.advance(3600 + 30)
    expect((await protector.check(withHeader(token))).ok).toBe(true)
    as.clock.advance(31)
    await expectInvalid(protector, token)
  })

  it('rejects a token without client_id, or with a cnf (sender-constrained) claim', async () => {
    const as = await start()
    const { protector } = remote(as)
    const key = contextOf(as.server).keys.signingKey(as.clock.now())
    await expectInvalid(protector, signJwt(key, 'at+jwt', claims(as.server, { client_id: undefined })))
    await expectInvalid(protector, signJwt(key, 'at+jwt', claims(as.server, { cnf: { jkt: 'abc' } })))
  })

  it('rejects an opaque token without asking anyone', async () => {
    const as = await start({ accessTokenFormat: 'opaque' })
    const { protector, spy } = remote(as)
    await expectInvalid(protector, await issue(as.server))
    expect(spy.calls).toHaveLength(0)
  })

  it('answers 503 temporarily_unavailable when the JWKS cannot be fetched, never 200', async () => {
    const as = await start()
    const token = await issue(as.server)
    const gone = await listen()
    await gone.close()
    for (const jwksUri of [`${gone.origin}/jwks`, `${as.origin}/no-such-path`]) {
      const errors: unknown[] = []
      const { protector } = remote(as, { jwksUri }, { onError: (e) => errors.push(e) })
      const result = await protector.check(withHeader(token))
      expect(result.ok).toBe(false)
      if (result.ok) return
      expect(result.response.status).toBe(503)
      expect(json(result.response).error).toBe('temporarily_unavailable')
      expect(result.response.headers['cache-control']).toBe('no-store')
      expect(errors).toHaveLength(1)
    }
    const failing = createResourceProtector({ jwks: { issuer: as.origin, jwksUri: `${as.origin}/jwks` }, fetch: () => Promise.reject(new TypeError('fetch failed')), deps: { now: as.clock.now } })
    const failed = await failing.check(withHeader(token))
    expect(failed.ok ? 200 : failed.response.status).toBe(503)
  })
})
