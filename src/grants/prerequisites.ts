import type { ClientRegistry } from '../clients/registry.js'
import type { Storage } from '../storage/types.js'
import type { GrantHandler } from './types.js'

/** What the server has that grants may need. */
export interface ServerAbilities {
  /** A user source is configured. */
  users: boolean
  /** People can sign in: the built-in pages (which need users) or the embedder's own `interaction.url`. */
  signIn: boolean
  storage: Storage
}

/**
 * Checks at construction what registered grants and statically listed clients
 * need, so that a gap is a TypeError naming the field and the client, never a
 * failure at someone's first request. Each grant says what it needs
 * (`requires`, `stores`); nothing here names a particular grant.
 */
export function checkGrantPrerequisites(grants: ReadonlyMap<string, GrantHandler>, clients: ClientRegistry, has: ServerAbilities): void {
  for (const grant of grants.values()) {
    for (const store of grant.stores ?? []) {
      if (has.storage[store] === undefined) throw new TypeError(`storage.${store}: required by the ${grant.grantType} grant`)
    }
  }
  if (clients.list === undefined) return
  let i = 0
  for (const client of clients.list()) {
    // The authorization endpoint is where a person signs in (RFC 6749 §3.1).
    if (client.responseTypes.size > 0 && !has.signIn) {
      throw new TypeError(`users: required by the built-in login page, which clients[${i}] ("${client.id}") reaches through the authorization endpoint; or give interaction.url for your own UI`)
    }
    for (const type of client.grantTypes) {
      const needs = grants.get(type)?.requires ?? []
      if (needs.includes('users') && !has.users) {
        throw new TypeError(`users: required by the ${type} grant, which clients[${i}] ("${client.id}") has`)
      }
      if (needs.includes('sign-in') && !has.signIn) {
        throw new TypeError(`users: required by the built-in login page of the ${type} grant, which clients[${i}] ("${client.id}") has; or give interaction.url for your own UI`)
      }
    }
    i++
  }
}
