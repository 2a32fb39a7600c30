import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { afterEach, describe, expect, it } from 'vitest'
import { createMemoryStorage, type KeyStorage, type SigningKeyRecord, type Storage } from '../../src/index.js'
import { createMemoryKeyStorage, createSharedKeyStore, sealKeyRecords, type SharedKeyStore, type SharedKeyStoreOptions } from '../../src/keys/shared-key-store.js'
import { createAesKeyWrapper, type KeyWrapper } from '../../src/keys/key-wrapper.js'
import { exportPrivateJwk, generateSigningKey } from '../../src/keys/signing-key.js'
import { createPostgresStorage } from '../../src/storage/postgres/index.js'
import { basic, fakeClock, json, makeServer, tokenRequest } from '../helpers.js'
import { describePostgres, pgTables, POSTGRES_URL } from '../storage/pg-harness.js'
import { validateAccessToken } from '../../src/tokens/validate.js'
import { contextOf } from '../../src/server.js'

const open: SharedKeyStore[] = []
afterEach(() => {
  for (const s of open.splice(0)) s.close()
})

/** The key-encryption key of these tests' stores unless a test gives its own. */
const KEK = createAesKeyWrapper(randomBytes(32))

async function store(storage: KeyStorage, clock: { now: () => number }, options: Partial<SharedKeyStoreOptions> = {}): Promise<SharedKeyStore> {
  const s = await createSharedKeyStore(storage, { now: clock.now, keyEncryption: KEK, ...options })
  open.push(s)
  return s
}

/** A KeyStorage that counts list() calls. */
function counting(inner: KeyStorage): KeyStorage & { lists: number } {
  const c = {
    lists: 0,
    list: () => {
      c.lists++
      return inner.list()
    },
    initialize: (r: SigningKeyRecord) => inner.initialize(r),
    rotate: (r: SigningKeyRecord, retire: { retiredAt: number; publishedUntil: number }) => inner.rotate(r, retire),
  }
  return c
}

/** Issues a JWT access token at one server and checks it at another, through the core and through jose with its JWKS. */
async function issuedHereVerifiesThere(storage: Storage, here: SharedKeyStore, there: SharedKeyStore, now: () => number): Promise<string> {
  const a = makeServer({ storage, keys: here, deps: { now, randomId: () => randomBytes(8).toString('hex') } }).server
  const b = makeServer({ storage, keys: there, deps: { now, randomId: () => randomBytes(8).toString('hex') } }).server
  const res = await a.token(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('svc', 'svc-secret') }))
  expect(res.status).toBe(200)
  const token = json(res).access_token as string
  expect(await validateAccessToken(contextOf(b), token)).toMatchObject({ clientId: 'svc', format: 'jwt' })
  const jwks = JSON.parse(b.jwks({ method: 'GET', url: new URL(b.endpoints.jwks!), headers: {} }).body!)
  const { protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), { currentDate: new Date(now() * 1000) })
  return protectedHeader.kid!
}

describe('shared key store', () => {
  it('creates one first key when the storage is empty, and signs and publishes it', async () => {
    const clock = fakeClock()
    const keys = createMemoryKeyStorage({ now: clock.now })
    const s = await store(keys, clock)
    const key = s.signingKey(clock.now())
    expect(s.publishedKeys(clock.now()).map((k) => k.kid)).toEqual([key.kid, s.signingKeyFor('RS256', clock.now())!.kid])
    expect(s.findKey(key.kid, clock.now())).toBe(key)
    expect(key.alg).toBe('ES256')
    const [record] = await keys.list()
    expect(record).toMatchObject({ kid: key.kid, activeFrom: clock.now() })
    expect(JSON.parse(record!.privateJwk)).toEqual({ sealed: 'grantkit/1', kek: KEK.id, data: expect.any(String) })
  })

  it('lets processes that start together agree on one first key', async () => {
    const clock = fakeClock()
    const keys = createMemoryKeyStorage({ now: clock.now })
    const stores = await Promise.all(Array.from({ length: 10 }, () => store(keys, clock, { algorithm: 'EdDSA' })))
    expect(new Set(stores.map((s) => s.signingKey(clock.now()).kid)).size).toBe(1)
    expect(await keys.list()).toHaveLength(1)
  })

  it('imports each key once: refreshes keep the same key objects', async () => {
    const clock = fakeClock()
    const s = await store(createMemoryKeyStorage({ now: clock.now }), clock)
    const before = s.signingKey(clock.now())
    await s.refresh()
    await s.refresh()
    expect(s.signingKey(clock.now())).toBe(before)
  })

  it('publishes a key rotated elsewhere before it signs, then signs with it, and keeps the old one published', async () => {
    const clock = fakeClock()
    const keys = createMemoryKeyStorage({ now: clock.now })
    const a = await store(keys, clock, { publishLead: 300, maxTokenLifetime: 3600 })
    const b = await store(keys, clock, { publishLead: 300, maxTokenLifetime: 3600 })
    const old = a.signingKey(clock.now())
    const next = await a.rotate()
    const es = (s: SharedKeyStore): string[] => s.publishedKeys(clock.now()).filter((k) => k.alg === 'ES256').map((k) => k.kid)
    expect(es(a)).toEqual([old.kid, next.kid])
    // The RS256 ID-token key rotates with it, on the same schedule.
    const oldId = a.signingKeyFor('RS256', clock.now())!
    expect(a.publishedKeys(clock.now()).filter((k) => k.alg === 'RS256')).toHaveLength(2)
    expect(a.signingKeyFor('RS256', clock.now() + 300)!.kid).not.toBe(oldId.kid)
    expect(a.findKey(oldId.kid, clock.now() + 300 + 3599)?.kid).toBe(oldId.kid)
    expect(a.findKey(oldId.kid, clock.now() + 300 + 3600)).toBeUndefined()
    expect(a.signingKey(clock.now()).kid).toBe(old.kid)
    // b learns of it at its next refresh, long before it signs.
    expect(b.findKey(next.kid, clock.now())).toBeUndefined()
    await b.refresh()
    expect(es(b)).toEqual([old.kid, next.kid])
    expect(b.signingKey(clock.now() + 299).kid).toBe(old.kid)
    expect(b.signingKey(clock.now() + 300).kid).toBe(next.kid)
    expect(a.signingKey(clock.now() + 300).kid).toBe(next.kid)
    expect(b.findKey(old.kid, clock.now() + 300 + 3599)?.kid).toBe(old.kid)
    expect(b.findKey(old.kid, clock.now() + 300 + 3600)).toBeUndefined()
  })

  it('refreshes in the background and stops when closed', async () => {
    const clock = fakeClock()
    const keys = counting(createMemoryKeyStorage({ now: clock.now }))
    const a = await store(keys, clock, { refreshInterval: 0.02, publishLead: 1 })
    const b = await store(keys, clock, { refreshInterval: 0.02, publishLead: 1 })
    const next = await a.rotate()
    await expect.poll(() => b.findKey(next.kid, clock.now())?.kid).toBe(next.kid)
    a.close()
    b.close()
    const lists = keys.lists
    await new Promise((r) => setTimeout(r, 100))
    expect(keys.lists).toBe(lists)
  })

  it('looks again soon when asked for a kid it does not know', async () => {
    const clock = fakeClock()
    const keys = createMemoryKeyStorage({ now: clock.now })
    const a = await store(keys, clock)
    const b = await store(keys, clock)
    const next = await a.rotate()
    expect(b.findKey(next.kid, clock.now())).toBeUndefined()
    await expect.poll(() => b.findKey(next.kid, clock.now())?.kid).toBe(next.kid)
  })

  it('stores every private key sealed: no "d" member, nothing that parses as a JWK', async () => {
    const clock = fakeClock()
    const keys = createMemoryKeyStorage({ now: clock.now })
    const s = await store(keys, clock)
    await s.rotate()
    const records = await keys.list()
    expect(records).toHaveLength(2)
    for (const r of records) {
      expect(r.privateJwk).not.toMatch(/"d"|"kty"|"keys"/)
      const sealed = JSON.parse(r.privateJwk)
      expect(Object.keys(sealed).sort()).toEqual(['data', 'kek', 'sealed'])
      expect(() => JSON.parse(Buffer.from(sealed.data, 'base64url').toString('utf8'))).toThrow()
    }
  })

  it('refuses a plain (unsealed) record, naming the command that seals it', async () => {
    const clock = fakeClock()
    const planted = createMemoryKeyStorage({ now: clock.now })
    const key = generateSigningKey('ES256')
    // SECURITY: whoever can write the table must not be able to plant a signing key.
    await planted.initialize({ kid: key.kid, privateJwk: JSON.stringify(exportPrivateJwk(key)), activeFrom: clock.now(), createdAt: clock.now() })
    await expect(createSharedKeyStore(planted, { now: clock.now, keyEncryption: KEK })).rejects.toThrow(/not sealed; run "grantkit keys seal/)
  })

  it('opens a record sealed with key-encryption key A with [A, B] but not with [B]; new keys are sealed with the first', async () => {
    const clock = fakeClock()
    const keys = createMemoryKeyStorage({ now: clock.now })
    const a = createAesKeyWrapper(randomBytes(32))
    const b = createAesKeyWrapper(randomBytes(32))
    const first = await store(keys, clock, { keyEncryption: a })
    const kid = first.signingKey(clock.now()).kid
    expect(JSON.parse((await keys.list())[0]!.privateJwk).kek).toBe(a.id)
    const both = await store(keys, clock, { keyEncryption: [b, a] })
    expect(both.signingKey(clock.now()).kid).toBe(kid)
    const next = await both.rotate()
    const records = await keys.list()
    expect(JSON.parse(records.find((r) => r.kid === next.kid)!.privateJwk).kek).toBe(b.id)
    await expect(createSharedKeyStore(keys, { now: clock.now, keyEncryption: b })).rejects.toThrow(new RegExp(`sealed with key-encryption key "${a.id}", which is not among`))
    // A wrapper with the same id but another key fails authentication.
    await expect(createSharedKeyStore(keys, { now: clock.now, keyEncryption: [b, createAesKeyWrapper(randomBytes(32), a.id)] })).rejects.toThrow(/cannot be opened/)
  })

  it('refuses a sealed key whose ciphertext was altered, or that was moved to another kid', async () => {
    const clock = fakeClock()
    const keys = createMemoryKeyStorage({ now: clock.now })
    await store(keys, clock)
    const [record] = await keys.list()
    const sealed = JSON.parse(record!.privateJwk)
    const bytes = Buffer.from(sealed.data, 'base64url')
    bytes[20] = bytes[20]! ^ 1
    const tampered = createMemoryKeyStorage({ now: clock.now })
    await tampered.initialize({ ...record!, privateJwk: JSON.stringify({ ...sealed, data: bytes.toString('base64url') }) })
    await expect(createSharedKeyStore(tampered, { now: clock.now, keyEncryption: KEK })).rejects.toThrow(/cannot be opened/)
    // The kid is associated data: the same blob under another record does not open.
    const moved = createMemoryKeyStorage({ now: clock.now })
    await moved.initialize({ ...record!, kid: 'other' })
    await expect(createSharedKeyStore(moved, { now: clock.now, keyEncryption: KEK })).rejects.toThrow(/"other" cannot be opened/)
  })

  it('sealKeyRecords seals plain records once (adding an RS256 ID-token key), re-seals older key-encryption keys, and is idempotent', async () => {
    const clock = fakeClock()
    const keys = createMemoryKeyStorage({ now: clock.now })
    const old = generateSigningKey('ES256')
    await keys.initialize({ kid: old.kid, privateJwk: JSON.stringify(exportPrivateJwk(old)), activeFrom: clock.now(), createdAt: clock.now() })
    expect(await sealKeyRecords(keys, { keyEncryption: KEK })).toEqual({ sealed: [old.kid], unchanged: [] })
    expect(await sealKeyRecords(keys, { keyEncryption: KEK })).toEqual({ sealed: [], unchanged: [old.kid] })
    const s = await store(keys, clock)
    expect(s.signingKey(clock.now()).kid).toBe(old.kid)
    expect(s.signingKeyFor('RS256', clock.now())?.alg).toBe('RS256')
    // Rotating the key-encryption key: the new one first, the old one to open.
    const next = createAesKeyWrapper(randomBytes(32))
    expect(await sealKeyRecords(keys, { keyEncryption: [next, KEK] })).toEqual({ sealed: [old.kid], unchanged: [] })
    expect((await store(keys, clock, { keyEncryption: next })).signingKey(clock.now()).kid).toBe(old.kid)
  })

  it('sealKeyRecords opens records sealed with the 0.1 encryptionKey when given it', async () => {
    const clock = fakeClock()
    const { createCipheriv } = await import('node:crypto')
    const legacyKey = randomBytes(32)
    const key = generateSigningKey('ES256')
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', legacyKey, iv)
    cipher.setAAD(Buffer.from(key.kid))
    const ct = Buffer.concat([cipher.update(JSON.stringify(exportPrivateJwk(key))), cipher.final()])
    const keys = createMemoryKeyStorage({ now: clock.now })
    const privateJwk = JSON.stringify({ enc: 'A256GCM', iv: iv.toString('base64url'), ciphertext: ct.toString('base64url'), tag: cipher.getAuthTag().toString('base64url') })
    await keys.initialize({ kid: key.kid, privateJwk, activeFrom: clock.now(), createdAt: clock.now() })
    await expect(sealKeyRecords(keys, { keyEncryption: KEK })).rejects.toThrow(/legacyEncryptionKey/)
    expect(await sealKeyRecords(keys, { keyEncryption: KEK, legacyEncryptionKey: legacyKey })).toEqual({ sealed: [key.kid], unchanged: [] })
    expect((await store(keys, clock)).signingKey(clock.now()).kid).toBe(key.kid)
  })

  it('lets a KMS do the wrapping through the KeyWrapper interface', async () => {
    const clock = fakeClock()
    const calls: string[] = []
    const inner = createAesKeyWrapper(randomBytes(32))
    const kms: KeyWrapper = {
      id: 'kms-1',
      wrap: (p, aad) => (calls.push('wrap'), inner.wrap(p, aad)),
      unwrap: (w, aad) => (calls.push('unwrap'), inner.unwrap(w, aad)),
    }
    const keys = createMemoryKeyStorage({ now: clock.now })
    await store(keys, clock, { keyEncryption: kms })
    await store(keys, clock, { keyEncryption: kms })
    expect(calls).toEqual(['wrap', 'unwrap', 'unwrap'])
    expect(JSON.parse((await keys.list())[0]!.privateJwk).kek).toBe('kms-1')
  })

  it('refuses a record whose key has another kid', async () => {
    const clock = fakeClock()
    const plain = createMemoryKeyStorage({ now: clock.now })
    await store(plain, clock)
    const record = (await plain.list())[0]!
    const forged = createMemoryKeyStorage({ now: clock.now })
    // Sealed for its new kid, so that only the kid check can catch it.
    const { sealKey, openKey } = await import('../../src/keys/key-wrapper.js')
    const text = await openKey(record.privateJwk, record.kid, [KEK])
    await forged.initialize({ ...record, kid: 'not-its-kid', privateJwk: await sealKey(text, 'not-its-kid', KEK) })
    await expect(createSharedKeyStore(forged, { now: clock.now, keyEncryption: KEK })).rejects.toThrow(/holds a key with kid/)
  })

  it('keeps the keys it has when a background refresh fails, and reports it', async () => {
    const clock = fakeClock()
    const inner = createMemoryKeyStorage({ now: clock.now })
    let fail = false
    const flaky: KeyStorage = { ...inner, list: () => (fail ? Promise.reject(new Error('down')) : inner.list()) }
    const errors: unknown[] = []
    const s = await store(flaky, clock, { refreshInterval: 0.02, publishLead: 1, onError: (e) => errors.push(e) })
    const key = s.signingKey(clock.now())
    fail = true
    await expect.poll(() => errors.length).toBeGreaterThan(0)
    expect(s.signingKey(clock.now())).toBe(key)
    await expect(s.refresh()).rejects.toThrow('down')
  })

  it('checks its options', async () => {
    const keys = createMemoryKeyStorage()
    const keyEncryption = KEK
    await expect(createSharedKeyStore(keys, { keyEncryption, refreshInterval: 600, publishLead: 600 })).rejects.toThrow(/refreshInterval.*publishLead/)
    expect(() => createAesKeyWrapper(randomBytes(16))).toThrow(/32 bytes/)
    await expect(createSharedKeyStore(keys, {} as never)).rejects.toThrow(/keyEncryption: required/)
    await expect(createSharedKeyStore(keys, { keyEncryption: [] })).rejects.toThrow(/keyEncryption: required/)
    await expect(createSharedKeyStore(keys, { keyEncryption: [KEK, KEK] })).rejects.toThrow(/appears twice/)
    await expect(createSharedKeyStore(keys, { keyEncryption, encryptionKey: randomBytes(32) } as never)).rejects.toThrow(/encryptionKey: replaced by keyEncryption/)
    await expect(createSharedKeyStore(keys, { keyEncryption, algorithm: 'HS256' as never })).rejects.toThrow(/algorithm/)
    await expect(createSharedKeyStore({} as never, { keyEncryption })).rejects.toThrow(/keyStorage/)
    await expect(createSharedKeyStore(keys, { keyEncryption, refreshInterval: 0 })).rejects.toThrow(/refreshInterval/)
  })

  it('signs at one server what another server sharing the keys verifies', async () => {
    const clock = fakeClock()
    const storage = createMemoryStorage({ now: clock.now })
    const keys = createMemoryKeyStorage({ now: clock.now })
    const a = await store(keys, clock)
    const b = await store(keys, clock)
    expect(await issuedHereVerifiesThere(storage, a, b, clock.now)).toBe(a.signingKey(clock.now()).kid)
    // One RS256 ID-token key for both: an ID token signed at a verifies with b's JWKS.
    const idKey = a.signingKeyFor('RS256', clock.now())!
    expect(b.signingKeyFor('RS256', clock.now())).toBe(b.findKey(idKey.kid, clock.now()))
    expect(b.findKey(idKey.kid, clock.now())?.alg).toBe('RS256')
  })
})

describePostgres('shared key store on PostgreSQL', () => {
  const db = pgTables()

  it('two processes on one database sign tokens that verify at the other, and pick up each other’s rotation', async () => {
    const clock = fakeClock()
    const prefix = await db.fresh()
    // Two pools: as two processes would have.
    const poolA = new pg.Pool({ connectionString: POSTGRES_URL })
    const poolB = new pg.Pool({ connectionString: POSTGRES_URL })
    try {
      const storageA = createPostgresStorage({ pool: poolA, tablePrefix: prefix, now: clock.now })
      const storageB = createPostgresStorage({ pool: poolB, tablePrefix: prefix, now: clock.now })
      const options = { publishLead: 300, maxTokenLifetime: 3600 }
      const [a, b] = await Promise.all([store(storageA.keys, clock, options), store(storageB.keys, clock, options)])
      const first = a.signingKey(clock.now()).kid
      expect(b.signingKey(clock.now()).kid).toBe(first)
      expect(await issuedHereVerifiesThere(storageA, a, b, clock.now)).toBe(first)
      expect(await issuedHereVerifiesThere(storageB, b, a, clock.now)).toBe(first)

      const next = await a.rotate()
      await b.refresh()
      expect(b.publishedKeys(clock.now()).filter((k) => k.alg === 'ES256').map((k) => k.kid)).toEqual([first, next.kid])
      clock.advance(300)
      expect(a.signingKey(clock.now()).kid).toBe(next.kid)
      expect(b.signingKey(clock.now()).kid).toBe(next.kid)
      expect(await issuedHereVerifiesThere(storageB, b, a, clock.now)).toBe(next.kid)
      expect(await issuedHereVerifiesThere(storageA, a, b, clock.now)).toBe(next.kid)
      // No private key material in the table: no "d" member, nothing that parses as a JWK.
      const stored = await db.pool.query(`SELECT private_jwk FROM ${prefix}signing_keys`)
      expect(stored.rows).toHaveLength(2)
      for (const row of stored.rows) {
        expect(row.private_jwk).not.toMatch(/"d"|"kty"/)
        expect(JSON.parse(row.private_jwk)).toEqual({ sealed: 'grantkit/1', kek: KEK.id, data: expect.any(String) })
      }
    } finally {
      await Promise.all([poolA.end(), poolB.end()])
      await db.drop(prefix)
    }
  })
})
