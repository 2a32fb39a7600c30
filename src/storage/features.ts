import type { Storage } from './types.js'

/** The name of a store on `Storage`, e.g. `'deviceCodes'`. */
export type StoreName = Exclude<keyof Storage, 'probe'>

/**
 * Which stores each feature needs, so that a server can check a backend at
 * construction (and name what is missing) instead of failing at the first
 * request. A new feature adds one entry here and an optional group in
 * `types.ts`; backends written before it keep working while it is off.
 *
 * @example
 * for (const store of FEATURE_STORES.deviceFlow) requireStore(storage, store, 'the device flow')
 */
export const FEATURE_STORES = {
  /** Token issuance, introspection, revocation, refresh rotation, assertion replay checks. */
  core: ['accessTokens', 'refreshTokens', 'grants', 'replay'],
  /** The authorization endpoint with login, consent and single sign-on. */
  authorization: ['authorizationCodes', 'interactions', 'sessions', 'consents'],
  /** Throttling of password failures (resource owner password grant, login page). */
  throttling: ['rateLimits'],
  /** RFC 8628: the device authorization endpoint, the verification page and the device_code grant. */
  deviceFlow: ['deviceCodes', 'interactions', 'rateLimits'],
  /** Signing keys shared by several processes (`createSharedKeyStore(storage.keys)`). */
  sharedKeys: ['keys'],
  /** Clients kept in storage beside the static list: `server.clients`, and lookups of ids the static list lacks. */
  storedClients: ['clients'],
  /** Revocation by cutoff: every token of a client, or of a person at a client (admin API, `grantkit grants revoke`). */
  tokenCutoffs: ['tokenCutoffs'],
  /** RFC 9126: the pushed authorization request endpoint and the request_uri it hands out. */
  pushedAuthorization: ['pushedAuthorizationRequests'],
  /** Audit events shared by processes and kept across restarts (admin console); without it the console shows what its process saw. */
  auditEvents: ['auditEvents'],
} as const satisfies Record<string, readonly StoreName[]>

/** A feature named in `FEATURE_STORES`. */
export type StorageFeature = keyof typeof FEATURE_STORES

/** How each feature is named in error messages. */
const FEATURE_TITLES: Record<StorageFeature, string> = {
  core: 'issuing tokens',
  authorization: 'the authorization endpoint',
  throttling: 'throttling',
  deviceFlow: 'the device flow',
  sharedKeys: 'shared signing keys',
  storedClients: 'stored clients',
  tokenCutoffs: 'revocation by cutoff',
  pushedAuthorization: 'pushed authorization requests',
  auditEvents: 'the shared audit log',
}

/**
 * The store `name` of `storage`, or a TypeError naming the store and the
 * feature that needs it. The core reaches optional stores through this, so a
 * backend without them fails with a message that says what to add, never with
 * "cannot read properties of undefined".
 *
 * @throws TypeError when the store is missing
 * @example
 * const deviceCodes = requireStore(ctx.storage, 'deviceCodes', 'the device flow')
 */
export function requireStore<K extends StoreName>(storage: Storage, name: K, feature: string): NonNullable<Storage[K]> {
  const store = storage[name]
  if (store === undefined || store === null) {
    throw new TypeError(`storage.${name}: missing, and ${feature} needs it; add it to the storage or turn ${feature} off`)
  }
  return store as NonNullable<Storage[K]>
}

/**
 * The stores of `features` that `storage` lacks, as `storage.name` strings, in
 * `FEATURE_STORES` order without repeats; empty when it has them all.
 *
 * @example
 * missingStores(myStorage, ['core', 'deviceFlow']) // ['storage.deviceCodes']
 */
export function missingStores(storage: Storage, features: readonly StorageFeature[]): string[] {
  const missing = new Set<string>()
  for (const feature of features) {
    for (const name of FEATURE_STORES[feature]) if (storage[name] === undefined || storage[name] === null) missing.add(`storage.${name}`)
  }
  return [...missing]
}

/**
 * Checks at construction that `storage` has every store `features` need.
 *
 * @throws TypeError naming the first missing store and its feature
 * @example
 * checkStorage(options.storage, ['core', 'authorization', 'throttling', ...(deviceFlowOn ? ['deviceFlow'] as const : [])])
 */
export function checkStorage(storage: Storage, features: readonly StorageFeature[]): void {
  if (typeof storage !== 'object' || storage === null) throw new TypeError('storage: must be an object of stores')
  for (const feature of features) {
    for (const name of FEATURE_STORES[feature]) requireStore(storage, name, FEATURE_TITLES[feature])
  }
}
