import type { Client } from './metadata.js'

/** Options of a `ClientCache`. */
export interface ClientCacheOptions {
  /** Seconds an entry (a client, or the news that there is none) is trusted; 0 caches nothing. */
  ttl: number
  /** Clock, seconds since the epoch. */
  now: () => number
  /** Entries kept at most; the oldest go first. Default 10000. */
  maxEntries?: number
  /** Seconds after a load before `reload` reads the store again for the same id. Default 1. */
  reloadInterval?: number
}

interface Entry {
  client: Client | undefined
  /** When the load that produced it started. */
  loadedAt: number
}

/**
 * The per-process cache of stored clients, positive and negative entries.
 *
 * The bound it keeps: a change committed to the store at time t is seen by
 * this process's lookups from t + ttl on, at the latest. An entry is dated
 * from when its load *started* (the read saw the store at that moment or
 * later), so a load that straddles a change cannot outlive the bound.
 * Concurrent lookups of one id share one load; an invalidation (a change made
 * through this process) drops the entry and disowns a load in flight, whose
 * result then is not kept.
 */
export class ClientCache {
  private readonly entries = new Map<string, Entry>()
  private readonly loading = new Map<string, Promise<Client | undefined>>()
  private readonly maxEntries: number
  private readonly reloadInterval: number

  constructor(private readonly options: ClientCacheOptions) {
    this.maxEntries = options.maxEntries ?? 10_000
    this.reloadInterval = options.reloadInterval ?? 1
  }

  /** The cached client when the entry is fresh (synchronously), else the load's promise. */
  get(clientId: string, load: (clientId: string) => Promise<Client | undefined>): Client | undefined | Promise<Client | undefined> {
    const e = this.entries.get(clientId)
    if (e !== undefined && this.options.now() < e.loadedAt + this.options.ttl) return e.client
    return this.load(clientId, load)
  }

  /**
   * Reads the store again, unless the entry was loaded within the last
   * `reloadInterval` seconds (then undefined: nothing fresher). Bounds how
   * often failed authentications can make this process read the store.
   */
  reload(clientId: string, load: (clientId: string) => Promise<Client | undefined>): Promise<Client | undefined> | undefined {
    const e = this.entries.get(clientId)
    if (e !== undefined && this.options.now() < e.loadedAt + this.reloadInterval) return undefined
    const pending = this.loading.get(clientId)
    if (pending !== undefined) return pending
    this.entries.delete(clientId)
    return this.load(clientId, load)
  }

  /** Forgets a client: the next lookup reads the store. For changes made through this process. */
  invalidate(clientId: string): void {
    this.entries.delete(clientId)
    this.loading.delete(clientId)
  }

  private load(clientId: string, load: (clientId: string) => Promise<Client | undefined>): Promise<Client | undefined> {
    const pending = this.loading.get(clientId)
    if (pending !== undefined) return pending
    const startedAt = this.options.now()
    const promise = load(clientId).then(
      (client) => {
        if (this.loading.get(clientId) === promise) {
          this.loading.delete(clientId)
          if (this.options.ttl > 0 || this.reloadInterval > 0) this.remember(clientId, { client, loadedAt: startedAt })
        }
        return client
      },
      (err: unknown) => {
        if (this.loading.get(clientId) === promise) this.loading.delete(clientId)
        throw err
      },
    )
    this.loading.set(clientId, promise)
    return promise
  }

  private remember(clientId: string, entry: Entry): void {
    // Re-inserted, so Map order is load order and the first key is the oldest.
    this.entries.delete(clientId)
    this.entries.set(clientId, entry)
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value
      if (oldest === undefined) break
      this.entries.delete(oldest)
    }
  }
}
