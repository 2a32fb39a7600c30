/**
 * A stored token record as the store sees it: ciphertext it cannot read, the
 * id of the key that sealed it, and when its access token expires.
 */
export interface SealedTokens {
  /** Id of the encryption key that sealed `ciphertext`. */
  keyId: string
  /** base64url of IV ‖ AES-256-GCM ciphertext ‖ tag. */
  ciphertext: string
  /** Access token expiry, seconds since the epoch; null when unknown. For housekeeping only. */
  expiresAt: number | null
}

/**
 * Where a client keeps the tokens of each (provider, subject), encrypted. The
 * lease methods make a refresh happen once across processes, and `markUsed`
 * makes an authorization complete once: the store, not the caller, decides
 * atomically who goes first.
 *
 * @example
 * const store = createPostgresTokenStore(pool)   // or createRedisTokenStore(redis), createMemoryTokenStore()
 */
export interface TokenStore {
  get(provider: string, subject: string): Promise<SealedTokens | null>
  /** Inserts or replaces the record; an existing lease is left as it is. */
  put(provider: string, subject: string, record: SealedTokens): Promise<void>
  delete(provider: string, subject: string): Promise<void>
  /**
   * Set-if-free: true when `holder` now holds the lease of (provider, subject)
   * for `ttlMs` milliseconds; false when someone else holds an unexpired one.
   * A store may lease only records that exist (PostgreSQL does).
   */
  acquireLease(provider: string, subject: string, holder: string, ttlMs: number): Promise<boolean>
  /** Gives the lease back if `holder` still holds it; otherwise does nothing. */
  releaseLease(provider: string, subject: string, holder: string): Promise<void>
  /**
   * Set-if-absent, atomic across every process sharing the store: true for
   * the one caller that records `key` first; false while an unexpired record
   * of it exists. The record is kept for `ttlMs` milliseconds by the store's
   * own clock. The client uses it to complete each authorization once; `key`
   * is a hash, never the state itself.
   */
  markUsed(key: string, ttlMs: number): Promise<boolean>
}
