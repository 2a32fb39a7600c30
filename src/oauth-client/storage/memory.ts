import type { SealedTokens, TokenStore } from './types.js'

/**
 * A token store in this process's memory, for tests and single-process
 * services. It holds sealed records only, like the others. Completed flows
 * are remembered in this process only: with several processes, use a shared store.
 *
 * @example
 * const client = createOAuthClient({ providers, store: createMemoryTokenStore(), encryption })
 */
export function createMemoryTokenStore(options: { now?: () => number } = {}): TokenStore {
  const nowMs = options.now ?? Date.now
  const records = new Map<string, SealedTokens>()
  const leases = new Map<string, { holder: string; until: number }>()
  /** Used-flow key → expiry in milliseconds. */
  const used = new Map<string, number>()
  let sinceSweep = 0
  const key = (provider: string, subject: string) => JSON.stringify([provider, subject])
  return {
    async get(provider, subject) {
      const r = records.get(key(provider, subject))
      return r === undefined ? null : { ...r }
    },
    async put(provider, subject, record) {
      records.set(key(provider, subject), { ...record })
    },
    async delete(provider, subject) {
      records.delete(key(provider, subject))
    },
    async acquireLease(provider, subject, holder, ttlMs) {
      const k = key(provider, subject)
      const now = nowMs()
      const held = leases.get(k)
      if (held !== undefined && held.until > now) return false
      leases.set(k, { holder, until: now + ttlMs })
      return true
    },
    async releaseLease(provider, subject, holder) {
      const k = key(provider, subject)
      if (leases.get(k)?.holder === holder) leases.delete(k)
    },
    async markUsed(usedKey, ttlMs) {
      const now = nowMs()
      // Expired records go every 100 writes, so the map stays as small as the flows in progress.
      if (++sinceSweep >= 100) {
        sinceSweep = 0
        for (const [k, until] of used) if (until <= now) used.delete(k)
      }
      const until = used.get(usedKey)
      if (until !== undefined && until > now) return false
      used.set(usedKey, now + ttlMs)
      return true
    },
  }
}
