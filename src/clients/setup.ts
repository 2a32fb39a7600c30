import type { EventHub } from '../events/events.js'
import type { GrantHandler } from '../grants/types.js'
import type { KeyStore } from '../keys/key-store.js'
import type { Storage } from '../storage/types.js'
import { ClientCache } from './cache.js'
import { createClientManager, type ClientManager } from './manager.js'
import { MetadataDocumentRegistry, metadataDocumentKind, type ClientIdMetadataSettings } from './metadata-document.js'
import type { ClientRegistry } from './registry.js'
import type { RemoteDocuments } from './remote-documents.js'
import { StoredClientRegistry } from './stored.js'

/** The resolved options the clients of a server are built from. */
export interface ClientSetupOptions {
  clients: ClientRegistry
  storage: Storage
  clientCacheTtl: number
  grants: ReadonlyMap<string, GrantHandler>
  scopes: ReadonlySet<string> | undefined
  keys: KeyStore
  users: unknown
  interactionUrl: unknown
  allowHttpRedirectUris: boolean
  /** SECURITY: option `allowPrivateNetworkFetches`, for stored clients' URLs as for configured ones. */
  allowPrivateNetworkFetches: boolean
  /** Option `clientIdMetadataDocuments`. */
  clientIdMetadataDocuments: ClientIdMetadataSettings
  /** The server's cache of fetched documents (key sets, metadata documents). */
  remoteDocuments: RemoteDocuments
  now(): number
  randomId(): string
  randomToken(): string
}

/**
 * The registry a server looks clients up in and its `ClientManager`. With a
 * storage that keeps clients, the registry is the configured clients then the
 * stored ones (cached per process); without, the configured registry as it
 * is, and the manager's calls fail naming the missing store. With
 * `clientIdMetadataDocuments.enabled`, an https client_id unknown to both is
 * then looked up as a Client ID Metadata Document. At start, stored
 * clients that a configured id now shadows are reported as `client.ignored`
 * events, in the background.
 */
export function setupClients(o: ClientSetupOptions, events: EventHub): { registry: ClientRegistry; manager: ClientManager } {
  const prepare = { allowHttpRedirectUris: o.allowHttpRedirectUris, allowPrivateNetworkFetches: o.allowPrivateNetworkFetches }
  const store = o.storage.clients
  const stored =
    store === undefined
      ? undefined
      : new StoredClientRegistry({
          base: o.clients,
          store,
          cache: new ClientCache({ ttl: o.clientCacheTtl, now: o.now }),
          prepare,
          originsTtl: o.clientCacheTtl,
          now: o.now,
          onInvalid: (clientId, error) => events.emit({ type: 'client.ignored', clientId, reason: 'invalid', detail: error instanceof Error ? error.message : String(error) }),
        })
  const signIn = o.users !== undefined || o.interactionUrl !== undefined
  const rules = { grants: o.grants, scopes: o.scopes, keys: o.keys, users: o.users !== undefined, signIn, now: o.now }
  const manager = createClientManager({
    storage: o.storage,
    configured: o.clients,
    rules,
    prepare,
    events,
    randomId: o.randomId,
    randomToken: o.randomToken,
    changed: (clientId) => stored?.changed(clientId),
  })
  if (stored !== undefined) {
    stored.warm()
    manager.shadowed().then(
      (ids) => {
        for (const clientId of ids) events.emit({ type: 'client.ignored', clientId, reason: 'shadowed', detail: 'the configuration names this client_id; the configured client is in force' })
      },
      // An unreachable store at start: lookups will say so, with a 503, when they need it.
      () => {},
    )
  }
  const registry = stored ?? o.clients
  if (!o.clientIdMetadataDocuments.enabled) return { registry, manager }
  const documents = new MetadataDocumentRegistry({
    base: registry,
    documents: o.remoteDocuments,
    kind: metadataDocumentKind({ settings: o.clientIdMetadataDocuments, prepare, server: rules }),
    settings: o.clientIdMetadataDocuments,
    allowPrivate: o.allowPrivateNetworkFetches,
    onRefused: (clientId, detail) => events.emit({ type: 'client.ignored', clientId, reason: 'invalid', detail }),
  })
  return { registry: documents, manager }
}
