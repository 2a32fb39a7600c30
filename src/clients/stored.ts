import type { ClientStore, StoredClientRecord } from '../storage/types.js'
import { CLIENT_PAGE_LIMIT } from '../storage/policy.js'
import type { ClientCache } from './cache.js'
import { prepareClient, type Client, type ClientMetadata, type PrepareClientOptions } from './metadata.js'
import type { ClientRegistry } from './registry.js'

/**
 * The Client of a stored record: its metadata checked by the same rules as a
 * configured client, with the stored secret hashes in place of the secret.
 *
 * @throws TypeError naming the field, for a record that breaks a rule (`path` is the prefix)
 * @example
 * const client = clientFromRecord(await storage.clients.get('app'), 'client "app"')
 */
export function clientFromRecord(record: StoredClientRecord, path: string, options: PrepareClientOptions = {}): Client {
  const metadata: ClientMetadata = {
    ...(record.metadata as Partial<ClientMetadata>),
    client_id: record.clientId,
    ...(record.secretHash !== undefined && { client_secret_hash: record.secretHash }),
    client_secret_expires_at: record.secretExpiresAt,
  }
  const client = prepareClient(metadata, path, options)
  const { previousSecretHash: hash, previousSecretValidUntil: validUntil } = record
  if (hash === undefined || validUntil === undefined) return client
  return { ...client, previousSecret: { hash: Buffer.from(hash.slice('sha256:'.length), 'base64url'), validUntil } }
}

/** What a `StoredClientRegistry` is built from. */
export interface StoredClientRegistryOptions {
  /** The configured clients (or the embedder's registry): asked first, and they win over a stored client of the same id. */
  base: ClientRegistry
  store: ClientStore
  cache: ClientCache
  /** Rules of client metadata (`allowHttpRedirectUris`). */
  prepare: PrepareClientOptions
  /** Seconds between rebuilds of the index of stored clients' origins (CORS preflights); the cache TTL. */
  originsTtl: number
  now: () => number
  /** Told about a stored client that no longer passes the rules (a changed configuration): it is treated as unknown. */
  onInvalid: (clientId: string, error: unknown) => void
}

/**
 * The client registry of a server whose storage keeps clients: the
 * configured list first, then the store through the per-process cache.
 *
 * SECURITY: an id in both is the configured client's. The configuration is
 * the operator's word, while stored clients may come from dynamic
 * registration; letting a stored client shadow a configured one would let a
 * registration take over a client the operator set up. The manager refuses to
 * create such a client, and `shadowed()` reports ones that were stored before
 * the configuration named the id.
 */
export class StoredClientRegistry implements ClientRegistry {
  private readonly origins: OriginIndex
  private readonly load = async (clientId: string): Promise<Client | undefined> => {
    const record = await this.options.store.get(clientId)
    if (record === null) return undefined
    try {
      return clientFromRecord(record, `stored client "${clientId}"`, this.options.prepare)
    } catch (error) {
      this.options.onInvalid(clientId, error)
      return undefined
    }
  }

  constructor(private readonly options: StoredClientRegistryOptions) {
    this.origins = new OriginIndex(options)
  }

  find(clientId: string): Client | undefined | Promise<Client | undefined> {
    const configured = this.options.base.find(clientId)
    if (configured instanceof Promise) return configured.then((c) => c ?? this.options.cache.get(clientId, this.load))
    if (configured !== undefined) return configured
    return this.options.cache.get(clientId, this.load)
  }

  reload(clientId: string): Promise<Client | undefined> | undefined {
    // A configured client does not change while the server runs.
    const configured = this.options.base.find(clientId)
    if (configured instanceof Promise) return undefined
    if (configured !== undefined) return undefined
    return this.options.cache.reload(clientId, this.load)
  }

  allowsOrigin(origin: string): boolean {
    return this.origins.allows(origin)
  }

  /** Forgets what this process cached of a client it just changed, so the change is in force here at once. */
  changed(clientId: string): void {
    this.options.cache.invalidate(clientId)
    this.origins.stale()
  }

  /** Loads the origin index now (at start), so that the first preflight already knows the stored clients. */
  warm(): void {
    this.origins.allows('')
  }
}

/**
 * The origins some client allows, for CORS preflights, which carry no client
 * id: the configured clients' (fixed) and the stored clients', rebuilt from a
 * listing of the store at most once per `originsTtl` (at least a second) when
 * asked after that, in the background. The stated bound holds here too: an
 * origin added or removed through another process is in force within the
 * TTL, plus one listing. The request itself is still checked against its own
 * client (`checkOrigin`), so the index only decides what browsers may send.
 */
class OriginIndex {
  private readonly configured: ReadonlySet<string> | undefined
  private stored = new Set<string>()
  private loadedAt = Number.NEGATIVE_INFINITY
  private loading: Promise<void> | undefined
  private generation = 0

  constructor(private readonly options: StoredClientRegistryOptions) {
    const list = options.base.list?.()
    this.configured = list === undefined ? undefined : new Set([...list].flatMap((c) => [...c.allowedOrigins]))
  }

  allows(origin: string): boolean {
    // A registry of the embedder's that cannot list its clients: every origin here, the request's client decides.
    if (this.configured === undefined) return true
    if (this.options.now() >= this.loadedAt + Math.max(this.options.originsTtl, 1)) void this.refresh()
    return this.configured.has(origin) || this.stored.has(origin)
  }

  stale(): void {
    this.loadedAt = Number.NEGATIVE_INFINITY
    this.generation++
    void this.refresh()
  }

  private refresh(): Promise<void> {
    if (this.loading !== undefined) return this.loading
    const startedAt = this.options.now()
    const generation = this.generation
    this.loading = this.list()
      .then((origins) => {
        this.stored = origins
        // A change made here while listing may be missing from it: list again at the next question.
        this.loadedAt = generation === this.generation ? startedAt : Number.NEGATIVE_INFINITY
      })
      // An unreachable store keeps the last index; the next question tries again.
      .catch(() => {})
      .finally(() => {
        this.loading = undefined
      })
    return this.loading
  }

  private async list(): Promise<Set<string>> {
    const origins = new Set<string>()
    let after: string | undefined
    for (;;) {
      const page = await this.options.store.list({ ...(after !== undefined && { after }), limit: CLIENT_PAGE_LIMIT })
      for (const record of page) {
        try {
          for (const o of clientFromRecord(record, `stored client "${record.clientId}"`, this.options.prepare).allowedOrigins) origins.add(o)
        } catch {
          // Reported when the client itself is looked up; it allows nothing meanwhile.
        }
      }
      if (page.length < CLIENT_PAGE_LIMIT) return origins
      after = page[page.length - 1]!.clientId
    }
  }
}
