import type { SealedTokens, TokenStore } from './types.js'

/** The part of an ioredis client this store uses. */
export interface RedisLike {
  get(key: string): Promise<string | null>
  set(key: string, value: string): Promise<unknown>
  set(key: string, value: string, px: 'PX', milliseconds: number, nx: 'NX'): Promise<unknown>
  del(key: string): Promise<number>
  eval(script: string, numberOfKeys: number, ...args: (string | number)[]): Promise<unknown>
}

/** Options of the Redis token store. */
export interface RedisTokenStoreOptions {
  /** Prefix of every key. Default `grantkit:client:`. */
  prefix?: string
}

// Compare-and-delete: only the holder gives a lease back.
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`

/**
 * A token store in Redis through ioredis: one string key per (provider,
 * subject) holding the sealed record, a lease key taken with
 * `SET NX PX`, so it expires by itself if its holder dies, and one
 * `used:<hash>` key per completed flow, also `SET NX PX`.
 *
 * @example
 * import { Redis } from 'ioredis'
 * const store = createRedisTokenStore(new Redis(process.env.REDIS_URL!))
 */
export function createRedisTokenStore(redis: RedisLike, options: RedisTokenStoreOptions = {}): TokenStore {
  if (typeof redis !== 'object' || redis === null || typeof redis.get !== 'function') throw new TypeError('redis: must be an ioredis client')
  const prefix = options.prefix ?? 'grantkit:client:'
  const id = (provider: string, subject: string) => `${encodeURIComponent(provider)}:${encodeURIComponent(subject)}`
  const tokenKey = (p: string, s: string) => `${prefix}tokens:${id(p, s)}`
  const leaseKey = (p: string, s: string) => `${prefix}lease:${id(p, s)}`
  const usedKey = (key: string) => `${prefix}used:${key}`
  return {
    async get(provider, subject) {
      const raw = await redis.get(tokenKey(provider, subject))
      if (raw === null) return null
      const r = JSON.parse(raw) as SealedTokens
      return { keyId: r.keyId, ciphertext: r.ciphertext, expiresAt: r.expiresAt ?? null }
    },
    async put(provider, subject, record) {
      await redis.set(tokenKey(provider, subject), JSON.stringify({ keyId: record.keyId, ciphertext: record.ciphertext, expiresAt: record.expiresAt }))
    },
    async delete(provider, subject) {
      await redis.del(tokenKey(provider, subject))
    },
    async acquireLease(provider, subject, holder, ttlMs) {
      return (await redis.set(leaseKey(provider, subject), holder, 'PX', Math.ceil(ttlMs), 'NX')) === 'OK'
    },
    async releaseLease(provider, subject, holder) {
      await redis.eval(RELEASE, 1, leaseKey(provider, subject), holder)
    },
    async markUsed(key, ttlMs) {
      // SET NX PX: one command, so of concurrent callers in any process exactly one gets OK; Redis expires it.
      return (await redis.set(usedKey(key), '1', 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX')) === 'OK'
    },
  }
}
