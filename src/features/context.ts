import type { ClientRegistry } from '../clients/registry.js'
import type { GrantkitEventData } from '../events/events.js'
import type { KeyStore } from '../keys/key-store.js'
import type { Storage } from '../storage/types.js'

/**
 * What an endpoint of a feature receives: the server's identity, its endpoint
 * URLs, the clock and the collaborators an endpoint may need. Built-in
 * endpoints receive the same object (with more that is internal).
 *
 * @example
 * handle(ctx, req) {
 *   return { status: 200, headers: {}, body: JSON.stringify({ issuer: ctx.issuer, now: ctx.now() }) }
 * }
 */
export interface EndpointContext {
  readonly issuer: string
  /** Absolute URL of every enabled endpoint, by endpoint name (`token`, `jwks`, …, and your own). */
  readonly endpoints: Readonly<Record<string, string>>
  /** Seconds since the epoch. */
  now(): number
  /** 256 bits of randomness, base64url. */
  randomToken(): string
  readonly clients: ClientRegistry
  readonly storage: Storage
  readonly keys: KeyStore
  /** Largest accepted request body, in bytes. */
  readonly maxBodyBytes: number
  /** Seconds public documents (discovery, JWKS) may be cached. */
  readonly metadataMaxAge: number
  /** Reports an event to the server's listeners (`server.on`), stamped with the time and `requestId` (pass `req.requestId`). */
  readonly events: { emit(event: GrantkitEventData, requestId?: string): void }
}
