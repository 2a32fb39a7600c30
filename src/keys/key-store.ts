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
  /**
   * The key that signs with `alg` at `now`, for ID tokens (a client's
   * `id_token_signed_response_alg`, RS256 by default); undefined when the store
   * has none. Optional: without it, only `signingKey(now).alg` is offered.
   */
  signingKeyFor?(alg: SigningAlgorithm, now: number): SigningKey | undefined
  /** The algorithms `signingKeyFor` has a key for at `now`, without generating any. Optional. */
  signingAlgorithms?(now: number): readonly SigningAlgorithm[]
}

/**
 * The ID token algorithm of a client that registers none (OIDC Core §3.1.3.7,
 * OIDC Registration §2 `id_token_signed_response_alg`): RS256. Every built-in
 * key store keeps an RS256 key for it beside the access-token key.
 */
export const ID_TOKEN_DEFAULT_ALGORITHM: SigningAlgorithm = 'RS256'

/**
 * The algorithms `keys` can sign ID tokens with at `now`: those it has a
 * signing key for (Discovery §3 `id_token_signing_alg_values_supported`).
 */
export function idTokenAlgorithms(keys: KeyStore, now: number): SigningAlgorithm[] {
  if (keys.signingKeyFor === undefined) return [keys.signingKey(now).alg]
  if (keys.signingAlgorithms !== undefined) return [...keys.signingAlgorithms(now)]
  const algs = new Set<SigningAlgorithm>()
  for (const k of keys.publishedKeys(now)) if (keys.signingKeyFor(k.alg, now) !== undefined) algs.add(k.alg)
  return [...algs]
}

/** The newest key that is active and not retired at `now`; failing that (a gap in a rotation), the newest key. */
export function pickScheduled(schedule: readonly ScheduledKey[], now: number): ScheduledKey | undefined {
  let best: ScheduledKey | undefined
  for (const s of schedule) {
    if (s.activeFrom > now) continue
    if (s.retiredAt !== undefined && s.retiredAt <= now) continue
    if (best === undefined || s.activeFrom >= best.activeFrom) best = s
  }
  // Should rotation leave a gap, keep signing with the newest key rather than fail every request.
  return best ?? schedule.reduce<ScheduledKey | undefined>((a, b) => (a === undefined || b.activeFrom >= a.activeFrom ? b : a), undefined)
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
  /**
   * Private JWKs to sign with; the last one signs access tokens, the others of
   * its algorithm stay published. Keys of another algorithm sign ID tokens for
   * clients that ask for it (the last of each algorithm). Without an RS256 key
   * among them, one is generated for ID tokens (OIDC Core §3.1.3.7). Default:
   * one generated key of `algorithm`, and an RS256 one.
   */
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
  /** The access-token algorithm. */
  private readonly algorithm: SigningAlgorithm
  private cached = new Map<SigningAlgorithm, { key: SigningKey; validUntil: number; validFrom: number }>()
  /** True until the generated RS256 ID-token key exists (see the constructor). */
  private companionPending: boolean

  constructor(options: KeyRingOptions = {}) {
    const keys = options.keys ?? []
    if (!Array.isArray(keys)) throw new TypeError('keys: must be an array of private JWKs')
    const imported = keys.map((jwk) => importSigningKey(jwk))
    const kids = new Set<string>()
    for (const key of imported) {
      if (kids.has(key.kid)) throw new TypeError(`keys: kid "${key.kid}" appears twice`)
      kids.add(key.kid)
    }
    this.algorithm = imported.at(-1)?.alg ?? options.algorithm ?? 'ES256'
    if (imported.length === 0) imported.push(generateSigningKey(this.algorithm))
    // OIDC Core §3.1.3.7: ID tokens are RS256 unless a client registers another
    // alg. Generating an RSA key costs a third of a second, so it is made on
    // first use (an ID token, the JWKS, discovery), not for every server built.
    this.companionPending = !imported.some((k) => k.alg === ID_TOKEN_DEFAULT_ALGORITHM)
    // Per algorithm, the last configured key signs; earlier ones are published for verification only.
    imported.forEach((key, i) => {
      const last = !imported.slice(i + 1).some((k) => k.alg === key.alg)
      this.schedule.push(last ? { key, activeFrom: 0 } : { key, activeFrom: 0, retiredAt: 0 })
    })
  }

  signingKey(now: number): SigningKey {
    return this.signingKeyFor(this.algorithm, now)!
  }

  signingAlgorithms(): readonly SigningAlgorithm[] {
    const algs = new Set(this.schedule.map((s) => s.key.alg))
    if (this.companionPending) algs.add(ID_TOKEN_DEFAULT_ALGORITHM)
    return [...algs]
  }

  /** The schedule, with the RS256 ID-token key generated if it is still pending. */
  private full(): ScheduledKey[] {
    if (this.companionPending) {
      this.companionPending = false
      this.schedule.push({ key: generateSigningKey(ID_TOKEN_DEFAULT_ALGORITHM), activeFrom: 0 })
    }
    return this.schedule
  }

  signingKeyFor(alg: SigningAlgorithm, now: number): SigningKey | undefined {
    if (alg === ID_TOKEN_DEFAULT_ALGORITHM) this.full()
    const c = this.cached.get(alg)
    if (c !== undefined && now >= c.validFrom && now < c.validUntil) return c.key
    const lane = this.schedule.filter((s) => s.key.alg === alg)
    const best = pickScheduled(lane, now)
    if (best === undefined) return undefined
    const nextChange = Math.min(best.retiredAt ?? Infinity, ...lane.filter((s) => s.activeFrom > now).map((s) => s.activeFrom))
    this.cached.set(alg, { key: best.key, validFrom: best.activeFrom, validUntil: nextChange })
    return best.key
  }

  publishedKeys(now: number): readonly SigningKey[] {
    return this.full().filter((s) => s.publishedUntil === undefined || s.publishedUntil > now).map((s) => s.key)
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
    return this.full()
  }

  /**
   * Schedules a new key: published at once, signing from `now + publishLead`,
   * when the current signing key of its algorithm retires; the retired key
   * stays published for `maxTokenLifetime` more seconds. Without `key`, every
   * algorithm the ring signs with (the access-token key and the ID-token
   * keys) gets a new key on the same schedule. Returns the new key of the
   * given `key`'s algorithm, or the access-token key.
   */
  rotate(options: { now: number; publishLead: number; maxTokenLifetime: number; key?: PrivateJwk | SigningKey }): SigningKey {
    const { now, publishLead, maxTokenLifetime } = options
    if (!(publishLead >= 0) || !(maxTokenLifetime >= 0)) throw new TypeError('rotate: publishLead and maxTokenLifetime must be seconds >= 0')
    const given =
      options.key === undefined ? undefined : 'privateKey' in options.key ? (options.key as SigningKey) : importSigningKey(options.key as PrivateJwk)
    const lanes = [...new Set(this.full().map((s) => s.key.alg))]
    const next = given !== undefined ? [given] : [this.algorithm, ...lanes.filter((a) => a !== this.algorithm)].map((alg) => generateSigningKey(alg))
    for (const key of next) {
      if (this.schedule.some((s) => s.key.kid === key.kid)) throw new TypeError(`rotate: kid "${key.kid}" is already in the ring`)
    }
    const activeFrom = now + publishLead
    for (const s of this.schedule) {
      if (!next.some((k) => k.alg === s.key.alg)) continue
      if (s.retiredAt === undefined || s.retiredAt > activeFrom) {
        s.retiredAt = activeFrom
        s.publishedUntil = activeFrom + maxTokenLifetime
      }
    }
    // Drop keys that will never be published again.
    this.schedule = this.schedule.filter((s) => s.publishedUntil === undefined || s.publishedUntil > now)
    for (const key of next) this.schedule.push({ key, activeFrom })
    this.cached.clear()
    return next[0]!
  }
}
