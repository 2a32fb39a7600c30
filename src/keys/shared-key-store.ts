import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { defaults } from '../config/defaults.js'
import { compareKeys, isKeyPublished, isRetiredByRotation } from '../storage/policy.js'
import type { KeyStorage, SigningKeyRecord } from '../storage/types.js'
import type { KeyStore, ScheduledKey } from './key-store.js'
import { exportPrivateJwk, generateSigningKey, importSigningKey, SIGNING_ALGORITHMS, type PrivateJwk, type SigningAlgorithm, type SigningKey } from './signing-key.js'

/** Options of `createSharedKeyStore`. Durations are in seconds. */
export interface SharedKeyStoreOptions {
  /** Algorithm of generated keys. Default `ES256`. */
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
   * 32 bytes: private JWKs are sealed with AES-256-GCM (the kid as associated
   * data) before they reach the storage. With a key set, records that are not
   * sealed with it are refused, so whoever can write the table cannot plant a
   * signing key. Default: none (private JWKs stored as JSON text).
   */
  encryptionKey?: Uint8Array
  /** Clock in seconds since the epoch. Default: the system clock. */
  now?: () => number
  /** Told about failed background refreshes (the last keys loaded stay in use). Default: ignored. */
  onError?: (error: unknown) => void
}

/** A key store shared through a `KeyStorage`: synchronous reads from memory, refreshed in the background. */
export interface SharedKeyStore extends KeyStore {
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

/** A sealed private JWK as stored in `SigningKeyRecord.privateJwk`. */
interface SealedJwk {
  enc: 'A256GCM'
  iv: string
  ciphertext: string
  tag: string
}

function seal(jwk: PrivateJwk, kid: string, key: Uint8Array): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(Buffer.from(kid, 'utf8'))
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(jwk), 'utf8'), cipher.final()])
  const sealed: SealedJwk = { enc: 'A256GCM', iv: iv.toString('base64url'), ciphertext: ciphertext.toString('base64url'), tag: cipher.getAuthTag().toString('base64url') }
  return JSON.stringify(sealed)
}

function unseal(record: SigningKeyRecord, key: Uint8Array | undefined): PrivateJwk {
  let parsed: unknown
  try {
    parsed = JSON.parse(record.privateJwk)
  } catch (cause) {
    throw new Error(`shared keys: key "${record.kid}" is not JSON`, { cause })
  }
  if (typeof parsed !== 'object' || parsed === null) throw new Error(`shared keys: key "${record.kid}" is not a JWK`)
  const sealed = parsed as Partial<SealedJwk>
  if (sealed.enc === undefined) {
    // SECURITY: with an encryption key, only records sealed with it are trusted.
    if (key !== undefined) throw new Error(`shared keys: key "${record.kid}" is stored unencrypted but an encryptionKey is configured`)
    return parsed as PrivateJwk
  }
  if (key === undefined) throw new Error(`shared keys: key "${record.kid}" is encrypted; pass encryptionKey`)
  if (sealed.enc !== 'A256GCM' || typeof sealed.iv !== 'string' || typeof sealed.ciphertext !== 'string' || typeof sealed.tag !== 'string') {
    throw new Error(`shared keys: key "${record.kid}" is sealed in an unknown format`)
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64url'))
    decipher.setAAD(Buffer.from(record.kid, 'utf8'))
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64url'))
    const plain = Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64url')), decipher.final()])
    return JSON.parse(plain.toString('utf8')) as PrivateJwk
  } catch (cause) {
    throw new Error(`shared keys: key "${record.kid}" cannot be decrypted with this encryptionKey`, { cause })
  }
}

/** The KeyRing's choice: the newest key that is active and not retired; failing that, the newest key. */
function pickSigningKey(schedule: readonly ScheduledKey[], now: number): ScheduledKey | undefined {
  let best: ScheduledKey | undefined
  for (const s of schedule) {
    if (s.activeFrom > now) continue
    if (s.retiredAt !== undefined && s.retiredAt <= now) continue
    if (best === undefined || s.activeFrom >= best.activeFrom) best = s
  }
  // Should rotation leave a gap, keep signing with the newest key rather than fail every request.
  return best ?? schedule.reduce<ScheduledKey | undefined>((a, b) => (a === undefined || b.activeFrom >= a.activeFrom ? b : a), undefined)
}

const published = (s: ScheduledKey, now: number): boolean => isKeyPublished(s, now)

function seconds(value: unknown, path: string, positive: boolean): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (positive && value === 0)) {
    throw new TypeError(`${path}: must be a ${positive ? 'positive' : 'non-negative'} number of seconds`)
  }
  return value
}

class SharedKeys implements SharedKeyStore {
  private schedule: ScheduledKey[] = []
  /** Imported keys by kid: each private JWK is decrypted and imported once. */
  private imported = new Map<string, SigningKey>()
  private timer: ReturnType<typeof setInterval> | undefined
  private inflight: Promise<void> | undefined
  private lastKick = 0

  constructor(
    private readonly storage: KeyStorage,
    private readonly algorithm: SigningAlgorithm,
    private readonly refreshInterval: number,
    private readonly publishLead: number,
    private readonly maxTokenLifetime: number,
    private readonly encryptionKey: Uint8Array | undefined,
    private readonly now: () => number,
    private readonly onError: (error: unknown) => void,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.refresh().catch(this.onError), this.refreshInterval * 1000)
    // A background refresh must not keep the process alive.
    this.timer.unref()
  }

  signingKey(now: number): SigningKey {
    const s = pickSigningKey(this.schedule, now)
    if (s === undefined) throw new Error('shared keys: no key loaded')
    return s.key
  }

  publishedKeys(now: number): readonly SigningKey[] {
    return this.schedule.filter((s) => published(s, now)).map((s) => s.key)
  }

  findKey(kid: string, now: number): SigningKey | undefined {
    for (const s of this.schedule) if (s.key.kid === kid && published(s, now)) return s.key
    // Perhaps another process rotated since the last refresh: look again soon, at most every few seconds.
    if (Date.now() - this.lastKick > 5000 && !this.imported.has(kid)) {
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
      records = await this.storage.initialize(this.record(generateSigningKey(this.algorithm), now, now))
    }
    const imported = new Map<string, SigningKey>()
    const schedule: ScheduledKey[] = []
    for (const r of records) {
      let key = this.imported.get(r.kid)
      if (key === undefined) {
        key = importSigningKey(unseal(r, this.encryptionKey))
        if (key.kid !== r.kid) throw new Error(`shared keys: record "${r.kid}" holds a key with kid "${key.kid}"`)
      }
      imported.set(r.kid, key)
      schedule.push({
        key,
        activeFrom: r.activeFrom,
        ...(r.retiredAt !== undefined && r.retiredAt !== null && { retiredAt: r.retiredAt }),
        ...(r.publishedUntil !== undefined && r.publishedUntil !== null && { publishedUntil: r.publishedUntil }),
      })
    }
    if (schedule.length === 0) throw new Error('shared keys: the key storage returned no key')
    // Swap both at once, so the synchronous readers never see half a refresh.
    this.imported = imported
    this.schedule = schedule
  }

  private record(key: SigningKey, activeFrom: number, now: number): SigningKeyRecord {
    const jwk = exportPrivateJwk(key)
    return {
      kid: key.kid,
      privateJwk: this.encryptionKey === undefined ? JSON.stringify(jwk) : seal(jwk, key.kid, this.encryptionKey),
      activeFrom,
      createdAt: now,
    }
  }

  async rotate(): Promise<SigningKey> {
    const now = this.now()
    const key = generateSigningKey(this.algorithm)
    const activeFrom = now + this.publishLead
    await this.storage.rotate(this.record(key, activeFrom, now), { retiredAt: activeFrom, publishedUntil: activeFrom + this.maxTokenLifetime })
    this.imported.set(key.kid, key)
    await this.refresh()
    return key
  }

  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
  }
}

/**
 * A key store for several processes acting as one server: keys live in a
 * `KeyStorage` (for example `createPostgresStorage(...).keys`) and are held
 * in memory, imported once each, for the synchronous `KeyStore` methods. The
 * first process to start creates the first key; a background timer (unref'd)
 * reloads the keys every `refreshInterval` seconds, so a key another process
 * rotated in is published here before it signs, as long as `refreshInterval`
 * is less than `publishLead`.
 *
 * @example
 * const storage = createPostgresStorage({ pool })
 * const keys = await createSharedKeyStore(storage.keys, { encryptionKey: Buffer.from(process.env.KEY_SECRET!, 'base64') })
 * const server = createAuthorizationServer({ issuer, clients, storage, keys })
 * // later, in one process only: await keys.rotate()
 */
export async function createSharedKeyStore(keyStorage: KeyStorage, options: SharedKeyStoreOptions = {}): Promise<SharedKeyStore> {
  if (typeof keyStorage !== 'object' || keyStorage === null || typeof keyStorage.list !== 'function' || typeof keyStorage.initialize !== 'function' || typeof keyStorage.rotate !== 'function') {
    throw new TypeError('keyStorage: must be a KeyStorage (list, initialize, rotate), e.g. storage.keys')
  }
  const algorithm = options.algorithm ?? defaults.signingAlgorithm
  if (!SIGNING_ALGORITHMS.includes(algorithm)) throw new TypeError(`algorithm: must be one of ${SIGNING_ALGORITHMS.join(', ')}`)
  const refreshInterval = seconds(options.refreshInterval ?? 60, 'refreshInterval', true)
  const publishLead = seconds(options.publishLead ?? 600, 'publishLead', false)
  const maxTokenLifetime = seconds(options.maxTokenLifetime ?? Math.max(defaults.ttl.accessToken, defaults.ttl.idToken), 'maxTokenLifetime', false)
  if (refreshInterval >= publishLead) {
    throw new TypeError('refreshInterval: must be less than publishLead, or a key rotated elsewhere could sign before this process publishes it')
  }
  const encryptionKey = options.encryptionKey
  if (encryptionKey !== undefined && (!(encryptionKey instanceof Uint8Array) || encryptionKey.length !== 32)) {
    throw new TypeError('encryptionKey: must be 32 bytes (AES-256-GCM)')
  }
  const now = options.now ?? (() => Date.now() / 1000)
  const store = new SharedKeys(keyStorage, algorithm, refreshInterval, publishLead, maxTokenLifetime, encryptionKey, now, options.onError ?? (() => {}))
  await store.refresh()
  store.start()
  return store
}

/**
 * A `KeyStorage` in memory, for tests and single-process use of
 * `createSharedKeyStore`. Shares nothing between processes.
 *
 * @example
 * const keys = await createSharedKeyStore(createMemoryKeyStorage())
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
  }
}
