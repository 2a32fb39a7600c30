import { createDecipheriv } from 'node:crypto'
import { defaults } from '../config/defaults.js'
import { compareKeys, isKeyPublished, isRetiredByRotation } from '../storage/policy.js'
import type { KeyStorage, SigningKeyRecord } from '../storage/types.js'
import { ID_TOKEN_DEFAULT_ALGORITHM, pickScheduled, type KeyStore, type ScheduledKey } from './key-store.js'
import { openKey, parseSealedKey, sealKey, type KeyWrapper } from './key-wrapper.js'
import { exportPrivateJwk, generateSigningKey, importSigningKey, SIGNING_ALGORITHMS, type PrivateJwk, type SigningAlgorithm, type SigningKey } from './signing-key.js'

/** Options of `createSharedKeyStore`. Durations are in seconds. */
export interface SharedKeyStoreOptions {
  /**
   * Algorithm of the generated access-token keys. Default `ES256`. Each record
   * also holds an RS256 key for ID tokens (OIDC Core §3.1.3.7), unless this is RS256.
   */
  algorithm?: SigningAlgorithm
  /**
   * Seconds between background reloads of the keys from storage. Must be less
   * than `publishLead`, so that a key rotated by another process is loaded
   * (and published) here before it starts to sign. Default 60.
   */
  refreshInterval?: number
  /**
   * Seconds between a rotation and the moment the new key signs. Meanwhile it
   * is only published, so relying parties and the other processes learn it
   * first. Should exceed `refreshInterval` + the JWKS cache lifetime
   * (`metadataMaxAge`). Default 600.
   */
  publishLead?: number
  /**
   * Seconds a retired key stays published: the longest lifetime of anything it
   * signed (access and ID tokens). Default 3600 (`ttl.accessToken`, `ttl.idToken`).
   */
  maxTokenLifetime?: number
  /**
   * Required. The key-encryption key(s) that seal private keys before they
   * reach the storage (AES-256-GCM with `createAesKeyWrapper`, or a KMS through
   * the `KeyWrapper` interface). The first seals new keys; the others only
   * open records they sealed, so a key-encryption key can be rotated: put the
   * new one first, keep the old one until `grantkit keys seal` (or
   * `sealKeyRecords`) has re-sealed every record, then drop it. Records that
   * are not sealed, or sealed by none of these, are refused.
   */
  keyEncryption: KeyWrapper | readonly KeyWrapper[]
  /** Clock in seconds since the epoch. Default: the system clock. */
  now?: () => number
  /** Told about failed background refreshes (the last keys loaded stay in use). Default: ignored. */
  onError?: (error: unknown) => void
}

/** A key store shared through a `KeyStorage`: synchronous reads from memory, refreshed in the background. */
export interface SharedKeyStore extends KeyStore {
  /** The key that signs with `alg` at `now` (RS256 for ID tokens by default), or undefined. */
  signingKeyFor(alg: SigningAlgorithm, now: number): SigningKey | undefined
  /**
   * Schedules a new key: published at once, signing from `now + publishLead`,
   * when the current key retires; the retired key stays published for
   * `maxTokenLifetime` more. Other processes pick it up at their next refresh.
   */
  rotate(): Promise<SigningKey>
  /** Reloads the keys from storage now. */
  refresh(): Promise<void>
  /** Stops the background refresh. */
  close(): void
}

const pickSigningKey = pickScheduled

const published = (s: ScheduledKey, now: number): boolean => isKeyPublished(s, now)

function seconds(value: unknown, path: string, positive: boolean): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (positive && value === 0)) {
    throw new TypeError(`${path}: must be a ${positive ? 'positive' : 'non-negative'} number of seconds`)
  }
  return value
}

/**
 * The private keys of one record: a key set `{"keys": [...]}` whose first key
 * has the record's kid and signs access tokens, followed by the ID-token
 * companion (RS256, OIDC Core §3.1.3.7). Records written before companions
 * hold a single JWK.
 */
function parseKeySet(text: string, kid: string): PrivateJwk[] {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (cause) {
    throw new Error(`shared keys: key "${kid}" does not hold JSON`, { cause })
  }
  if (typeof parsed !== 'object' || parsed === null) throw new Error(`shared keys: key "${kid}" does not hold a JWK`)
  const set = (parsed as { keys?: unknown }).keys
  if (set === undefined) return [parsed as PrivateJwk]
  if (!Array.isArray(set) || set.length === 0) throw new Error(`shared keys: key "${kid}" holds an empty key set`)
  return set as PrivateJwk[]
}

/** The algorithms of one record's keys: the access-token algorithm, then RS256 for ID tokens unless it is the same. */
function generationAlgorithms(algorithm: SigningAlgorithm): SigningAlgorithm[] {
  return algorithm === ID_TOKEN_DEFAULT_ALGORITHM ? [algorithm] : [algorithm, ID_TOKEN_DEFAULT_ALGORITHM]
}

class SharedKeys implements SharedKeyStore {
  private schedule: ScheduledKey[] = []
  /** Imported keys by record kid: each record is opened and its keys imported once. */
  private imported = new Map<string, SigningKey[]>()
  private timer: ReturnType<typeof setInterval> | undefined
  private inflight: Promise<void> | undefined
  private lastKick = 0

  constructor(
    private readonly storage: KeyStorage,
    private readonly algorithm: SigningAlgorithm,
    private readonly refreshInterval: number,
    private readonly publishLead: number,
    private readonly maxTokenLifetime: number,
    private readonly wrappers: readonly KeyWrapper[],
    private readonly now: () => number,
    private readonly onError: (error: unknown) => void,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.refresh().catch(this.onError), this.refreshInterval * 1000)
    // A background refresh must not keep the process alive.
    this.timer.unref()
  }

  signingKey(now: number): SigningKey {
    const s = pickSigningKey(this.schedule.filter((e) => e.key.alg === this.algorithm), now)
    if (s === undefined) throw new Error('shared keys: no key loaded')
    return s.key
  }

  signingKeyFor(alg: SigningAlgorithm, now: number): SigningKey | undefined {
    return pickSigningKey(this.schedule.filter((e) => e.key.alg === alg), now)?.key
  }

  publishedKeys(now: number): readonly SigningKey[] {
    return this.schedule.filter((s) => published(s, now)).map((s) => s.key)
  }

  findKey(kid: string, now: number): SigningKey | undefined {
    for (const s of this.schedule) if (s.key.kid === kid && published(s, now)) return s.key
    // Perhaps another process rotated since the last refresh: look again soon, at most every few seconds.
    if (Date.now() - this.lastKick > 5000 && !this.schedule.some((s) => s.key.kid === kid)) {
      this.lastKick = Date.now()
      void this.refresh().catch(this.onError)
    }
    return undefined
  }

  refresh(): Promise<void> {
    // Concurrent callers share one load.
    this.inflight ??= this.load().finally(() => {
      this.inflight = undefined
    })
    return this.inflight
  }

  private async load(): Promise<void> {
    let records = await this.storage.list()
    if (records.length === 0) {
      // Processes starting together agree on one first key through initialize().
      const now = this.now()
      records = await this.storage.initialize(await this.record(this.generate(), now, now))
    }
    const imported = new Map<string, SigningKey[]>()
    const schedule: ScheduledKey[] = []
    for (const r of records) {
      let keys = this.imported.get(r.kid)
      if (keys === undefined) {
        keys = parseKeySet(await openKey(r.privateJwk, r.kid, this.wrappers), r.kid).map((jwk) => importSigningKey(jwk))
        if (keys[0]!.kid !== r.kid) throw new Error(`shared keys: record "${r.kid}" holds a key with kid "${keys[0]!.kid}"`)
      }
      imported.set(r.kid, keys)
      for (const key of keys) {
        schedule.push({
          key,
          activeFrom: r.activeFrom,
          ...(r.retiredAt !== undefined && r.retiredAt !== null && { retiredAt: r.retiredAt }),
          ...(r.publishedUntil !== undefined && r.publishedUntil !== null && { publishedUntil: r.publishedUntil }),
        })
      }
    }
    if (schedule.length === 0) throw new Error('shared keys: the key storage returned no key')
    // Swap both at once, so the synchronous readers never see half a refresh.
    this.imported = imported
    this.schedule = schedule
  }

  private generate(): SigningKey[] {
    return generationAlgorithms(this.algorithm).map((alg) => generateSigningKey(alg))
  }

  /** A record for a generation of keys, sealed with the current key-encryption key; its kid is the access-token key's. */
  private async record(keys: SigningKey[], activeFrom: number, now: number): Promise<SigningKeyRecord> {
    const kid = keys[0]!.kid
    return {
      kid,
      privateJwk: await sealKey(JSON.stringify({ keys: keys.map(exportPrivateJwk) }), kid, this.wrappers[0]!),
      activeFrom,
      createdAt: now,
    }
  }

  async rotate(): Promise<SigningKey> {
    const now = this.now()
    // The ID-token key rotates with the access-token key: both live in one record, under one schedule.
    const keys = this.generate()
    const activeFrom = now + this.publishLead
    await this.storage.rotate(await this.record(keys, activeFrom, now), { retiredAt: activeFrom, publishedUntil: activeFrom + this.maxTokenLifetime })
    this.imported.set(keys[0]!.kid, keys)
    await this.refresh()
    return keys[0]!
  }

  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
  }
}

function wrappersOf(value: unknown): KeyWrapper[] {
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value]
  if (list.length === 0) {
    throw new TypeError('keyEncryption: required: the key-encryption key(s) that seal private keys in shared storage, e.g. createAesKeyWrapper(32 random bytes)')
  }
  const ids = new Set<string>()
  for (const w of list as KeyWrapper[]) {
    if (typeof w !== 'object' || w === null || typeof w.id !== 'string' || w.id === '' || typeof w.wrap !== 'function' || typeof w.unwrap !== 'function') {
      throw new TypeError('keyEncryption: each must be a KeyWrapper { id, wrap, unwrap }, e.g. createAesKeyWrapper(key)')
    }
    if (ids.has(w.id)) throw new TypeError(`keyEncryption: id "${w.id}" appears twice`)
    ids.add(w.id)
  }
  return list as KeyWrapper[]
}

/**
 * A key store for several processes acting as one server: keys live in a
 * `KeyStorage` (for example `createPostgresStorage(...).keys`), sealed with
 * `keyEncryption`, and are held in memory, opened and imported once each, for
 * the synchronous `KeyStore` methods. Each record holds the access-token key
 * (`algorithm`) and an RS256 key for ID tokens, rotated together. The first
 * process to start creates the first record; a background timer (unref'd)
 * reloads the keys every `refreshInterval` seconds, so a key another process
 * rotated in is published here before it signs, as long as `refreshInterval`
 * is less than `publishLead`.
 *
 * @example
 * const storage = createPostgresStorage({ pool })
 * const kek = createAesKeyWrapper(Buffer.from(process.env.GRANTKIT_KEY_ENCRYPTION_KEY!, 'base64url'))
 * const keys = await createSharedKeyStore(storage.keys, { keyEncryption: kek })
 * const server = createAuthorizationServer({ issuer, clients, storage, keys })
 * // later, in one process only: await keys.rotate()
 */
export async function createSharedKeyStore(keyStorage: KeyStorage, options: SharedKeyStoreOptions): Promise<SharedKeyStore> {
  if (typeof keyStorage !== 'object' || keyStorage === null || typeof keyStorage.list !== 'function' || typeof keyStorage.initialize !== 'function' || typeof keyStorage.rotate !== 'function') {
    throw new TypeError('keyStorage: must be a KeyStorage (list, initialize, rotate), e.g. storage.keys')
  }
  if (typeof options !== 'object' || options === null) throw new TypeError('options: required, with keyEncryption')
  if ('encryptionKey' in options) {
    throw new TypeError('encryptionKey: replaced by keyEncryption: createAesKeyWrapper(key); records sealed with encryptionKey are re-sealed by "grantkit keys seal" / sealKeyRecords({ legacyEncryptionKey })')
  }
  const wrappers = wrappersOf(options.keyEncryption)
  const algorithm = options.algorithm ?? defaults.signingAlgorithm
  if (!SIGNING_ALGORITHMS.includes(algorithm)) throw new TypeError(`algorithm: must be one of ${SIGNING_ALGORITHMS.join(', ')}`)
  const refreshInterval = seconds(options.refreshInterval ?? 60, 'refreshInterval', true)
  const publishLead = seconds(options.publishLead ?? 600, 'publishLead', false)
  const maxTokenLifetime = seconds(options.maxTokenLifetime ?? Math.max(defaults.ttl.accessToken, defaults.ttl.idToken), 'maxTokenLifetime', false)
  if (refreshInterval >= publishLead) {
    throw new TypeError('refreshInterval: must be less than publishLead, or a key rotated elsewhere could sign before this process publishes it')
  }
  const now = options.now ?? (() => Date.now() / 1000)
  const store = new SharedKeys(keyStorage, algorithm, refreshInterval, publishLead, maxTokenLifetime, wrappers, now, options.onError ?? (() => {}))
  await store.refresh()
  store.start()
  return store
}

/** What `sealKeyRecords` did, by record kid. */
export interface SealReport {
  /** Records that were plain (or sealed by a key-encryption key other than the current one) and are now sealed with the current one. */
  sealed: string[]
  /** Records already sealed with the current key-encryption key. */
  unchanged: string[]
}

/**
 * The one-time conversion of an existing deployment (`grantkit keys seal`):
 * every plain record is sealed with the first of `keyEncryption`, and records
 * sealed with an older key-encryption key in the list are re-sealed with the
 * first (key-encryption key rotation). A plain record also gains an RS256
 * ID-token key. Running it again changes nothing. Each record is replaced
 * with a compare-and-swap (`KeyStorage.replace`), so servers may keep running.
 *
 * @example
 * const report = await sealKeyRecords(storage.keys, { keyEncryption: createAesKeyWrapper(kek) })
 */
export async function sealKeyRecords(
  keyStorage: KeyStorage,
  options: { keyEncryption: KeyWrapper | readonly KeyWrapper[]; legacyEncryptionKey?: Uint8Array },
): Promise<SealReport> {
  const wrappers = wrappersOf(options.keyEncryption)
  if (typeof keyStorage?.replace !== 'function') throw new TypeError('keyStorage: must implement replace() to be sealed in place')
  const current = wrappers[0]!
  const report: SealReport = { sealed: [], unchanged: [] }
  for (const r of await keyStorage.list()) {
    const sealed = parseSealedKey(r.privateJwk)
    if (sealed?.kek === current.id) {
      report.unchanged.push(r.kid)
      continue
    }
    let plaintext: string
    if (sealed !== undefined) plaintext = await openKey(r.privateJwk, r.kid, wrappers)
    else {
      const legacy = openLegacy(r, options.legacyEncryptionKey)
      const keys = parseKeySet(legacy, r.kid).map((jwk) => importSigningKey(jwk))
      if (keys[0]!.kid !== r.kid) throw new Error(`shared keys: record "${r.kid}" holds a key with kid "${keys[0]!.kid}"`)
      // Records from before the ID-token companion gain one (OIDC Core §3.1.3.7: RS256 by default).
      if (!keys.some((k) => k.alg === ID_TOKEN_DEFAULT_ALGORITHM)) keys.push(generateSigningKey(ID_TOKEN_DEFAULT_ALGORITHM))
      plaintext = JSON.stringify({ keys: keys.map(exportPrivateJwk) })
    }
    const next = await sealKey(plaintext, r.kid, current)
    // Another process sealing at the same instant wins the swap; its record is as good as ours.
    if (await keyStorage.replace(r.kid, r.privateJwk, next)) report.sealed.push(r.kid)
    else report.unchanged.push(r.kid)
  }
  return report
}

/** A plain record's text, or one sealed by 0.1's `encryptionKey` (AES-256-GCM, the kid as associated data). */
function openLegacy(r: SigningKeyRecord, key: Uint8Array | undefined): string {
  let parsed: { enc?: unknown; iv?: unknown; ciphertext?: unknown; tag?: unknown }
  try {
    parsed = JSON.parse(r.privateJwk) as typeof parsed
  } catch (cause) {
    throw new Error(`shared keys: key "${r.kid}" does not hold JSON`, { cause })
  }
  if (parsed?.enc === undefined) return r.privateJwk
  if (key === undefined) throw new Error(`shared keys: key "${r.kid}" is sealed with a 0.1 encryptionKey; pass it as legacyEncryptionKey`)
  if (parsed.enc !== 'A256GCM' || typeof parsed.iv !== 'string' || typeof parsed.ciphertext !== 'string' || typeof parsed.tag !== 'string') {
    throw new Error(`shared keys: key "${r.kid}" is sealed in an unknown format`)
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(parsed.iv, 'base64url'))
    decipher.setAAD(Buffer.from(r.kid, 'utf8'))
    decipher.setAuthTag(Buffer.from(parsed.tag, 'base64url'))
    return Buffer.concat([decipher.update(Buffer.from(parsed.ciphertext, 'base64url')), decipher.final()]).toString('utf8')
  } catch (cause) {
    throw new Error(`shared keys: key "${r.kid}" cannot be decrypted with this legacyEncryptionKey`, { cause })
  }
}

/**
 * A `KeyStorage` in memory, for tests and single-process use of
 * `createSharedKeyStore`. Shares nothing between processes.
 *
 * @example
 * const keys = await createSharedKeyStore(createMemoryKeyStorage(), { keyEncryption: createAesKeyWrapper(randomBytes(32)) })
 */
export function createMemoryKeyStorage(options: { now?: () => number } = {}): KeyStorage {
  const now = options.now ?? (() => Date.now() / 1000)
  let records: SigningKeyRecord[] = []
  const live = (): SigningKeyRecord[] => records.filter((r) => isKeyPublished(r, now())).sort(compareKeys)
  const list = (): SigningKeyRecord[] => live().map((r) => ({ ...r }))
  return {
    async list() {
      return list()
    },
    async initialize(record) {
      if (live().length === 0) records = [{ ...record }]
      return list()
    },
    async rotate(record, retire) {
      if (records.some((r) => r.kid === record.kid)) throw new Error(`key storage: kid "${record.kid}" exists`)
      for (const r of records) {
        if (isRetiredByRotation(r, retire.retiredAt)) {
          r.retiredAt = retire.retiredAt
          r.publishedUntil = retire.publishedUntil
        }
      }
      records = [...live(), { ...record }]
    },
    async replace(kid, from, to) {
      const r = records.find((x) => x.kid === kid)
      if (r === undefined || r.privateJwk !== from) return false
      r.privateJwk = to
      return true
    },
  }
}
