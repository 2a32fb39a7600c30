import { generateSigningKey, importSigningKey, type PrivateJwk, type PublicJwk, type SigningAlgorithm, type SigningKey } from './signing-key.js'

/**
 * Where the server's signing keys come from. `signingKey` and `findKey` are
 * called per request, so they are synchronous and must not do I/O: a store
 * backed by a database loads and refreshes its keys in the background.
 */
export interface KeyStore {
  /** The key that signs at `now` (seconds since the epoch). */
  signingKey(now: number): SigningKey
  /** Keys whose public half is published at `now`: the signing key, keys about to sign, retired keys whose tokens may still be alive. */
  publishedKeys(now: number): readonly SigningKey[]
  /** A published key by kid, for verifying a token we issued. */
  findKey(kid: string, now: number): SigningKey | undefined
}

/** One key's place in the rotation schedule. Times in seconds since the epoch. */
export interface ScheduledKey {
  key: SigningKey
  /** From this instant the key may sign. Before it, it is only published. */
  activeFrom: number
  /** From this instant the key no longer signs. */
  retiredAt?: number
  /** Until this instant the public key stays published (retiredAt + the longest token lifetime). */
  publishedUntil?: number
}

/** Options of `new KeyRing(…)`. */
export interface KeyRingOptions {
  /** Private JWKs to sign with; the last one signs, the others stay published. Default: one generated key. */
  keys?: PrivateJwk[]
  /** Algorithm of generated keys. Default `ES256`. */
  algorithm?: SigningAlgorithm
}

/**
 * The default key store: keys in memory, rotated on a schedule so that a new key
 * is published before it signs (relying parties refresh their JWKS cache first)
 * and a retired key stays published until everything it signed has expired.
 *
 * @example
 * const ring = new KeyRing({ algorithm: 'EdDSA' })
 * ring.rotate({ now, publishLead: 300, maxTokenLifetime: 3600 })
 */
export class KeyRing implements KeyStore {
  private schedule: ScheduledKey[] = []
  private readonly algorithm: SigningAlgorithm
  private cached: { key: SigningKey; validUntil: number; validFrom: number } | undefined

  constructor(options: KeyRingOptions = {}) {
    this.algorithm = options.algorithm ?? 'ES256'
    const keys = options.keys ?? []
    if (!Array.isArray(keys)) throw new TypeError('keys: must be an array of private JWKs')
    const imported = keys.map((jwk) => importSigningKey(jwk))
    const kids = new Set<string>()
    for (const key of imported) {
      if (kids.has(key.kid)) throw new TypeError(`keys: kid "${key.kid}" appears twice`)
      kids.add(key.kid)
    }
    if (imported.length === 0) imported.push(generateSigningKey(this.algorithm))
    // The last configured key signs; earlier ones are published for verification only.
    imported.forEach((key, i) => {
      const last = i === imported.length - 1
      this.schedule.push(last ? { key, activeFrom: 0 } : { key, activeFrom: 0, retiredAt: 0 })
    })
  }

  signingKey(now: number): SigningKey {
    const c = this.cached
    if (c !== undefined && now >= c.validFrom && now < c.validUntil) return c.key
    let best: ScheduledKey | undefined
    for (const s of this.schedule) {
      if (s.activeFrom > now) continue
      if (s.retiredAt !== undefined && s.retiredAt <= now) continue
      if (best === undefined || s.activeFrom >= best.activeFrom) best = s
    }
    // Should rotation leave a gap, keep signing with the newest key that exists
    // rather than fail every request.
    if (best === undefined) best = this.schedule.reduce((a, b) => (b.activeFrom >= a.activeFrom ? b : a))
    const nextChange = Math.min(
      best.retiredAt ?? Infinity,
      ...this.schedule.filter((s) => s.activeFrom > now).map((s) => s.activeFrom),
    )
    this.cached = { key: best.key, validFrom: best.activeFrom, validUntil: nextChange }
    return best.key
  }

  publishedKeys(now: number): readonly SigningKey[] {
    return this.schedule.filter((s) => s.publishedUntil === undefined || s.publishedUntil > now).map((s) => s.key)
  }

  findKey(kid: string, now: number): SigningKey | undefined {
    for (const s of this.schedule) {
      if (s.key.kid === kid && (s.publishedUntil === undefined || s.publishedUntil > now)) return s.key
    }
    return undefined
  }

  /** Public JWKs at `now`, as the JWKS endpoint serves them. */
  publicJwks(now: number): { keys: PublicJwk[] } {
    return { keys: this.publishedKeys(now).map((k) => k.publicJwk) }
  }

  /** The schedule, for inspection and persistence. */
  entries(): readonly ScheduledKey[] {
    return this.schedule
  }

  /**
   * Schedules a new key: published at once, signing from `now + publishLead`,
   * when the current signing key retires; the retired key stays published for
   * `maxTokenLifetime` more seconds. Returns the new key.
   */
  rotate(options: { now: number; publishLead: number; maxTokenLifetime: number; key?: PrivateJwk | SigningKey }): SigningKey {
    const { now, publishLead, maxTokenLifetime } = options
    if (!(publishLead >= 0) || !(maxTokenLifetime >= 0)) throw new TypeError('rotate: publishLead and maxTokenLifetime must be seconds >= 0')
    const next =
      options.key === undefined
        ? generateSigningKey(this.algorithm)
        : 'privateKey' in options.key
          ? (options.key as SigningKey)
          : importSigningKey(options.key as PrivateJwk)
    if (this.schedule.some((s) => s.key.kid === next.kid)) throw new TypeError(`rotate: kid "${next.kid}" is already in the ring`)
    const activeFrom = now + publishLead
    for (const s of this.schedule) {
      if (s.retiredAt === undefined || s.retiredAt > activeFrom) {
        s.retiredAt = activeFrom
        s.publishedUntil = activeFrom + maxTokenLifetime
      }
    }
    // Drop keys that will never be published again.
    this.schedule = this.schedule.filter((s) => s.publishedUntil === undefined || s.publishedUntil > now)
    this.schedule.push({ key: next, activeFrom })
    this.cached = undefined
    return next
  }
}
