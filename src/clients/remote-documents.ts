/**
 * Documents the server fetches about its clients — key sets at a `jwks_uri`
 * and Client ID Metadata Documents — and keeps in one bounded, per-process
 * cache. Every fetch goes through `fetchJson` (https only, private addresses
 * refused unless allowed, no redirects, size and time limits); what is kept
 * is the document already parsed (keys imported, metadata checked), so
 * nothing is parsed per request.
 */
import { fetchJson, FetchJsonError, type FetchedJson, type FetchJsonOptions } from '../http/outbound.js'

/**
 * One kind of remote document: how a fetched body becomes the value kept.
 * `parse` throws for a document that is not valid; such a document is never
 * cached (CIMD §5.2).
 */
export interface RemoteDocumentKind<T> {
  /** Keeps kinds apart in the cache: the same URL read as a key set and as metadata are two entries. */
  readonly name: string
  /** Largest body accepted for this kind, in bytes; default the cache's. */
  readonly maxResponseBytes?: number
  parse(body: unknown, url: string): T | Promise<T>
}

/** How remote documents are fetched and cached. Durations in seconds. */
export interface RemoteDocumentsOptions {
  /** Seconds for one fetch, connection to last byte. */
  timeout: number
  /** Largest body read, in bytes, for kinds that set none. */
  maxResponseBytes: number
  /** Shortest time a document is kept: a `max-age` below it, `no-cache`, `no-store` or no `Cache-Control` at all count as this. */
  minCacheTtl: number
  /** Longest time a document is kept, whatever its `max-age`. */
  maxCacheTtl: number
  /** Documents kept at most; the least recently used go first. */
  maxEntries: number
  /** Seconds between two fetches of one URL outside its lifetime (an unknown `kid`, a failed refresh). */
  refetchInterval: number
  /** Seconds past its lifetime that the last good copy still serves while fetches fail. */
  staleIfError: number
  /** SECURITY: option `allowPrivateNetworkFetches`. */
  allowPrivate: boolean
  /** Clock, seconds since the epoch (`deps.now`). */
  now(): number
  /** Fetches in flight at once, all URLs together; past it a miss fails at once. Default 64. */
  maxConcurrentFetches?: number
  /** Replaces the network, for tests of the cache alone. */
  fetch?: (url: string, options: FetchJsonOptions) => Promise<FetchedJson>
  /** How names are resolved (`fetchJson`). */
  resolver?: FetchJsonOptions['resolver']
}

interface Entry {
  readonly value: unknown
  /** Until then the copy is served without asking the network. */
  readonly freshUntil: number
  /** After it the copy is never served, fetch or no fetch. */
  readonly hardExpiry: number
  /** When the last fetch of this URL started, kept across failures: the rate limit of `refresh`. */
  lastAttempt: number
}

/**
 * The lifetime a response asks for under RFC 9111 §5.2.2, clamped to
 * [min, max]: `max-age` (or none), `no-store` and `no-cache` as the minimum.
 *
 * @example
 * cacheLifetime('public, max-age=600', 60, 86400) // 600
 * cacheLifetime('no-store', 60, 86400) // 60
 */
export function cacheLifetime(cacheControl: string | undefined, min: number, max: number): number {
  if (cacheControl === undefined) return min
  let maxAge: number | undefined
  for (const part of cacheControl.toLowerCase().split(',')) {
    const [name, value] = part.trim().split('=', 2) as [string, string | undefined]
    // RFC 9111 §5.2.2.5, §5.2.2.4: not to be kept, or not to be used unchecked: kept only the least we keep anything.
    if (name === 'no-store' || name === 'no-cache') return min
    if (name === 'max-age' && value !== undefined) {
      const seconds = /^"?(\d{1,10})"?$/.exec(value)
      if (seconds !== null) maxAge = Number(seconds[1])
    }
  }
  if (maxAge === undefined) return min
  return Math.min(max, Math.max(min, maxAge))
}

/**
 * The cache of remote documents. Concurrent misses for one URL share one
 * fetch. A failed fetch is not cached and does not replace a good copy: the
 * last good copy keeps serving until `staleIfError` past its lifetime (its
 * hard expiry), with one new attempt per `refetchInterval`; a 404 or 410
 * (the document is gone) drops it at once.
 */
export class RemoteDocuments {
  private readonly entries = new Map<string, Entry>()
  private readonly inflight = new Map<string, Promise<unknown>>()

  constructor(readonly options: RemoteDocumentsOptions) {}

  /**
   * The document at `url`: synchronously when a fresh copy is kept, else the
   * fetch's promise.
   *
   * @throws (the promise rejects with) OutboundAddressError, FetchJsonError, or what `kind.parse` throws
   * @example
   * const keys = await documents.get(JWKS_DOCUMENT, client.jwksUri)
   */
  get<T>(kind: RemoteDocumentKind<T>, url: string): T | Promise<T> {
    const key = `${kind.name} ${url}`
    const entry = this.entries.get(key)
    const now = this.options.now()
    if (entry !== undefined) {
      if (now < entry.freshUntil) return this.touch(key, entry).value as T
      // Refreshing failed lately: the last good copy serves until the next attempt is due.
      if (now < entry.hardExpiry && now < entry.lastAttempt + this.options.refetchInterval) return this.touch(key, entry).value as T
    }
    return this.fetch(kind, url, key)
  }

  /**
   * Fetches `url` again before its copy's lifetime ends (a key set that lacks
   * the `kid` an assertion names), at most once per `refetchInterval` per
   * URL: undefined when the last fetch started less than that ago.
   *
   * @example
   * const again = documents.refresh(JWKS_DOCUMENT, url)
   * if (again !== undefined) keys = await again
   */
  refresh<T>(kind: RemoteDocumentKind<T>, url: string): Promise<T> | undefined {
    const key = `${kind.name} ${url}`
    const pending = this.inflight.get(key)
    if (pending !== undefined) return pending as Promise<T>
    const entry = this.entries.get(key)
    if (entry !== undefined && this.options.now() < entry.lastAttempt + this.options.refetchInterval) return undefined
    return this.fetch(kind, url, key)
  }

  /** The values kept, for indexes over them (the origins of metadata-document clients). */
  *values<T>(kind: RemoteDocumentKind<T>): Iterable<T> {
    const prefix = `${kind.name} `
    const now = this.options.now()
    for (const [key, entry] of this.entries) if (key.startsWith(prefix) && now < entry.hardExpiry) yield entry.value as T
  }

  private fetch<T>(kind: RemoteDocumentKind<T>, url: string, key: string): Promise<T> {
    const pending = this.inflight.get(key)
    if (pending !== undefined) return pending as Promise<T>
    const kept = this.entries.get(key)
    // SECURITY: each unknown client_id URL costs a fetch; a flood of them must not open unbounded connections.
    if (this.inflight.size >= (this.options.maxConcurrentFetches ?? 64)) {
      if (kept !== undefined && this.options.now() < kept.hardExpiry) return Promise.resolve(kept.value as T)
      return Promise.reject(new FetchJsonError(`${url.slice(0, 200)}: too many fetches in flight`))
    }
    const startedAt = this.options.now()
    const previous = kept
    if (previous !== undefined) previous.lastAttempt = startedAt
    const o = this.options
    const promise = (async (): Promise<T> => {
      try {
        const fetched = await (o.fetch ?? fetchJson)(url, {
          timeoutMs: o.timeout * 1000,
          maxResponseBytes: kind.maxResponseBytes ?? o.maxResponseBytes,
          allowPrivate: o.allowPrivate,
          ...(o.resolver !== undefined && { resolver: o.resolver }),
        })
        const value = await kind.parse(fetched.body, url)
        const freshUntil = startedAt + cacheLifetime(fetched.cacheControl, o.minCacheTtl, o.maxCacheTtl)
        this.remember(key, { value, freshUntil, hardExpiry: freshUntil + o.staleIfError, lastAttempt: startedAt })
        return value
      } catch (error) {
        const kept = this.entries.get(key)
        // The document is gone: its owner withdrew it, so no stale copy speaks for it.
        if (error instanceof FetchJsonError && (error.status === 404 || error.status === 410)) this.entries.delete(key)
        else if (kept !== undefined && this.options.now() < kept.hardExpiry) return kept.value as T
        throw error
      } finally {
        this.inflight.delete(key)
      }
    })()
    this.inflight.set(key, promise)
    return promise
  }

  private touch(key: string, entry: Entry): Entry {
    // Re-inserted, so Map order is use order and the first key the least recently used.
    this.entries.delete(key)
    this.entries.set(key, entry)
    return entry
  }

  private remember(key: string, entry: Entry): void {
    this.touch(key, entry)
    while (this.entries.size > this.options.maxEntries) {
      const oldest = this.entries.keys().next().value
      if (oldest === undefined) break
      this.entries.delete(oldest)
    }
  }
}
