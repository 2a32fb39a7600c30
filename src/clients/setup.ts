import type { EventHub } from '../events/events.js'
import type { GrantHandler } from '../grants/types.js'
import type { KeyStore } from '../keys/key-store.js'
import type { Storage } from '../storage/types.js'
import { ClientCache } from './cache.js'
import { createClientManager, type ClientManager } from './manager.js'
import type { ClientRegistry } from './registry.js'
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
  now(): number
  randomId(): string
  randomToken(): string
}

/**
 * The registry a server looks clients up in and its `ClientManager`. With a
 * storage that keeps clients, the registry is the configured clients then the
 * stored ones (cached per process); without, the configured registry as it
 * is, and the manager's calls fail naming the missing store. At start, stored
 * clients that a configured id now shadows are reported as `client.ignored`
 * events, in the background.
 */
export function setupClients(o: ClientSetupOptions, events: EventHub): { registry: ClientRegistry; manager: ClientManager } {
  const prepare = { allowHttpRedirectUris: o.allowHttpRedirectUris }
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
  const manager = createClientManager({
    storage: o.storage,
    configured: o.clients,
    rules: { grants: o.grants, scopes: o.scopes, keys: o.keys, users: o.users !== undefined, signIn, now: o.now },
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
  return { registry: stored ?? o.clients, manager }
}
