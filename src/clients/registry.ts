import { prepareClient, type Client, type ClientMetadata, type PrepareClientOptions } from './metadata.js'

/**
 * Where clients are looked up. A registry backed by a database returns a
 * promise; the static one answers synchronously and saves the async hop.
 */
export interface ClientRegistry {
  find(clientId: string): Client | undefined | Promise<Client | undefined>
  /** Every client, when the registry can list them (used to validate configuration). */
  list?(): Iterable<Client>
  /**
   * A fresher copy of a client than `find` gave, when the registry caches and
   * the cached copy may be stale; undefined when it has none fresher. Client
   * authentication asks once after a failure, so that a secret rotated or a
   * key replaced through another process works here at once.
   */
  reload?(clientId: string): Promise<Client | undefined> | undefined
  /**
   * Whether some client allows `origin` (CORS preflights, which name no
   * client). Without it, a registry that can `list` is asked once at start,
   * and one that cannot allows every origin there and leaves the decision to
   * the request's own client.
   */
  allowsOrigin?(origin: string): boolean
}

/**
 * The default registry: a fixed list of RFC 7591 client metadata, checked once.
 *
 * @example
 * const clients = new StaticClientRegistry([{ client_id: 'svc', client_secret: 's3cret', grant_types: ['client_credentials'] }])
 */
export class StaticClientRegistry implements ClientRegistry {
  private readonly clients = new Map<string, Client>()

  constructor(metadata: readonly ClientMetadata[], path = 'clients', options: PrepareClientOptions = {}) {
    if (!Array.isArray(metadata)) throw new TypeError(`${path}: must be an array of client metadata`)
    metadata.forEach((m, i) => {
      const client = prepareClient(m, `${path}[${i}]`, options)
      if (this.clients.has(client.id)) throw new TypeError(`${path}[${i}].client_id: "${client.id}" is registered twice`)
      this.clients.set(client.id, client)
    })
  }

  find(clientId: string): Client | undefined {
    return this.clients.get(clientId)
  }

  list(): Iterable<Client> {
    return this.clients.values()
  }
}
