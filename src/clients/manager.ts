import type { EventHub } from '../events/events.js'
import { requireStore } from '../storage/features.js'
import { CLIENT_PAGE_LIMIT } from '../storage/policy.js'
import type { ClientStore, Storage, StoredClientRecord } from '../storage/types.js'
import type { JSONWebKeySet } from '../crypto/jose.js'
import { hashClientSecret, type ClientMetadata, type PrepareClientOptions } from './metadata.js'
import type { ClientRegistry } from './registry.js'
import { checkClientForServer, type ServerClientRules } from './server-rules.js'
import { clientFromRecord } from './stored.js'

/** Why a management call was refused. */
export type ClientManagementErrorCode =
  /** RFC 7591 §3.2.2: a field of the metadata is wrong (`field` names it). */
  | 'invalid_client_metadata'
  /** RFC 7591 §3.2.2: a redirect URI is wrong. */
  | 'invalid_redirect_uri'
  /** No stored client has the id. */
  | 'not_found'
  /** The id is taken, or the client changed since the version the caller named. */
  | 'conflict'
  /** The id is a configured client's: the configuration, not the store, owns it. */
  | 'configured_client'
  /** The client authenticates without a secret, so there is none to rotate. */
  | 'no_secret'

/**
 * A refused management call. `message` is safe to show to whoever made the
 * call (it names the field and the rule, never a secret).
 */
export class ClientManagementError extends Error {
  constructor(
    readonly code: ClientManagementErrorCode,
    message: string,
    /** The metadata field at fault, e.g. `redirect_uris[0]`. */
    readonly field?: string,
  ) {
    super(message)
    this.name = 'ClientManagementError'
  }
}

/** RFC 7591 client metadata as given to `create` and `update`: never a secret, which the server makes. */
export type ClientRegistration = Omit<ClientMetadata, 'client_id' | 'client_secret' | 'client_secret_hash'> & {
  /** Optional at `create` (a random id is made); at `update` it must be the client's or absent. */
  client_id?: string
}

/** A stored client as the management interface shows it: no secret, no hash. */
export interface ManagedClient {
  clientId: string
  /** The registered metadata with `client_id`, `client_id_issued_at` and `client_secret_expires_at` (RFC 7591 §3.2.1). */
  metadata: ClientMetadata & { client_id_issued_at: number }
  /** Whether the client has a secret (client_secret_basic / client_secret_post). */
  hasSecret: boolean
  /** Until when (seconds since the epoch) the secret replaced by the last rotation still works; absent when none does. */
  previousSecretValidUntil?: number
  createdAt: number
  updatedAt: number
  /** Changes with every write; pass it as `expectedVersion` to update only what you read. */
  version: number
}

/** A client with its new secret. The secret is shown this once: only its hash is stored. */
export interface ClientWithSecret {
  client: ManagedClient
  /** Present when the call made a secret (create or update to a secret method, rotateSecret). */
  secret?: string
}

/**
 * The registration access token a client registered through RFC 7591 gets
 * (RFC 7592 §3), as stored: only its hash. Given by the registration endpoint;
 * other callers leave it out, and their clients cannot be managed through RFC 7592.
 */
export interface RegistrationTokenHash {
  /** `sha256:` and the base64url SHA-256 of the token. */
  hash: string
  /** Seconds since the epoch at which it stops working; absent: never. */
  expiresAt?: number
}

/** Options of `rotateSecret`. Times in seconds since the epoch. */
export interface RotateSecretOptions {
  /**
   * Until when the current secret keeps working beside the new one. Default:
   * now + 86400 (a day to roll the new secret out). Now or earlier ends it at
   * once. A rotation ends any earlier overlap: there is one previous secret.
   */
  oldSecretValidUntil?: number
  /** When the new secret expires (`client_secret_expires_at`); 0 never. Default: as the current one. */
  secretExpiresAt?: number
}

/**
 * The programmatic interface to stored clients: what dynamic registration
 * (RFC 7591/7592), an admin API or a CLI build on. Changes are in force in
 * this process at once, and in every process sharing the storage within the
 * cache TTL (`clientCacheTtl`).
 *
 * @example
 * const { client, secret } = await server.clients.create({ redirect_uris: ['https://app.example/cb'], scope: 'openid' })
 * // show `secret` once; later:
 * const rotated = await server.clients.rotateSecret(client.clientId, { oldSecretValidUntil: Date.now() / 1000 + 3600 })
 */
export interface ClientManager {
  /** Registers a client; returns it with its secret when its method uses one. */
  create(metadata: ClientRegistration, options?: { registrationToken?: RegistrationTokenHash }): Promise<ClientWithSecret>
  /** A stored client, or undefined (configured clients are not shown here). */
  get(clientId: string): Promise<ManagedClient | undefined>
  /** One page of stored clients in id order; `next` is the `after` of the next page, absent on the last. */
  list(page?: { after?: string; limit?: number }): Promise<{ clients: ManagedClient[]; next?: string }>
  /**
   * Replaces a client's metadata whole (RFC 7592 §2.2). The secret stays; a
   * client moving to a secret method gets one (returned), one moving away
   * loses it. With `expectedVersion`, refused ('conflict') when the client
   * changed since.
   */
  update(clientId: string, metadata: ClientRegistration, options?: { expectedVersion?: number; registrationToken?: RegistrationTokenHash }): Promise<ClientWithSecret>
  /** Deletes a stored client. False when there was none. */
  delete(clientId: string): Promise<boolean>
  /** Makes a new secret, working at once; the old one works until `oldSecretValidUntil`. */
  rotateSecret(clientId: string, options?: RotateSecretOptions): Promise<Required<ClientWithSecret>>
  /** Replaces the client's public keys (`jwks`), for private_key_jwt and its JWT bearer assertions. */
  replaceKeys(clientId: string, jwks: JSONWebKeySet): Promise<ManagedClient>
  /** Stored clients whose id the configuration now also names: the configured one is in force, these are ignored. */
  shadowed(): Promise<string[]>
}

/** Default of `RotateSecretOptions.oldSecretValidUntil`, in seconds after the rotation. */
export const SECRET_ROTATION_OVERLAP = 86_400

/** RFC 6749 Appendix A.1: client_id = *VSCHAR (visible ASCII and space). */
const CLIENT_ID = /^[\x20-\x7e]{1,255}$/

/** Attempts of a change that lost a compare-and-swap to a concurrent one before giving up with 'conflict'. */
const CAS_ATTEMPTS = 5

/** What the manager works with. */
export interface ClientManagerOptions {
  storage: Storage
  /** The configured clients: their ids are refused. */
  configured: ClientRegistry
  rules: ServerClientRules
  prepare: PrepareClientOptions
  events: EventHub
  randomId(): string
  /** 256 random bits, base64url: a new secret. */
  randomToken(): string
  /** Called after each change this process made, to drop what it cached. */
  changed(clientId: string): void
}

const SECRET_METHODS = new Set(['client_secret_basic', 'client_secret_post'])

function methodOf(metadata: ClientRegistration): string {
  return typeof metadata.token_endpoint_auth_method === 'string' ? metadata.token_endpoint_auth_method : 'client_secret_basic'
}

/** The record fields of a registration access token. */
function registrationFields(token: RegistrationTokenHash | undefined): Pick<StoredClientRecord, 'registrationTokenHash' | 'registrationTokenExpiresAt'> {
  if (token === undefined) return {}
  return { registrationTokenHash: token.hash, ...(token.expiresAt !== undefined && { registrationTokenExpiresAt: token.expiresAt }) }
}

/** The registration access token a record holds, if any. */
function registrationTokenOf(record: StoredClientRecord): RegistrationTokenHash | undefined {
  if (record.registrationTokenHash === undefined) return undefined
  return { hash: record.registrationTokenHash, ...(record.registrationTokenExpiresAt !== undefined && { expiresAt: record.registrationTokenExpiresAt }) }
}

/** The ManagedClient view of a record. */
function view(record: StoredClientRecord): ManagedClient {
  return {
    clientId: record.clientId,
    metadata: {
      ...(record.metadata as Partial<ClientMetadata>),
      client_id: record.clientId,
      client_id_issued_at: record.createdAt,
      ...(record.secretHash !== undefined && { client_secret_expires_at: record.secretExpiresAt }),
    },
    hasSecret: record.secretHash !== undefined,
    ...(record.previousSecretValidUntil !== undefined && { previousSecretValidUntil: record.previousSecretValidUntil }),
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    version: record.version,
  }
}

/**
 * Builds the `ClientManager` of a server. Every write is checked by the rules
 * of a configured client (RFC 7591 metadata, the server's grants, scopes and
 * keys) before it is stored.
 */
export function createClientManager(options: ClientManagerOptions): ClientManager {
  const { rules, prepare, events } = options
  const store = (): ClientStore => requireStore(options.storage, 'clients', 'stored clients (server.clients)')
  const now = (): number => rules.now()

  const newSecret = (): { secret: string; hash: string } => {
    const secret = options.randomToken()
    // SHA-256, not a slow password hash: the server makes every stored secret
    // with 256 random bits, which no guessing at any speed can reach.
    return { secret, hash: 'sha256:' + hashClientSecret(secret).toString('base64url') }
  }

  /** Checks a record as a client of this server would be; a refusal names the field. */
  const check = (record: StoredClientRecord): void => {
    try {
      checkClientForServer(clientFromRecord(record, 'metadata', prepare), rules, 'metadata')
    } catch (error) {
      if (!(error instanceof TypeError)) throw error
      const m = /^metadata\.?([^:]*): (.*)$/s.exec(error.message)
      const field = m?.[1] === '' ? undefined : m?.[1]
      const code = field?.startsWith('redirect_uris') === true ? 'invalid_redirect_uri' : 'invalid_client_metadata'
      throw new ClientManagementError(code, error.message, field)
    }
  }

  const cleanMetadata = (metadata: ClientRegistration, clientId: string): Record<string, unknown> => {
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
      throw new ClientManagementError('invalid_client_metadata', 'metadata: must be an object of RFC 7591 client metadata')
    }
    for (const field of ['client_secret', 'client_secret_hash'] as const) {
      if (field in metadata) throw new ClientManagementError('invalid_client_metadata', `metadata.${field}: the server makes the secret and shows it once; leave it out`, field)
    }
    if (metadata.client_id !== undefined && metadata.client_id !== clientId) {
      throw new ClientManagementError('invalid_client_metadata', `metadata.client_id: must be "${clientId}" or absent`, 'client_id')
    }
    // RFC 7591 §3.2.1 fields are the server's to say, never registered.
    const { client_id: _id, client_id_issued_at: _at, client_secret_expires_at: _exp, ...rest } = metadata as ClientRegistration & { client_id_issued_at?: unknown }
    if (methodOf(metadata) === 'client_secret_jwt') {
      throw new ClientManagementError(
        'invalid_client_metadata',
        'metadata.token_endpoint_auth_method: client_secret_jwt is not offered to stored clients: it needs the secret in plain form, and stored clients keep only its hash; use private_key_jwt',
        'token_endpoint_auth_method',
      )
    }
    // A JSON round trip: what is stored is what every backend gives back.
    return JSON.parse(JSON.stringify(rest)) as Record<string, unknown>
  }

  const secretExpiry = (value: unknown, field: string): number => {
    if (value === undefined) return 0
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new ClientManagementError('invalid_client_metadata', `${field}: must be seconds since the epoch, or 0 for never`, field.replace(/^metadata\./, ''))
    }
    return value
  }

  const configuredHas = async (clientId: string): Promise<boolean> => (await options.configured.find(clientId)) !== undefined

  const read = async (clientId: string): Promise<StoredClientRecord> => {
    const record = typeof clientId === 'string' ? await store().get(clientId) : null
    if (record === null) throw new ClientManagementError('not_found', `no stored client "${String(clientId).slice(0, 255)}"`)
    return record
  }

  /** Applies `change` by compare-and-swap, reading again when another writer won, up to CAS_ATTEMPTS times. */
  const modify = async <T>(
    clientId: string,
    expectedVersion: number | undefined,
    change: (current: StoredClientRecord, at: number) => { record: StoredClientRecord; result: T },
  ): Promise<T> => {
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const current = await read(clientId)
      if (expectedVersion !== undefined && current.version !== expectedVersion) {
        throw new ClientManagementError('conflict', `client "${clientId}" is at version ${current.version}, not ${expectedVersion}`)
      }
      const { record, result } = change(current, now())
      check(record)
      if (await store().update(record, current.version)) {
        options.changed(clientId)
        return result
      }
      if (expectedVersion !== undefined) break
    }
    throw new ClientManagementError('conflict', `client "${clientId}" changed while being updated; try again`)
  }

  const emit = (clientId: string, change: 'created' | 'updated' | 'deleted' | 'secret.rotated' | 'keys.replaced'): void => {
    events.emit({ type: 'client.changed', clientId, change })
  }

  return {
    async create(metadata, opts = {}) {
      const given = (metadata as { client_id?: unknown } | null)?.client_id
      if (given !== undefined && (typeof given !== 'string' || !CLIENT_ID.test(given))) {
        throw new ClientManagementError('invalid_client_metadata', 'metadata.client_id: must be 1 to 255 visible ASCII characters or spaces (RFC 6749 Appendix A.1)', 'client_id')
      }
      const clientId = (given as string | undefined) ?? options.randomId()
      const rest = cleanMetadata(metadata, clientId)
      if (await configuredHas(clientId)) throw new ClientManagementError('configured_client', `client_id "${clientId}" is a configured client`, 'client_id')
      const at = now()
      const made = SECRET_METHODS.has(methodOf(metadata)) ? newSecret() : undefined
      const record: StoredClientRecord = {
        clientId,
        metadata: rest,
        ...(made !== undefined && { secretHash: made.hash }),
        secretExpiresAt: made === undefined ? 0 : secretExpiry(metadata.client_secret_expires_at, 'metadata.client_secret_expires_at'),
        ...registrationFields(opts.registrationToken),
        createdAt: at,
        updatedAt: at,
        version: 1,
      }
      check(record)
      if (!(await store().create(record))) throw new ClientManagementError('conflict', `client_id "${clientId}" is taken`, 'client_id')
      options.changed(clientId)
      emit(clientId, 'created')
      return { client: view(record), ...(made !== undefined && { secret: made.secret }) }
    },

    async get(clientId) {
      const record = typeof clientId === 'string' ? await store().get(clientId) : null
      return record === null ? undefined : view(record)
    },

    async list(page = {}) {
      const limit = page.limit ?? 100
      if (!Number.isInteger(limit) || limit < 1 || limit > CLIENT_PAGE_LIMIT) {
        throw new ClientManagementError('invalid_client_metadata', `limit: must be an integer from 1 to ${CLIENT_PAGE_LIMIT}`)
      }
      // One more than asked tells whether a next page exists.
      const records = await store().list({ ...(page.after !== undefined && { after: page.after }), limit: limit + 1 })
      const shown = records.slice(0, limit)
      return { clients: shown.map(view), ...(records.length > limit && { next: shown[shown.length - 1]!.clientId }) }
    },

    async update(clientId, metadata, opts = {}) {
      const rest = cleanMetadata(metadata, clientId)
      const result = await modify(clientId, opts.expectedVersion, (current, at) => {
        const wantsSecret = SECRET_METHODS.has(methodOf(metadata))
        const made = wantsSecret && current.secretHash === undefined ? newSecret() : undefined
        const record: StoredClientRecord = {
          clientId,
          metadata: rest,
          secretExpiresAt: wantsSecret ? secretExpiry(metadata.client_secret_expires_at ?? current.secretExpiresAt, 'metadata.client_secret_expires_at') : 0,
          // RFC 7592 §2.2: an update through the registration endpoint rotates the token; any other keeps it.
          ...registrationFields(opts.registrationToken ?? registrationTokenOf(current)),
          createdAt: current.createdAt,
          updatedAt: at,
          version: current.version + 1,
        }
        if (wantsSecret) {
          record.secretHash = made?.hash ?? current.secretHash
          if (made === undefined && current.previousSecretHash !== undefined && current.previousSecretValidUntil !== undefined) {
            record.previousSecretHash = current.previousSecretHash
            record.previousSecretValidUntil = current.previousSecretValidUntil
          }
        }
        return { record, result: { client: view(record), ...(made !== undefined && { secret: made.secret }) } }
      })
      emit(clientId, 'updated')
      return result
    },

    async delete(clientId) {
      if (typeof clientId !== 'string') return false
      const deleted = await store().delete(clientId)
      if (deleted) {
        options.changed(clientId)
        emit(clientId, 'deleted')
      }
      return deleted
    },

    async rotateSecret(clientId, opts = {}) {
      const result = await modify(clientId, undefined, (current, at) => {
        if (current.secretHash === undefined) throw new ClientManagementError('no_secret', `client "${clientId}" authenticates without a secret`)
        const until = opts.oldSecretValidUntil ?? at + SECRET_ROTATION_OVERLAP
        if (typeof until !== 'number' || !Number.isFinite(until) || until < 0) {
          throw new ClientManagementError('invalid_client_metadata', 'oldSecretValidUntil: must be seconds since the epoch')
        }
        const made = newSecret()
        const record: StoredClientRecord = {
          ...current,
          secretHash: made.hash,
          secretExpiresAt: secretExpiry(opts.secretExpiresAt ?? current.secretExpiresAt, 'secretExpiresAt'),
          updatedAt: at,
          version: current.version + 1,
        }
        delete record.previousSecretHash
        delete record.previousSecretValidUntil
        // An overlap ending now or earlier is no overlap: the old secret is not kept at all.
        if (until > at) {
          record.previousSecretHash = current.secretHash
          record.previousSecretValidUntil = until
        }
        return { record, result: { client: view(record), secret: made.secret } }
      })
      emit(clientId, 'secret.rotated')
      return result
    },

    async replaceKeys(clientId, jwks) {
      const client = await modify(clientId, undefined, (current, at) => {
        const record = { ...current, metadata: { ...current.metadata, jwks: JSON.parse(JSON.stringify(jwks ?? null)) as unknown }, updatedAt: at, version: current.version + 1 }
        return { record, result: view(record) }
      })
      emit(clientId, 'keys.replaced')
      return client
    },

    async shadowed() {
      const list = options.configured.list?.()
      if (list === undefined) return []
      const out: string[] = []
      for (const client of list) if ((await store().get(client.id)) !== null) out.push(client.id)
      return out
    },
  }
}
