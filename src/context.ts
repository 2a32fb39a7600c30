import type { ClientRegistry } from './clients/registry.js'
import type { EventHub } from './events/events.js'
import type { GrantHandler } from './grants/types.js'
import type { KeyStore } from './keys/key-store.js'
import type { Storage } from './storage/types.js'

/** Absolute URLs of the endpoints, derived from the issuer. */
export interface EndpointUrls {
  token: string
  jwks: string
}

/**
 * Everything an endpoint or grant needs, resolved once from the options. Grants
 * written by embedders receive it as `ctx.server`.
 */
export interface ServerContext {
  readonly issuer: string
  readonly endpoints: EndpointUrls
  /** Path of each endpoint as routed (issuer path + relative path). */
  readonly routes: Readonly<Record<keyof EndpointUrls | 'metadata' | 'openidConfiguration', string>>
  readonly clients: ClientRegistry
  readonly storage: Storage
  readonly keys: KeyStore
  readonly grants: ReadonlyMap<string, GrantHandler>
  readonly accessTokenFormat: 'jwt' | 'opaque'
  /** `aud` of access tokens. */
  readonly accessTokenAudience: string | string[]
  readonly ttl: {
    readonly accessToken: number
    readonly refreshToken: number
    readonly refreshTokenAbsolute: number
    readonly authorizationCode: number
    readonly deviceCode: number
    readonly idToken: number
  }
  readonly clockSkew: number
  readonly maxAssertionLifetime: number
  /** Scopes the server knows; undefined means any scope a client is registered for. */
  readonly scopes: ReadonlySet<string> | undefined
  readonly maxBodyBytes: number
  readonly metadataMaxAge: number
  readonly events: EventHub
  /** Seconds since the epoch. */
  now(): number
  randomId(): string
  /** 256 bits of randomness, base64url. */
  randomToken(): string
}
