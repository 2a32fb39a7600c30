import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * Server-provided DPoP nonces (RFC 9449 §8), stateless: a nonce is the number
 * of a time window and an HMAC of it under a key derived from the server's
 * secrets. Any process holding the same secrets accepts the nonces of the
 * others, with no storage. A nonce is accepted during its window and the next,
 * so it lives between `lifetime` and twice `lifetime` seconds; it carries
 * nothing but the time, so handing the same one to every client leaks nothing.
 *
 * The keys are derived once, here; a request costs one HMAC at most (the
 * current nonce is kept per window).
 */
export class DpopNonces {
  readonly #keys: readonly Buffer[]
  readonly #lifetime: number
  #cached: { window: number; nonce: string } | undefined

  /**
   * @param secrets the server's secrets: the first makes nonces, all are accepted (rotation)
   * @param lifetime seconds of one window
   */
  constructor(secrets: readonly string[], lifetime: number) {
    if (secrets.length === 0) throw new TypeError('dpop nonces: at least one secret is required')
    // Domain separation: the nonce key is not the cookie key itself.
    this.#keys = secrets.map((s) => createHmac('sha256', s).update('grantkit dpop nonce v1').digest())
    this.#lifetime = lifetime
  }

  #mac(key: Buffer, window: number): Buffer {
    return createHmac('sha256', key).update(String(window)).digest().subarray(0, 16)
  }

  /**
   * The nonce to hand out now (`DPoP-Nonce` header).
   *
   * @param now seconds since the epoch
   */
  current(now: number): string {
    const window = Math.floor(now / this.#lifetime)
    if (this.#cached?.window !== window) this.#cached = { window, nonce: `${window.toString(36)}.${this.#mac(this.#keys[0]!, window).toString('base64url')}` }
    return this.#cached.nonce
  }

  /**
   * Whether a client's `nonce` is one of ours and still fresh: made in the
   * current window or the previous one, by any of the secrets.
   *
   * @param now seconds since the epoch
   */
  accepts(nonce: unknown, now: number): boolean {
    if (typeof nonce !== 'string' || nonce.length > 64) return false
    if (nonce === this.current(now)) return true
    const dot = nonce.indexOf('.')
    if (dot <= 0) return false
    const window = Number.parseInt(nonce.slice(0, dot), 36)
    const current = Math.floor(now / this.#lifetime)
    if (!Number.isSafeInteger(window) || nonce.slice(0, dot) !== window.toString(36) || (window !== current && window !== current - 1)) return false
    const mac = Buffer.from(nonce.slice(dot + 1), 'base64url')
    if (mac.length !== 16) return false
    // SECURITY: constant-time compare against every accepted secret.
    let ok = false
    for (const key of this.#keys) ok = timingSafeEqual(mac, this.#mac(key, window)) || ok
    return ok
  }
}
