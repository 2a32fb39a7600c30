import { afterEach, describe, expect, it } from 'vitest'
import type {
  AccessTokenRecord,
  AuditEventRecord,
  AuthorizationCodeRecord,
  DeviceCodeRecord,
  InteractionRecord,
  PushedAuthorizationRequestRecord,
  RefreshTokenRecord,
  SigningKeyRecord,
  Storage,
  StoredClientRecord,
} from '../storage/types.js'
import { missingStores, type StorageFeature } from '../storage/features.js'
import { clientCutoffKey, consentCutoffKey, cutoffKeys, subjectCutoffKey } from '../tokens/cutoff.js'

/**
 * A storage under test, with the clock it reads (seconds since the epoch) and a
 * way to move that clock. The storage must compare expiry against `now()`,
 * never against its own or its database's clock.
 */
export interface StorageHarness {
  /** An empty storage: fresh tables, key prefix or database for each call. */
  storage: Storage
  /** The clock the storage reads, in seconds since the epoch. */
  now(): number
  /** Moves the clock forward by `seconds`. */
  advance(seconds: number): void | Promise<void>
  /** Called after each test: drop tables, close connections. Optional. */
  close?(): void | Promise<void>
}

/** Options of `runStorageConformance`. */
export interface StorageConformanceOptions {
  /** Callers racing in the concurrency tests. Default 50. */
  concurrency?: number
  /**
   * Optional features the storage is meant to serve, e.g. `['deviceFlow']`:
   * their stores must then be present, and the suite fails instead of skipping
   * their tests when one is missing. Default: none (optional groups are tested
   * when present).
   */
  features?: readonly StorageFeature[]
}

/** The start of the clock the conformance records are built against, when a harness needs one. */
export const CONFORMANCE_EPOCH = 1_800_000_000

const accessToken = (hash: string, now: number, over: Partial<AccessTokenRecord> = {}): AccessTokenRecord & { tokenHash: string } => ({
  id: 'jti-' + hash,
  tokenHash: hash,
  clientId: 'c',
  sub: 'alice',
  scope: 'openid api:read',
  audience: ['https://api.example'],
  grantId: 'g-' + hash,
  issuedAt: now,
  expiresAt: now + 10,
  claims: { auth_time: now - 5, acr: 'urn:x', nested: { a: [1, 'b', null], 'ü': 'ø' } },
  ...over,
})

const code = (hash: string, now: number, over: Partial<AuthorizationCodeRecord> = {}): AuthorizationCodeRecord => ({
  codeHash: hash,
  clientId: 'c',
  redirectUri: 'https://app.example/cb?x=1',
  redirectUriSent: true,
  scope: 'openid',
  sub: 'alice',
  grantId: 'g-' + hash,
  authTime: now - 1,
  codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
  codeChallengeMethod: 'S256',
  nonce: 'n-0S6_WzA2Mj',
  claims: { acr: '1' },
  // RFC 8707: the resources of the authorization, kept for the token request to narrow.
  resource: ['https://api.example/v1', 'urn:example:billing'],
  issuedAt: now,
  expiresAt: now + 60,
  ...over,
})

const refresh = (hash: string, now: number, over: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord => ({
  tokenHash: hash,
  grantId: 'g1',
  clientId: 'c',
  sub: 'alice',
  scope: 'openid offline_access',
  issuedAt: now,
  expiresAt: now + 600,
  absoluteExpiresAt: now + 6000,
  authTime: now - 3,
  claims: { acr: 'urn:y' },
  resource: ['https://api.example/v1'],
  ...over,
})

const interaction = (uid: string, now: number, over: Partial<InteractionRecord> = {}): InteractionRecord => ({
  uid,
  request: {
    clientId: 'c',
    redirectUri: 'https://app.example/cb',
    redirectUriSent: true,
    responseType: 'code',
    responseMode: 'query',
    scope: 'openid profile',
    state: 's t&a=te',
    nonce: 'n',
    codeChallenge: 'abc',
    codeChallengeMethod: 'S256',
    prompt: ['login', 'consent'],
    maxAge: 300,
    loginHint: 'alice@example.com',
    uiLocales: ['de-CH', 'en'],
  },
  browserHash: 'b-' + uid,
  csrf: 'x-' + uid,
  expiresAt: now + 600,
  ...over,
})

const device = (hash: string, now: number, over: Partial<DeviceCodeRecord> = {}): DeviceCodeRecord => ({
  deviceCodeHash: hash,
  userCodeHash: 'u-' + hash,
  clientId: 'tv',
  scope: 'openid profile',
  interval: 5,
  issuedAt: now,
  expiresAt: now + 600,
  status: 'pending',
  ...over,
})

const signingKey = (kid: string, now: number, over: Partial<SigningKeyRecord> = {}): SigningKeyRecord => ({
  kid,
  privateJwk: JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: 'x-' + kid, d: 'd-' + kid, kid }),
  activeFrom: now,
  createdAt: now,
  ...over,
})

const storedClient = (clientId: string, now: number, over: Partial<StoredClientRecord> = {}): StoredClientRecord => ({
  clientId,
  metadata: {
    client_id: clientId,
    client_name: 'Ünïcode app ✓',
    redirect_uris: ['https://app.example/cb?x=1&y=%20'],
    grant_types: ['authorization_code', 'refresh_token'],
    scope: 'openid api:read',
    jwks: { keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'x-' + clientId }] },
    nested: { list: [1, 'two', null, true], n: 0.5 },
  },
  secretHash: 'sha256:' + 'A'.repeat(43),
  secretExpiresAt: 0,
  createdAt: now,
  updatedAt: now,
  version: 1,
  ...over,
})

const pushed = (hash: string, now: number, over: Partial<PushedAuthorizationRequestRecord> = {}): PushedAuthorizationRequestRecord => ({
  requestUriHash: hash,
  clientId: 'c',
  // Order and repeats matter: the authorization endpoint reads them as they were pushed.
  parameters: [
    ['response_type', 'code'],
    ['client_id', 'c'],
    ['redirect_uri', 'https://app.example/cb?x=1'],
    ['scope', 'openid api:read'],
    ['resource', 'https://a.example'],
    ['resource', 'https://b.example'],
    ['state', 'ü-ø "quoted" \\ back'],
  ],
  signed: true,
  expiresAt: now + 60,
  ...over,
})

const times = <T>(n: number, f: (i: number) => Promise<T>): Promise<T[]> => Promise.all(Array.from({ length: n }, (_, i) => f(i)))

/**
 * The rules every `Storage` must keep, as a vitest suite: each method of each
 * store, expiry against the harness clock, the reuse and rotation semantics,
 * and races where exactly one of many concurrent callers may win. Call it at
 * the top level of a test file; `factory` is called once per test and must
 * return an empty storage. Stores are tested by feature group (see
 * `FEATURE_STORES`): the optional groups (device flow, shared keys) are tested
 * when the storage has them and skipped when it does not.
 *
 * @example
 * import { runStorageConformance } from 'grantkit/testing'
 * runStorageConformance('memory', () => {
 *   let t = 1_800_000_000
 *   return { storage: createMemoryStorage({ now: () => t }), now: () => t, advance: (s) => void (t += s) }
 * })
 */
export function runStorageConformance(
  name: string,
  factory: () => StorageHarness | Promise<StorageHarness>,
  options: StorageConformanceOptions = {},
): void {
  const n = options.concurrency ?? 50
  if (!Number.isInteger(n) || n < 2) throw new TypeError('concurrency: must be an integer >= 2')
  const claimed = options.features ?? []

  describe(`storage conformance: ${name}`, () => {
    const open: StorageHarness[] = []
    afterEach(async () => {
      for (const h of open.splice(0)) await h.close?.()
    })
    const make = async (): Promise<StorageHarness> => {
      const h = await factory()
      open.push(h)
      return h
    }

    it('has every store of the groups a server always needs (core, authorization, throttling), and of the features it claims', async () => {
      const h = await make()
      expect(missingStores(h.storage, ['core', 'authorization', 'throttling', ...claimed])).toEqual([])
    })

    describe('accessTokens', () => {
      it('finds a saved opaque token by hash, whole, until it expires', async () => {
        const h = await make()
        const rec = accessToken('h1', h.now())
        await h.storage.accessTokens.save(rec)
        expect(await h.storage.accessTokens.find('h1')).toEqual(rec)
        expect(await h.storage.accessTokens.find('h-unknown')).toBeNull()
        await h.advance(9)
        expect(await h.storage.accessTokens.find('h1')).toEqual(rec)
        await h.advance(1)
        expect(await h.storage.accessTokens.find('h1')).toBeNull()
      })

      it('keeps records without optional fields', async () => {
        const h = await make()
        const rec = { id: 't', tokenHash: 'h0', clientId: 'c', sub: 'c', scope: '', audience: [], issuedAt: h.now(), expiresAt: h.now() + 10 }
        await h.storage.accessTokens.save(rec)
        const found = await h.storage.accessTokens.find('h0')
        expect(found).toEqual(rec)
        expect(found?.grantId).toBeUndefined()
        expect(found?.claims).toBeUndefined()
      })

      it('keeps the DPoP key thumbprint of a bound token (RFC 9449 §6.2), also when stored by a rotation', async () => {
        const h = await make()
        const jkt = '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I'
        const rec = accessToken('h-dpop', h.now(), { jkt })
        await h.storage.accessTokens.save(rec)
        expect((await h.storage.accessTokens.find('h-dpop'))?.jkt).toBe(jkt)
        await h.storage.refreshTokens.save(refresh('r-dpop', h.now()))
        const issued = accessToken('h-dpop2', h.now(), { jkt })
        const outcome = h.storage.refreshTokens.rotatesWithIssue === true
          ? await h.storage.refreshTokens.rotate('r-dpop', refresh('r-dpop2', h.now()), { accessToken: issued })
          : await h.storage.refreshTokens.rotate('r-dpop', refresh('r-dpop2', h.now()))
        expect(outcome).toBe('rotated')
        if (h.storage.refreshTokens.rotatesWithIssue === true) expect((await h.storage.accessTokens.find('h-dpop2'))?.jkt).toBe(jkt)
      })

      it('forgets a revoked token and ignores unknown hashes', async () => {
        const h = await make()
        await h.storage.accessTokens.save(accessToken('h2', h.now()))
        await h.storage.accessTokens.save(accessToken('h3', h.now()))
        await h.storage.accessTokens.revoke('h2')
        expect(await h.storage.accessTokens.find('h2')).toBeNull()
        expect(await h.storage.accessTokens.find('h3')).not.toBeNull()
        await h.storage.accessTokens.revoke('unknown')
      })

      it('remembers a revoked jti until the token would have expired', async () => {
        const h = await make()
        await h.storage.accessTokens.revokeJti('j1', h.now() + 5)
        expect(await h.storage.accessTokens.isJtiRevoked('j1')).toBe(true)
        expect(await h.storage.accessTokens.isJtiRevoked('j2')).toBe(false)
        await h.advance(4)
        expect(await h.storage.accessTokens.isJtiRevoked('j1')).toBe(true)
        await h.advance(1)
        expect(await h.storage.accessTokens.isJtiRevoked('j1')).toBe(false)
      })
    })

    describe('authorizationCodes', () => {
      it('consumes a code once, whole, then reports reuse with its grant', async () => {
        const h = await make()
        const rec = code('c1', h.now())
        await h.storage.authorizationCodes.save(rec)
        expect(await h.storage.authorizationCodes.consume('c1')).toEqual({ outcome: 'consumed', record: rec })
        expect(await h.storage.authorizationCodes.consume('c1')).toEqual({ outcome: 'reused', grantId: 'g-c1' })
        expect(await h.storage.authorizationCodes.consume('nope')).toEqual({ outcome: 'not_found' })
      })

      it('keeps a code without optional fields', async () => {
        const h = await make()
        const now = h.now()
        const rec: AuthorizationCodeRecord = { codeHash: 'c0', clientId: 'c', redirectUri: 'https://a/cb', redirectUriSent: false, scope: 'openid', sub: 's', grantId: 'g', authTime: now, issuedAt: now, expiresAt: now + 60 }
        await h.storage.authorizationCodes.save(rec)
        expect(await h.storage.authorizationCodes.consume('c0')).toEqual({ outcome: 'consumed', record: rec })
      })

      it('does not hand out an expired code', async () => {
        const h = await make()
        await h.storage.authorizationCodes.save(code('c2', h.now()))
        await h.advance(60)
        expect(await h.storage.authorizationCodes.consume('c2')).toEqual({ outcome: 'not_found' })
      })

      it('reports reuse until the code would have expired, then forgets it', async () => {
        const h = await make()
        await h.storage.authorizationCodes.save(code('c4', h.now()))
        expect((await h.storage.authorizationCodes.consume('c4')).outcome).toBe('consumed')
        await h.advance(59)
        expect(await h.storage.authorizationCodes.consume('c4')).toEqual({ outcome: 'reused', grantId: 'g-c4' })
        await h.advance(1)
        expect(await h.storage.authorizationCodes.consume('c4')).toEqual({ outcome: 'not_found' })
      })

      it(`gives exactly one of ${n} concurrent consumers the code; the others hear reuse`, async () => {
        const h = await make()
        const rec = code('c3', h.now())
        await h.storage.authorizationCodes.save(rec)
        const results = await times(n, () => h.storage.authorizationCodes.consume('c3'))
        const won = results.filter((r) => r.outcome === 'consumed')
        expect(won).toEqual([{ outcome: 'consumed', record: rec }])
        expect(results.filter((r) => r.outcome === 'reused')).toHaveLength(n - 1)
      })
    })

    describe('refreshTokens', () => {
      it('finds a saved token, whole and not rotated', async () => {
        const h = await make()
        const rec = refresh('r0', h.now())
        await h.storage.refreshTokens.save(rec)
        expect(await h.storage.refreshTokens.find('r0')).toEqual({ record: rec, rotated: false })
        expect(await h.storage.refreshTokens.find('r-unknown')).toBeNull()
        const bare: RefreshTokenRecord = { tokenHash: 'r00', grantId: 'g', clientId: 'c', sub: 's', scope: 'x', issuedAt: h.now(), expiresAt: h.now() + 5, absoluteExpiresAt: h.now() + 50 }
        await h.storage.refreshTokens.save(bare)
        expect(await h.storage.refreshTokens.find('r00')).toEqual({ record: bare, rotated: false })
      })

      it('keeps the DPoP key a public client\'s refresh token is bound to (RFC 9449 §5), through rotation', async () => {
        const h = await make()
        const jkt = '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I'
        const rec: RefreshTokenRecord = { ...refresh('r-jkt', h.now()), jkt }
        await h.storage.refreshTokens.save(rec)
        expect(await h.storage.refreshTokens.find('r-jkt')).toEqual({ record: rec, rotated: false })
        const next: RefreshTokenRecord = { ...refresh('r-jkt2', h.now()), jkt }
        expect(await h.storage.refreshTokens.rotate('r-jkt', next)).toBe('rotated')
        expect((await h.storage.refreshTokens.find('r-jkt2'))?.record.jkt).toBe(jkt)
      })

      it('rotates a token once; the old one is then reused, the new one live', async () => {
        const h = await make()
        const now = h.now()
        await h.storage.refreshTokens.save(refresh('r1', now))
        const next = refresh('r2', now, { expiresAt: now + 900 })
        expect(await h.storage.refreshTokens.rotate('r1', next)).toBe('rotated')
        expect(await h.storage.refreshTokens.find('r1')).toEqual({ record: refresh('r1', now), rotated: true })
        expect(await h.storage.refreshTokens.find('r2')).toEqual({ record: next, rotated: false })
        expect(await h.storage.refreshTokens.rotate('r1', refresh('r3', now))).toBe('reused')
        expect(await h.storage.refreshTokens.find('r3')).toBeNull()
        expect(await h.storage.refreshTokens.rotate('zz', refresh('r4', now))).toBe('not_found')
        expect(await h.storage.refreshTokens.find('r4')).toBeNull()
        // The successor rotates in turn.
        expect(await h.storage.refreshTokens.rotate('r2', refresh('r5', now))).toBe('rotated')
      })

      it('still finds a rotated-away token until it expires, so reuse is detected', async () => {
        const h = await make()
        const now = h.now()
        await h.storage.refreshTokens.save(refresh('r6', now))
        await h.storage.refreshTokens.rotate('r6', refresh('r7', now, { expiresAt: now + 1200 }))
        await h.advance(599)
        expect(await h.storage.refreshTokens.find('r6')).toMatchObject({ rotated: true })
        expect(await h.storage.refreshTokens.rotate('r6', refresh('r8', h.now()))).toBe('reused')
        await h.advance(1)
        expect(await h.storage.refreshTokens.find('r6')).toBeNull()
        expect(await h.storage.refreshTokens.rotate('r6', refresh('r9', h.now()))).toBe('not_found')
        expect(await h.storage.refreshTokens.find('r7')).toMatchObject({ rotated: false })
      })

      it('does not rotate an expired or revoked token', async () => {
        const h = await make()
        const now = h.now()
        await h.storage.refreshTokens.save(refresh('r30', now, { expiresAt: now + 5 }))
        await h.storage.refreshTokens.save(refresh('r31', now))
        await h.storage.refreshTokens.revoke('r31')
        await h.advance(5)
        expect(await h.storage.refreshTokens.rotate('r30', refresh('r32', h.now()))).toBe('not_found')
        expect(await h.storage.refreshTokens.rotate('r31', refresh('r33', h.now()))).toBe('not_found')
        expect(await h.storage.refreshTokens.find('r32')).toBeNull()
        expect(await h.storage.refreshTokens.find('r33')).toBeNull()
      })

      it(`lets exactly one of ${n} concurrent rotations win and saves only its successor`, async () => {
        const h = await make()
        const now = h.now()
        await h.storage.refreshTokens.save(refresh('r10', now))
        const results = await times(n, (i) => h.storage.refreshTokens.rotate('r10', refresh(`r10-${i}`, now)))
        expect(results.filter((r) => r === 'rotated')).toHaveLength(1)
        expect(results.filter((r) => r === 'reused')).toHaveLength(n - 1)
        const successors = await times(n, (i) => h.storage.refreshTokens.find(`r10-${i}`))
        const live = successors.filter((s) => s !== null)
        expect(live).toHaveLength(1)
        expect(live[0]?.record.tokenHash).toBe(`r10-${results.indexOf('rotated')}`)
      })

      it('stores the access token issued with a rotation in the same step, and only when it rotates (rotatesWithIssue)', async (ctx) => {
        const h = await make()
        const store = h.storage.refreshTokens
        if (store.rotatesWithIssue !== true) return ctx.skip()
        const now = h.now()
        await store.save(refresh('r50', now))
        const at = accessToken('a50', now, { expiresAt: now + 300 })
        expect(await store.rotate('r50', refresh('r51', now), { accessToken: at })).toBe('rotated')
        expect(await h.storage.accessTokens.find('a50')).toEqual(at)
        expect(await store.find('r51')).toMatchObject({ rotated: false })
        // A lost compare-and-swap stores nothing it was given.
        expect(await store.rotate('r50', refresh('r52', now), { accessToken: accessToken('a52', now) })).toBe('reused')
        expect(await store.rotate('r-none', refresh('r53', now), { accessToken: accessToken('a53', now) })).toBe('not_found')
        expect(await h.storage.accessTokens.find('a52')).toBeNull()
        expect(await h.storage.accessTokens.find('a53')).toBeNull()
        // Without a third argument it rotates as before.
        expect(await store.rotate('r51', refresh('r54', now), {})).toBe('rotated')
        // The access token keeps its own expiry, not the refresh token's.
        await h.advance(300)
        expect(await h.storage.accessTokens.find('a50')).toBeNull()
        expect(await store.find('r54')).toMatchObject({ rotated: false })
      })

      it(`stores only the winner's access token when ${n} rotations that issue one race (rotatesWithIssue)`, async (ctx) => {
        const h = await make()
        const store = h.storage.refreshTokens
        if (store.rotatesWithIssue !== true) return ctx.skip()
        const now = h.now()
        await store.save(refresh('r60', now))
        const results = await times(n, (i) => store.rotate('r60', refresh(`r60-${i}`, now), { accessToken: accessToken(`a60-${i}`, now) }))
        expect(results.filter((r) => r === 'rotated')).toHaveLength(1)
        const found = await times(n, (i) => h.storage.accessTokens.find(`a60-${i}`))
        expect(found.map((f, i) => (f === null ? -1 : i)).filter((i) => i >= 0)).toEqual([results.indexOf('rotated')])
      })

      it('revokes a token, ignores unknown ones, and expires one', async () => {
        const h = await make()
        const now = h.now()
        await h.storage.refreshTokens.save(refresh('r20', now))
        await h.storage.refreshTokens.revoke('r20')
        expect(await h.storage.refreshTokens.find('r20')).toBeNull()
        await h.storage.refreshTokens.revoke('unknown')
        await h.storage.refreshTokens.save(refresh('r21', now, { expiresAt: now + 1 }))
        expect(await h.storage.refreshTokens.find('r21')).not.toBeNull()
        await h.advance(1)
        expect(await h.storage.refreshTokens.find('r21')).toBeNull()
      })
    })

    describe('grants', () => {
      it('keeps a grant revoked until the time given, then forgets it', async () => {
        const h = await make()
        await h.storage.grants.revoke('g9', h.now() + 5)
        expect(await h.storage.grants.isRevoked('g9')).toBe(true)
        expect(await h.storage.grants.isRevoked('g8')).toBe(false)
        await h.advance(4)
        expect(await h.storage.grants.isRevoked('g9')).toBe(true)
        await h.advance(1)
        expect(await h.storage.grants.isRevoked('g9')).toBe(false)
      })

      it('revokes a grant again after its first revocation lapsed', async () => {
        const h = await make()
        await h.storage.grants.revoke('g7', h.now() + 1)
        await h.advance(1)
        expect(await h.storage.grants.isRevoked('g7')).toBe(false)
        await h.storage.grants.revoke('g7', h.now() + 10)
        expect(await h.storage.grants.isRevoked('g7')).toBe(true)
      })

      it('revokes the grant of a rotated refresh chain while its tokens stay findable', async () => {
        const h = await make()
        const now = h.now()
        await h.storage.refreshTokens.save(refresh('r40', now, { grantId: 'g40' }))
        await h.storage.refreshTokens.rotate('r40', refresh('r41', now, { grantId: 'g40' }))
        await h.storage.grants.revoke('g40', now + 6000 + 3600)
        expect(await h.storage.grants.isRevoked('g40')).toBe(true)
        expect(await h.storage.refreshTokens.find('r41')).toMatchObject({ record: { grantId: 'g40' }, rotated: false })
        await h.advance(6000 + 3599)
        expect(await h.storage.grants.isRevoked('g40')).toBe(true)
      })
    })

    describe('replay', () => {
      it(`marks a key used once, even under ${n} concurrent attempts, until it expires`, async () => {
        const h = await make()
        const results = await times(n, () => h.storage.replay.markUsed('jti-1', h.now() + 30))
        expect(results.filter(Boolean)).toHaveLength(1)
        expect(await h.storage.replay.markUsed('jti-1', h.now() + 30)).toBe(false)
        expect(await h.storage.replay.markUsed('jti-2', h.now() + 30)).toBe(true)
        await h.advance(29)
        expect(await h.storage.replay.markUsed('jti-1', h.now() + 30)).toBe(false)
        await h.advance(1)
        expect(await h.storage.replay.markUsed('jti-1', h.now() + 30)).toBe(true)
        expect(await h.storage.replay.markUsed('jti-1', h.now() + 30)).toBe(false)
      })
    })

    describe('keys made of client input', () => {
      // Replay and rate-limit keys carry a jti or a username as the client sent it.
      const odd = ['nul\u0000byte', 'ünï©ødé ✓ 𝄞', 'x'.repeat(4096), '', ' ', 'a:b', 'a\nb']

      it('marks any string used, NUL, non-ASCII and 4 KB long alike, each apart', async () => {
        const h = await make()
        for (const key of odd) expect(await h.storage.replay.markUsed(key, h.now() + 30)).toBe(true)
        for (const key of odd) expect(await h.storage.replay.markUsed(key, h.now() + 30)).toBe(false)
      })

      it('counts any string, NUL, non-ASCII and 4 KB long alike, each apart', async () => {
        const h = await make()
        for (const key of odd) expect(await h.storage.rateLimits.increment(key, h.now() + 60)).toBe(1)
        for (const key of odd) expect(await h.storage.rateLimits.increment(key, h.now() + 60)).toBe(2)
        await h.storage.rateLimits.reset(odd[0]!)
        expect(await h.storage.rateLimits.increment(odd[0]!, h.now() + 60)).toBe(1)
      })
    })

    describe('interactions', () => {
      it('keeps an interaction, whole, updated on save, until it is consumed once', async () => {
        const h = await make()
        const rec = interaction('i1', h.now())
        await h.storage.interactions.save(rec)
        expect(await h.storage.interactions.find('i1')).toEqual(rec)
        expect(await h.storage.interactions.find('i-unknown')).toBeNull()
        const updated: InteractionRecord = { ...rec, login: { sub: 'alice', authTime: h.now(), fresh: true }, device: { userCodeHash: 'u1' } }
        await h.storage.interactions.save(updated)
        expect(await h.storage.interactions.find('i1')).toEqual(updated)
        expect(await h.storage.interactions.consume('i1')).toEqual(updated)
        expect(await h.storage.interactions.find('i1')).toBeNull()
        expect(await h.storage.interactions.consume('i1')).toBeNull()
        expect(await h.storage.interactions.consume('i-unknown')).toBeNull()
      })

      it('neither finds nor consumes an expired interaction', async () => {
        const h = await make()
        await h.storage.interactions.save(interaction('i2', h.now(), { expiresAt: h.now() + 10 }))
        await h.advance(10)
        expect(await h.storage.interactions.find('i2')).toBeNull()
        expect(await h.storage.interactions.consume('i2')).toBeNull()
      })

      it(`lets exactly one of ${n} concurrent consumers finish an interaction`, async () => {
        const h = await make()
        const rec = interaction('i3', h.now())
        await h.storage.interactions.save(rec)
        const results = await times(n, () => h.storage.interactions.consume('i3'))
        expect(results.filter((r) => r !== null)).toEqual([rec])
      })
    })

    describe('sessions', () => {
      it('keeps sessions until they expire or are deleted', async () => {
        const h = await make()
        const s1 = { idHash: 's1', sub: 'alice', authTime: h.now() - 2, expiresAt: h.now() + 10 }
        await h.storage.sessions.save(s1)
        await h.storage.sessions.save({ idHash: 's2', sub: 'bob', authTime: h.now(), expiresAt: h.now() + 100 })
        expect(await h.storage.sessions.find('s1')).toEqual(s1)
        expect(await h.storage.sessions.find('s-unknown')).toBeNull()
        await h.storage.sessions.delete('s2')
        expect(await h.storage.sessions.find('s2')).toBeNull()
        await h.storage.sessions.delete('unknown')
        await h.advance(9)
        expect(await h.storage.sessions.find('s1')).toEqual(s1)
        await h.advance(1)
        expect(await h.storage.sessions.find('s1')).toBeNull()
      })

      it('replaces a session saved again under the same hash', async () => {
        const h = await make()
        await h.storage.sessions.save({ idHash: 's3', sub: 'alice', authTime: h.now(), expiresAt: h.now() + 10 })
        const again = { idHash: 's3', sub: 'alice', authTime: h.now() + 1, expiresAt: h.now() + 100 }
        await h.storage.sessions.save(again)
        await h.advance(50)
        expect(await h.storage.sessions.find('s3')).toEqual(again)
      })

      it('keeps a session\'s sid and clients, and adds each client once, atomically', async (t) => {
        const h = await make()
        const sessions = h.storage.sessions
        if (sessions.addClient === undefined) return t.skip()
        await sessions.save({ idHash: 's4', sub: 'alice', authTime: h.now(), expiresAt: h.now() + 100, sid: 'sid-4', clients: ['web'] })
        await Promise.all(['a', 'b', 'c', 'web', 'a', 'd'].map((c) => sessions.addClient!('s4', c)))
        const found = await sessions.find('s4')
        expect(found).toMatchObject({ idHash: 's4', sub: 'alice', sid: 'sid-4' })
        expect([...found!.clients!].sort()).toEqual(['a', 'b', 'c', 'd', 'web'])
        // An unknown session gains nothing and is not created.
        await sessions.addClient('s-none', 'web')
        expect(await sessions.find('s-none')).toBeNull()
        // A record read and changed by the caller does not change the store.
        found!.clients!.push('mutated')
        expect((await sessions.find('s4'))!.clients).not.toContain('mutated')
      })

      it('loads a session saved without sid or clients (written by 0.1) with neither', async () => {
        const h = await make()
        const old = { idHash: 's5', sub: 'alice', authTime: h.now(), expiresAt: h.now() + 100 }
        await h.storage.sessions.save(old)
        const found = await h.storage.sessions.find('s5')
        expect(found).toEqual(old)
      })

      it('lists a person\'s live sessions and finds one by sid, until it is deleted or expires', async (t) => {
        const h = await make()
        const sessions = h.storage.sessions
        if (sessions.listBySub === undefined || sessions.findBySid === undefined) return t.skip()
        await sessions.save({ idHash: 's6', sub: 'carol', authTime: h.now(), expiresAt: h.now() + 10, sid: 'sid-6' })
        await sessions.save({ idHash: 's7', sub: 'carol', authTime: h.now(), expiresAt: h.now() + 100, sid: 'sid-7', clients: ['web'] })
        await sessions.save({ idHash: 's8', sub: 'dave', authTime: h.now(), expiresAt: h.now() + 100, sid: 'sid-8' })
        const ids = async (sub: string) => (await sessions.listBySub!(sub)).map((r) => r.sid).sort()
        expect(await ids('carol')).toEqual(['sid-6', 'sid-7'])
        expect(await ids('nobody')).toEqual([])
        expect(await sessions.findBySid('sid-7')).toEqual({ idHash: 's7', sub: 'carol', authTime: h.now(), expiresAt: h.now() + 100, sid: 'sid-7', clients: ['web'] })
        expect(await sessions.findBySid('sid-unknown')).toBeNull()
        await h.advance(10)
        expect(await ids('carol')).toEqual(['sid-7'])
        expect(await sessions.findBySid('sid-6')).toBeNull()
        await sessions.delete('s7')
        expect(await ids('carol')).toEqual([])
        expect(await sessions.findBySid('sid-7')).toBeNull()
        expect(await ids('dave')).toEqual(['sid-8'])
      })
    })

    describe('consents', () => {
      it('remembers consent per person and client, replaces it, revokes it', async () => {
        const h = await make()
        await h.storage.consents.save('alice', 'c', 'openid profile', h.now() + 100)
        expect(await h.storage.consents.find('alice', 'c')).toBe('openid profile')
        expect(await h.storage.consents.find('alice', 'd')).toBeNull()
        expect(await h.storage.consents.find('bob', 'c')).toBeNull()
        // Consent to no scope at all is still consent, and must not read as none.
        await h.storage.consents.save('carol', 'c', '', h.now() + 100)
        expect(await h.storage.consents.find('carol', 'c')).toBe('')
        await h.storage.consents.save('alice', 'c', 'openid profile email', h.now() + 100)
        expect(await h.storage.consents.find('alice', 'c')).toBe('openid profile email')
        await h.storage.consents.revoke('alice', 'c')
        expect(await h.storage.consents.find('alice', 'c')).toBeNull()
        await h.storage.consents.revoke('nobody', 'c')
      })

      it('keeps person and client apart whatever characters they contain', async () => {
        const h = await make()
        await h.storage.consents.save('a:b', 'c', 'one', h.now() + 100)
        await h.storage.consents.save('a', 'b:c', 'two', h.now() + 100)
        await h.storage.consents.save('["a"', '"b"]', 'three', h.now() + 100)
        expect(await h.storage.consents.find('a:b', 'c')).toBe('one')
        expect(await h.storage.consents.find('a', 'b:c')).toBe('two')
        expect(await h.storage.consents.find('["a"', '"b"]')).toBe('three')
        expect(await h.storage.consents.find('a', 'b')).toBeNull()
      })

      it('forgets consent when it expires', async () => {
        const h = await make()
        await h.storage.consents.save('alice', 'c', 'openid', h.now() + 100)
        await h.advance(99)
        expect(await h.storage.consents.find('alice', 'c')).toBe('openid')
        await h.advance(1)
        expect(await h.storage.consents.find('alice', 'c')).toBeNull()
      })

      it('lists the live consents of one person only (listBySub, when the store has it)', async (ctx) => {
        const h = await make()
        const consents = h.storage.consents
        if (consents.listBySub === undefined) return ctx.skip()
        await consents.save('alice', 'c', 'openid', h.now() + 100)
        await consents.save('alice', 'd', 'api', h.now() + 10)
        await consents.save('alice', 'gone', 'api', h.now() + 100)
        await consents.revoke('alice', 'gone')
        await consents.save('alice2', 'e', 'x', h.now() + 100)
        await consents.save('["alice"', 'f', 'x', h.now() + 100)
        const sorted = async () => (await consents.listBySub!('alice')).sort((a, b) => (a.clientId < b.clientId ? -1 : 1))
        expect(await sorted()).toEqual([
          { clientId: 'c', scope: 'openid', expiresAt: h.now() + 100 },
          { clientId: 'd', scope: 'api', expiresAt: h.now() + 10 },
        ])
        await h.advance(10)
        expect((await sorted()).map((c) => c.clientId)).toEqual(['c'])
        expect(await consents.listBySub!('nobody')).toEqual([])
      })
    })

    describe('pushedAuthorizationRequests (PAR, when the storage has it)', () => {
      it('gives a pushed request back whole, once, and never after', async (ctx) => {
        const h = await make()
        const par = h.storage.pushedAuthorizationRequests
        if (par === undefined) return ctx.skip()
        const rec = pushed('p1', h.now())
        await par.save(rec)
        await par.save(pushed('p2', h.now(), { signed: false, clientId: 'd' }))
        expect(await par.consume('p-unknown')).toBeNull()
        expect(await par.consume('p1')).toEqual(rec)
        expect(await par.consume('p1')).toBeNull()
        expect(await par.consume('p2')).toEqual(pushed('p2', h.now(), { signed: false, clientId: 'd' }))
      })

      it('does not give back an expired pushed request', async (ctx) => {
        const h = await make()
        const par = h.storage.pushedAuthorizationRequests
        if (par === undefined) return ctx.skip()
        await par.save(pushed('p3', h.now(), { expiresAt: h.now() + 10 }))
        await h.advance(10)
        expect(await par.consume('p3')).toBeNull()
      })

      it(`lets exactly one of ${n} concurrent callers consume a pushed request`, async (ctx) => {
        const h = await make()
        const par = h.storage.pushedAuthorizationRequests
        if (par === undefined) return ctx.skip()
        const rec = pushed('p4', h.now())
        await par.save(rec)
        const results = await times(n, () => par.consume('p4'))
        expect(results.filter((r) => r !== null)).toEqual([rec])
      })
    })

    describe('tokenCutoffs (revocation by cutoff, when the storage has it)', () => {
      it('keeps the later cutoff of a key, answers the latest of several keys, and forgets it at its end', async (ctx) => {
        const h = await make()
        const cutoffs = h.storage.tokenCutoffs
        if (cutoffs === undefined) return ctx.skip()
        expect(await cutoffs.latest(['client:a', 'sub:x'])).toBeNull()
        await cutoffs.set('client:a', h.now(), h.now() + 100)
        await cutoffs.set('client:a', h.now() - 50, h.now() + 100)
        expect(await cutoffs.latest(['client:a'])).toBe(h.now())
        await cutoffs.set('sub:x', h.now() + 5, h.now() + 20)
        expect(await cutoffs.latest(['client:a', 'sub:x', 'client:none'])).toBe(h.now() + 5)
        expect(await cutoffs.latest([])).toBeNull()
        await h.advance(20)
        expect(await cutoffs.latest(['sub:x'])).toBeNull()
        expect(await cutoffs.latest(['client:a', 'sub:x'])).toBe(h.now() - 20)
      })
    })

    describe('auditEvents (shared audit log, when the storage has it)', () => {
      const event = (i: number, over: Partial<AuditEventRecord> = {}): AuditEventRecord => ({
        type: 'admin.audit',
        actor: { sub: 'admin-ü', clientId: 'grantkit-console' },
        action: 'client.update',
        target: { clientId: `c-${i}` },
        outcome: 'success',
        timestamp: 1_800_000_000_000 + i,
        requestId: `req-${i}`,
        ...over,
      })

      it('returns the newest events first, at most the limit, exactly as appended', async (ctx) => {
        const h = await make()
        const audit = h.storage.auditEvents
        if (audit === undefined) return ctx.skip()
        expect(await audit.recent(10)).toEqual([])
        await audit.append(event(1, { actor: { cli: 'ops' }, outcome: 'failure', error: 'not_found' }), h.now() + 100)
        await audit.append(event(2), h.now() + 100)
        await audit.append(event(3, { requestId: undefined }), h.now() + 100)
        const all = await audit.recent(10)
        expect(all.map((e) => e.target.clientId)).toEqual(['c-3', 'c-2', 'c-1'])
        expect(all[2]).toEqual(event(1, { actor: { cli: 'ops' }, outcome: 'failure', error: 'not_found' }))
        expect(all[1]).toEqual(event(2))
        expect((await audit.recent(2)).map((e) => e.target.clientId)).toEqual(['c-3', 'c-2'])
      })

      it('forgets an event after its keepUntil', async (ctx) => {
        const h = await make()
        const audit = h.storage.auditEvents
        if (audit === undefined) return ctx.skip()
        await audit.append(event(1), h.now() + 10)
        await audit.append(event(2), h.now() + 100)
        await h.advance(10)
        expect((await audit.recent(10)).map((e) => e.target.clientId)).toEqual(['c-2'])
      })

      it(`keeps every one of ${n} concurrent appends`, async (ctx) => {
        const h = await make()
        const audit = h.storage.auditEvents
        if (audit === undefined) return ctx.skip()
        await times(n, (i) => audit.append(event(i), h.now() + 100))
        const got = await audit.recent(n + 10)
        expect(new Set(got.map((e) => e.target.clientId)).size).toBe(n)
      })
    })

    describe('accessTokens.findWithCutoff (the token and its cutoffs in one read, when the storage has it)', () => {
      // Ids JSON.stringify escapes (the consent key is JSON.stringify([sub, clientId])), non-ASCII, separators, quotes.
      const ids: [string, string][] = [
        ['c', 'alice'],
        ['client "q"', 'sub\\back'],
        ['tab\tclient', 'new\nline\u0001\u001f'],
        ['ünï©ødé ✓ 𝄞', 'a:b,c]["'],
        ['del\u007f', '\u2028sep'],
      ]
      it('answers as find plus tokenCutoffs.latest of the three cutoff keys would, key by key, for odd ids', async (ctx) => {
        const h = await make()
        const store = h.storage.accessTokens
        const cutoffs = h.storage.tokenCutoffs
        if (store.findWithCutoff === undefined || cutoffs === undefined) return ctx.skip()
        const t0 = h.now()
        expect(await store.findWithCutoff('fw-none')).toBeNull()
        for (const [i, [clientId, sub]] of ids.entries()) {
          const rec = accessToken(`fw${i}`, t0, { clientId, sub, expiresAt: t0 + 100 })
          await store.save(rec)
          expect(await store.findWithCutoff(`fw${i}`)).toEqual({ record: await store.find(`fw${i}`), cutoff: null })
          expect((await store.findWithCutoff(`fw${i}`))?.record).toMatchObject({ clientId, sub, id: `jti-fw${i}` })
          // Each key alone reaches the token; a later one wins; another client's or person's does not.
          await cutoffs.set(clientCutoffKey(clientId + 'x'), t0 + 9, t0 + 50)
          await cutoffs.set(subjectCutoffKey('x' + sub), t0 + 9, t0 + 50)
          await cutoffs.set(consentCutoffKey(sub, clientId + 'x'), t0 + 9, t0 + 50)
          expect((await store.findWithCutoff(`fw${i}`))?.cutoff).toBeNull()
          await cutoffs.set(consentCutoffKey(sub, clientId), t0 + 1, t0 + 50)
          expect((await store.findWithCutoff(`fw${i}`))?.cutoff).toBe(t0 + 1)
          await cutoffs.set(subjectCutoffKey(sub), t0 + 2, t0 + 50)
          expect((await store.findWithCutoff(`fw${i}`))?.cutoff).toBe(t0 + 2)
          await cutoffs.set(clientCutoffKey(clientId), t0 + 3, t0 + 30)
          expect((await store.findWithCutoff(`fw${i}`))?.cutoff).toBe(t0 + 3)
          expect((await store.findWithCutoff(`fw${i}`))?.cutoff).toBe(await cutoffs.latest(cutoffKeys(clientId, sub)))
        }
        // An ended cutoff no longer counts; an expired token is not found.
        await h.advance(30)
        expect((await store.findWithCutoff('fw0'))?.cutoff).toBe(t0 + 2)
        await h.advance(20)
        expect((await store.findWithCutoff('fw0'))?.cutoff).toBeNull()
        await h.advance(50)
        expect(await store.findWithCutoff('fw0')).toBeNull()
      })
    })

    describe('rateLimits', () => {
      it(`counts exactly under ${n} concurrent increments, and resets`, async () => {
        const h = await make()
        const counts = await times(n, () => h.storage.rateLimits.increment('k', h.now() + 60))
        expect([...counts].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i + 1))
        expect(await h.storage.rateLimits.increment('other', h.now() + 60)).toBe(1)
        await h.storage.rateLimits.reset('k')
        expect(await h.storage.rateLimits.increment('k', h.now() + 60)).toBe(1)
        await h.storage.rateLimits.reset('unknown')
      })

      it('keeps the window of the first increment and starts again after it ends', async () => {
        const h = await make()
        expect(await h.storage.rateLimits.increment('w', h.now() + 60)).toBe(1)
        await h.advance(30)
        // A later window end does not extend the running window.
        expect(await h.storage.rateLimits.increment('w', h.now() + 60)).toBe(2)
        await h.advance(29)
        expect(await h.storage.rateLimits.increment('w', h.now() + 60)).toBe(3)
        await h.advance(1)
        expect(await h.storage.rateLimits.increment('w', h.now() + 60)).toBe(1)
        await h.advance(59)
        expect(await h.storage.rateLimits.increment('w', h.now() + 60)).toBe(2)
      })
    })

    describe('deviceCodes (device flow, when the storage has it)', () => {
      it('finds a pending authorization by user code, whole, until it expires', async (ctx) => {
        const h = await make()
        const dc = h.storage.deviceCodes
        if (dc === undefined) return ctx.skip()
        const rec = device('d1', h.now())
        await dc.save(rec)
        expect(await dc.findByUserCode('u-d1')).toEqual(rec)
        expect(await dc.findByUserCode('u-unknown')).toBeNull()
        await h.advance(599)
        expect(await dc.findByUserCode('u-d1')).toEqual(rec)
        await h.advance(1)
        expect(await dc.findByUserCode('u-d1')).toBeNull()
        expect(await dc.decide('u-d1', { status: 'denied' })).toBe(false)
      })

      it('approves once: pending → approved → consumed by exactly one poll', async (ctx) => {
        const h = await make()
        const dc = h.storage.deviceCodes
        if (dc === undefined) return ctx.skip()
        const rec = device('d2', h.now())
        await dc.save(rec)
        expect(await dc.decide('u-d2', { status: 'approved', sub: 'alice', authTime: h.now() - 1, scope: 'openid' })).toBe(true)
        expect(await dc.findByUserCode('u-d2')).toBeNull()
        expect(await dc.decide('u-d2', { status: 'denied' })).toBe(false)
        await h.advance(7)
        const t1 = h.now()
        const first = await dc.poll('d2', 'tv', t1)
        expect(first).toEqual({ ...rec, status: 'approved', sub: 'alice', authTime: rec.issuedAt - 1, grantedScope: 'openid' })
        await h.advance(7)
        const second = await dc.poll('d2', 'tv', h.now())
        expect(second).toEqual({ ...rec, status: 'consumed', sub: 'alice', authTime: rec.issuedAt - 1, grantedScope: 'openid', lastPolledAt: t1 })
        expect((await dc.poll('d2', 'tv', h.now()))?.status).toBe('consumed')
      })

      it('denies once, and a denied authorization stays denied', async (ctx) => {
        const h = await make()
        const dc = h.storage.deviceCodes
        if (dc === undefined) return ctx.skip()
        await dc.save(device('d3', h.now()))
        expect(await dc.decide('u-d3', { status: 'denied' })).toBe(true)
        expect(await dc.decide('u-d3', { status: 'approved', sub: 'alice', authTime: h.now(), scope: 'openid' })).toBe(false)
        expect(await dc.findByUserCode('u-d3')).toBeNull()
        const polled = await dc.poll('d3', 'tv', h.now())
        expect(polled).toMatchObject({ status: 'denied' })
        expect(polled?.sub).toBeUndefined()
        expect((await dc.poll('d3', 'tv', h.now()))?.status).toBe('denied')
        expect(await dc.decide('u-unknown', { status: 'denied' })).toBe(false)
      })

      it('returns each poll the record as it was before, and records the poll time', async (ctx) => {
        const h = await make()
        const dc = h.storage.deviceCodes
        if (dc === undefined) return ctx.skip()
        const rec = device('d4', h.now())
        await dc.save(rec)
        const t1 = h.now()
        expect(await dc.poll('d4', 'tv', t1)).toEqual(rec)
        await h.advance(2)
        const t2 = h.now()
        expect(await dc.poll('d4', 'tv', t2)).toEqual({ ...rec, lastPolledAt: t1 })
        expect(await dc.poll('d4', 'tv', t2 + 5)).toEqual({ ...rec, lastPolledAt: t2 })
        // The poll is recorded, not the status changed: the person can still decide.
        expect(await dc.findByUserCode('u-d4')).toEqual({ ...rec, lastPolledAt: t2 + 5 })
        expect(await dc.poll('d-unknown', 'tv', t2)).toBeNull()
      })

      it('lengthens the interval after a slow_down', async (ctx) => {
        const h = await make()
        const dc = h.storage.deviceCodes
        if (dc === undefined) return ctx.skip()
        const rec = device('d5', h.now())
        await dc.save(rec)
        await dc.slowDown('d5', 10)
        expect(await dc.poll('d5', 'tv', h.now())).toEqual({ ...rec, interval: 10 })
        await dc.slowDown('d-unknown', 10)
      })

      it("gives another client's poll nothing and changes nothing", async (ctx) => {
        const h = await make()
        const dc = h.storage.deviceCodes
        if (dc === undefined) return ctx.skip()
        const rec = device('d6', h.now())
        await dc.save(rec)
        expect(await dc.poll('d6', 'other', h.now())).toBeNull()
        expect(await dc.findByUserCode('u-d6')).toEqual(rec)
        await dc.decide('u-d6', { status: 'approved', sub: 'alice', authTime: h.now(), scope: 'openid profile' })
        expect(await dc.poll('d6', 'other', h.now() + 1)).toBeNull()
        const own = await dc.poll('d6', 'tv', h.now() + 2)
        expect(own).toMatchObject({ status: 'approved', sub: 'alice' })
        expect(own?.lastPolledAt).toBeUndefined()
      })

      it('still answers a poll after the device code expired, so the device hears expired_token', async (ctx) => {
        const h = await make()
        const dc = h.storage.deviceCodes
        if (dc === undefined) return ctx.skip()
        const rec = device('d7', h.now(), { expiresAt: h.now() + 10 })
        await dc.save(rec)
        await h.advance(10)
        const late = await dc.poll('d7', 'tv', h.now())
        expect(late).toEqual(rec)
        expect(late!.expiresAt).toBeLessThanOrEqual(h.now())
        await h.advance(60)
        expect(await dc.poll('d7', 'tv', h.now())).toMatchObject({ deviceCodeHash: 'd7', lastPolledAt: h.now() - 60 })
      })

      it(`lets exactly one of ${n} concurrent decisions win`, async (ctx) => {
        const h = await make()
        const dc = h.storage.deviceCodes
        if (dc === undefined) return ctx.skip()
        await dc.save(device('d8', h.now()))
        const results = await times(n, (i) =>
          dc.decide('u-d8', i % 2 === 0 ? { status: 'approved', sub: `user-${i}`, authTime: h.now(), scope: 'openid' } : { status: 'denied' }),
        )
        expect(results.filter(Boolean)).toHaveLength(1)
        const winner = results.indexOf(true)
        const polled = await dc.poll('d8', 'tv', h.now())
        if (winner % 2 === 0) expect(polled).toMatchObject({ status: 'approved', sub: `user-${winner}` })
        else expect(polled).toMatchObject({ status: 'denied' })
      })

      it(`lets exactly one of ${n} concurrent polls collect an approval`, async (ctx) => {
        const h = await make()
        const dc = h.storage.deviceCodes
        if (dc === undefined) return ctx.skip()
        await dc.save(device('d9', h.now()))
        await dc.decide('u-d9', { status: 'approved', sub: 'alice', authTime: h.now(), scope: 'openid' })
        const results = await times(n, (i) => dc.poll('d9', 'tv', h.now() + i))
        expect(results.filter((r) => r?.status === 'approved')).toHaveLength(1)
        expect(results.filter((r) => r?.status === 'consumed')).toHaveLength(n - 1)
      })
    })

    describe('clients (stored clients, when the storage has them)', () => {
      it('creates a client once and reads it back whole; a second create of the id is refused and changes nothing', async (ctx) => {
        const h = await make()
        const clients = h.storage.clients
        if (clients === undefined) return ctx.skip()
        expect(await clients.get('c1')).toBeNull()
        const rec = storedClient('c1', h.now(), { previousSecretHash: 'sha256:' + 'B'.repeat(43), previousSecretValidUntil: h.now() + 3600.5 })
        expect(await clients.create(rec)).toBe(true)
        expect(await clients.get('c1')).toEqual(rec)
        expect(await clients.create(storedClient('c1', h.now(), { metadata: { client_id: 'c1' } }))).toBe(false)
        expect(await clients.get('c1')).toEqual(rec)
        // A client without a secret keeps none.
        const pub = storedClient('pub', h.now(), { secretHash: undefined })
        delete pub.secretHash
        await clients.create(pub)
        expect(await clients.get('pub')).toEqual(pub)
      })

      it('keeps ids with any characters apart, and stores no expiry of its own', async (ctx) => {
        const h = await make()
        const clients = h.storage.clients
        if (clients === undefined) return ctx.skip()
        const ids = ['a:b', 'a', 'a%3Ab', 'x y', 'ü', '𝒳', "q'\"--"]
        for (const id of ids) expect(await clients.create(storedClient(id, h.now()))).toBe(true)
        await h.advance(10 * 365 * 24 * 3600)
        for (const id of ids) expect((await clients.get(id))?.clientId).toBe(id)
      })

      it(`lets exactly one of ${n} concurrent creates of one id win`, async (ctx) => {
        const h = await make()
        const clients = h.storage.clients
        if (clients === undefined) return ctx.skip()
        const results = await times(n, (i) => clients.create(storedClient('race', h.now(), { metadata: { client_id: 'race', n: i } })))
        expect(results.filter(Boolean)).toHaveLength(1)
        const winner = results.indexOf(true)
        expect((await clients.get('race'))?.metadata.n).toBe(winner)
      })

      it('updates by compare-and-swap on the version: a stale version or a missing client changes nothing', async (ctx) => {
        const h = await make()
        const clients = h.storage.clients
        if (clients === undefined) return ctx.skip()
        const v1 = storedClient('c1', h.now())
        await clients.create(v1)
        const v2 = { ...v1, metadata: { client_id: 'c1', client_name: 'two' }, secretHash: 'sha256:' + 'C'.repeat(43), previousSecretHash: v1.secretHash, previousSecretValidUntil: h.now() + 60, updatedAt: h.now() + 1, version: 2 }
        expect(await clients.update(v2, 1)).toBe(true)
        expect(await clients.get('c1')).toEqual(v2)
        expect(await clients.update({ ...v1, version: 2 }, 1)).toBe(false)
        expect(await clients.get('c1')).toEqual(v2)
        // Fields left out of the new record are gone, not merged.
        const v3: StoredClientRecord = { ...v2, version: 3 }
        delete v3.previousSecretHash
        delete v3.previousSecretValidUntil
        expect(await clients.update(v3, 2)).toBe(true)
        expect(await clients.get('c1')).toEqual(v3)
        expect(await clients.update(storedClient('nobody', h.now(), { version: 2 }), 1)).toBe(false)
        expect(await clients.get('nobody')).toBeNull()
      })

      it(`lets exactly one of ${n} concurrent updates from one version win`, async (ctx) => {
        const h = await make()
        const clients = h.storage.clients
        if (clients === undefined) return ctx.skip()
        await clients.create(storedClient('c1', h.now()))
        const results = await times(n, (i) => clients.update(storedClient('c1', h.now(), { metadata: { client_id: 'c1', n: i }, version: 2 }), 1))
        expect(results.filter(Boolean)).toHaveLength(1)
        const stored = await clients.get('c1')
        expect(stored?.version).toBe(2)
        expect(stored?.metadata.n).toBe(results.indexOf(true))
      })

      it('deletes a client once', async (ctx) => {
        const h = await make()
        const clients = h.storage.clients
        if (clients === undefined) return ctx.skip()
        await clients.create(storedClient('c1', h.now()))
        await clients.create(storedClient('c2', h.now()))
        expect(await clients.delete('c1')).toBe(true)
        expect(await clients.delete('c1')).toBe(false)
        expect(await clients.get('c1')).toBeNull()
        expect((await clients.list({ limit: 10 })).map((c) => c.clientId)).toEqual(['c2'])
        // The id can be registered again.
        expect(await clients.create(storedClient('c1', h.now()))).toBe(true)
      })

      it('lists in pages, in code-point order of the id, after a cursor', async (ctx) => {
        const h = await make()
        const clients = h.storage.clients
        if (clients === undefined) return ctx.skip()
        expect(await clients.list({ limit: 10 })).toEqual([])
        const ids = ['b', 'a', 'a:b', 'B', 'ab', '\uffff', '𝒳', 'é', 'a b']
        for (const id of ids) await clients.create(storedClient(id, h.now()))
        const order = [...ids].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)))
        const seen: string[] = []
        let after: string | undefined
        for (;;) {
          const page = await clients.list({ ...(after !== undefined && { after }), limit: 4 })
          seen.push(...page.map((c) => c.clientId))
          if (page.length < 4) break
          after = page[page.length - 1]!.clientId
        }
        expect(seen).toEqual(order)
        const first = (await clients.list({ limit: 1 }))[0]
        expect(first).toEqual(storedClient(order[0]!, h.now()))
        expect((await clients.list({ after: 'zz', limit: 10 })).map((c) => c.clientId)).toEqual(order.filter((id) => Buffer.compare(Buffer.from(id), Buffer.from('zz')) > 0))
      })

      it('hands out copies: changing a record read or written does not change the stored client', async (ctx) => {
        const h = await make()
        const clients = h.storage.clients
        if (clients === undefined) return ctx.skip()
        const rec = storedClient('c1', h.now())
        await clients.create(rec)
        ;(rec.metadata as { client_name: string }).client_name = 'changed'
        const read = await clients.get('c1')
        ;(read!.metadata.nested as { n: number }).n = 7
        expect(await clients.get('c1')).toEqual(storedClient('c1', h.now()))
      })
    })

    describe('keys (KeyStorage, when the storage has one)', () => {
      it('starts empty and initializes once; later records are ignored', async (ctx) => {
        const h = await make()
        const keys = h.storage.keys
        if (keys === undefined) return ctx.skip()
        expect(await keys.list()).toEqual([])
        const first = signingKey('k1', h.now())
        expect(await keys.initialize(first)).toEqual([first])
        expect(await keys.initialize(signingKey('k2', h.now()))).toEqual([first])
        expect(await keys.list()).toEqual([first])
      })

      it(`agrees on one first key when ${n} starters initialize at once`, async (ctx) => {
        const h = await make()
        const keys = h.storage.keys
        if (keys === undefined) return ctx.skip()
        const results = await times(n, (i) => keys.initialize(signingKey(`k-${i}`, h.now())))
        const kids = new Set(results.map((r) => JSON.stringify(r.map((k) => k.kid))))
        expect(kids.size).toBe(1)
        expect(results[0]).toHaveLength(1)
        expect(await keys.list()).toEqual(results[0])
      })

      it('rotates: adds the next key and retires the ones it replaces, oldest first', async (ctx) => {
        const h = await make()
        const keys = h.storage.keys
        if (keys === undefined) return ctx.skip()
        const now = h.now()
        const k1 = signingKey('k1', now)
        await keys.initialize(k1)
        const k2 = signingKey('k2', now, { activeFrom: now + 300 })
        await keys.rotate(k2, { retiredAt: now + 300, publishedUntil: now + 300 + 3600 })
        expect(await keys.list()).toEqual([{ ...k1, retiredAt: now + 300, publishedUntil: now + 3900 }, k2])
        // A second rotation before k2 signs retires k2 as well; k1 keeps its earlier retirement.
        await h.advance(100)
        const k3 = signingKey('k3', h.now(), { activeFrom: h.now() + 300 })
        await keys.rotate(k3, { retiredAt: h.now() + 300, publishedUntil: h.now() + 3900 })
        expect(await keys.list()).toEqual([
          { ...k1, retiredAt: now + 300, publishedUntil: now + 3900 },
          { ...k2, retiredAt: now + 400, publishedUntil: now + 4000 },
          k3,
        ])
        // A key is listed until its publication ends.
        await h.advance(3799)
        expect((await keys.list()).map((k) => k.kid)).toEqual(['k1', 'k2', 'k3'])
        await h.advance(1)
        expect((await keys.list()).map((k) => k.kid)).toEqual(['k2', 'k3'])
        await h.advance(100)
        expect((await keys.list()).map((k) => k.kid)).toEqual(['k3'])
      })
    })
  })
}
