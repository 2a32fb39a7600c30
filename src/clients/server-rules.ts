import type { GrantHandler } from '../grants/types.js'
import type { KeyStore } from '../keys/key-store.js'
import { canSignIdTokens } from '../tokens/id-token.js'
import type { Client } from './metadata.js'

/** What a server offers that a client's registration must fit. */
export interface ServerClientRules {
  readonly grants: ReadonlyMap<string, GrantHandler>
  /** Scopes the server knows; undefined means any. */
  readonly scopes: ReadonlySet<string> | undefined
  readonly keys: KeyStore
  /** A user source is configured. */
  readonly users: boolean
  /** People can sign in: users for the built-in pages, or the embedder's `interaction.url`. */
  readonly signIn: boolean
  now(): number
}

/**
 * Checks that this server can serve a client as registered: it can sign the
 * client's ID tokens, has each of its grants, knows its scopes, and has what
 * those grants need. The rules a configured client meets at start, for a
 * stored client at each change.
 *
 * @throws TypeError whose message starts with `path` and the field
 * @example
 * checkClientForServer(client, rules, 'metadata')
 */
export function checkClientForServer(client: Client, rules: ServerClientRules, path: string): void {
  checkClientMetadataForServer(client, rules, path)
  // The authorization endpoint is where a person signs in (RFC 6749 §3.1).
  if (client.responseTypes.size > 0 && !rules.signIn) {
    throw new TypeError(`${path}.response_types: this server has no sign-in (no users and no interaction.url), which the authorization endpoint needs`)
  }
  for (const type of client.grantTypes) {
    const needs = rules.grants.get(type)?.requires ?? []
    if (needs.includes('users') && !rules.users) throw new TypeError(`${path}.grant_types: the ${type} grant needs users, which this server has none of`)
    if (needs.includes('sign-in') && !rules.signIn) throw new TypeError(`${path}.grant_types: the ${type} grant needs sign-in, which this server has not (no users and no interaction.url)`)
  }
}

/**
 * The metadata rules of `checkClientForServer` alone (ID token algorithm,
 * grant types, scopes): at start, a configured client's prerequisites are
 * checked apart, by `checkGrantPrerequisites`, with messages that name the option to add.
 */
export function checkClientMetadataForServer(client: Client, rules: Pick<ServerClientRules, 'grants' | 'scopes' | 'keys' | 'now'>, path: string): void {
  // OIDC Registration §2: the server must be able to sign with the algorithm the client registered.
  if (!canSignIdTokens(rules.keys, client, rules.now())) {
    const source = client.metadata.id_token_signed_response_alg === undefined ? ' (the default, OIDC Core §3.1.3.7)' : ''
    throw new TypeError(`${path}.id_token_signed_response_alg: the server has no ${client.idTokenAlg} signing key${source}; add one to keys`)
  }
  for (const g of client.grantTypes) {
    // implicit is a response type at the authorization endpoint, not a token-endpoint grant.
    if (!rules.grants.has(g) && g !== 'implicit') {
      throw new TypeError(`${path}.grant_types: "${g}" is not a grant this server supports (${[...rules.grants.keys()].join(', ')})`)
    }
  }
  if (rules.scopes !== undefined) {
    for (const s of client.scopes) {
      if (!rules.scopes.has(s)) throw new TypeError(`${path}.scope: "${s}" is not in scopes`)
    }
  }
}
