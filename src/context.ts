import type { AuditTrail } from './admin/console/audit-trail.js'
import type { ClientManager } from './clients/manager.js'
import type { ClientRegistry } from './clients/registry.js'
import type { RemoteDocuments } from './clients/remote-documents.js'
import type { EventHub } from './events/events.js'
import type { Logger } from './observability/logger.js'
import type { GrantHandler } from './grants/types.js'
import type { KeyStore } from './keys/key-store.js'
import type { LogoutDeliveries } from './logout/delivery.js'
import type { PageSettings } from './pages/settings.js'
import type { Storage } from './storage/types.js'
import type { TokenLifetimes } from './tokens/types.js'
import type { TrustRegistry } from './trust/registry.js'
import type { PasswordCheckLimiter } from './users/limiter.js'
import type { PasswordHashCost } from './users/password.js'
import type { UserSource } from './users/user-source.js'
import type { ResolvedSchema } from './config/schema.js'
import type { ResourceServers } from './tokens/resource-indicators.js'
import type { TokenExchangePolicy } from './grants/token-exchange.js'
import type { OverloadGate } from './http/overload.js'
import type { DpopServerPolicy } from './dpop/token-request.js'

/**
 * Absolute URLs of the enabled endpoints, by endpoint name, derived from the
 * issuer and `paths`. The built-in names are listed; an embedder's own
 * endpoints appear under their names too. An endpoint of a feature that is
 * off has no URL.
 */
export interface EndpointUrls {
  [name: string]: string
  token: string
  jwks: string
  authorization: string
  userinfo: string
  /** Base URL of the built-in interaction pages. */
  interaction: string
  revocation: string
  introspection: string
  deviceAuthorization: string
  /** The verification_uri of the device flow. */
  deviceVerification: string
}

/**
 * Everything an endpoint or grant needs, resolved once from the options. Grants
 * written by embedders receive it as `ctx.server`. Durations (`ttl.*`,
 * `sessionTtl`, `clockSkew`, …) are in seconds, as in the options, with every
 * default applied; `maxBodyBytes` is in bytes.
 *
 * @example
 * const expiresAt = Math.floor(ctx.server.now()) + ctx.server.ttl.accessToken
 */
export interface ServerContext {
  readonly issuer: string
  readonly endpoints: EndpointUrls
  /** Path of each endpoint as routed (issuer path + relative path), by endpoint name. */
  readonly routes: Readonly<Record<string, string>>
  /** Discovery fields contributed by the enabled features (RFC 8414 §2). */
  discovery(): Record<string, unknown>
  /** Where a person is sent to sign in or consent: the built-in pages or the embedder's own UI. */
  interactionUrl(uid: string): string
  /** True when the built-in pages serve interactions (no custom `interaction.url`). */
  readonly builtInPages: boolean
  /** Look and languages of the built-in pages (option `pages`). */
  readonly pages: PageSettings
  /** People: needed by the built-in pages, the password grant and userinfo. */
  readonly users: UserSource | undefined
  /** Issuers whose assertions the JWT and SAML bearer grants accept. */
  readonly trust: TrustRegistry
  /** Cookie attributes derived from the issuer. */
  readonly cookies: { readonly secure: boolean; readonly path: string }
  readonly sessionTtl: number
  readonly consentTtl: number
  readonly interactionTtl: number
  /** RFC 9126 §5: authorization requests only through the PAR endpoint, for every client (option `requirePushedAuthorizationRequests`). */
  readonly requirePushedAuthorizationRequests: boolean
  /** RFC 9101 §10.5: authorization requests only as signed request objects, for every client (option `requireSignedRequestObject`). */
  readonly requireSignedRequestObject: boolean
  readonly pkce: { readonly required: 'public' | 'all'; readonly allowPlain: boolean }
  readonly deviceFlow: {
    readonly interval: number
    readonly maxAttempts: number
    readonly attemptWindow: number
    readonly maxAttemptsPerAddress: number
    readonly addressWindow: number
  }
  readonly passwordGrant: {
    readonly maxFailures: number
    readonly failureWindow: number
    readonly maxDelay: number
    readonly maxAttemptsPerAddress: number
    readonly addressWindow: number
    readonly knownDeviceTtl: number
  }
  /** Argon2id cost of re-hashed passwords (option `passwordHashing`). */
  readonly passwordHashCost: PasswordHashCost
  /** Bounds concurrent password checks (login page, password grant): option `passwordHashing`. */
  readonly passwordChecks: PasswordCheckLimiter
  /** HMAC secrets of signed cookies: the first signs, all verify. */
  readonly cookieSecrets: readonly string[]
  readonly clients: ClientRegistry
  /** Stored clients: create, update, rotate secrets (`server.clients`). */
  readonly clientManager: ClientManager
  readonly storage: Storage
  readonly keys: KeyStore
  readonly grants: ReadonlyMap<string, GrantHandler>
  readonly accessTokenFormat: 'jwt' | 'opaque'
  /** `aud` of access tokens. */
  readonly accessTokenAudience: string | string[]
  /** Resource servers a `resource` parameter may name (RFC 8707), by identifier. */
  readonly resourceServers: ResourceServers
  /** RFC 8707: authorization and token requests must name a resource (option `requireResource`). */
  readonly requireResource: boolean
  /** Token exchange (RFC 8693) policy hook. */
  readonly tokenExchange: { readonly policy: TokenExchangePolicy | undefined }
  readonly ttl: TokenLifetimes
  readonly clockSkew: number
  readonly maxAssertionLifetime: number
  /** Scopes the server knows; undefined means any scope a client is registered for. */
  readonly scopes: ReadonlySet<string> | undefined
  readonly maxBodyBytes: number
  readonly metadataMaxAge: number
  readonly events: EventHub
  /** Where one line per request goes; undefined (the default) logs nothing and does no work for it. */
  readonly logger: Logger | undefined
  /** Dynamic Client Registration (option `registration`): initial access tokens as hashes, policy, software statement issuers. */
  readonly registration: ResolvedSchema['registration']
  /** SECURITY: whether requests the server makes itself may reach loopback and private addresses. */
  readonly allowPrivateNetworkFetches: boolean
  /** Key sets at clients' `jwks_uri` and Client ID Metadata Documents, fetched under guard and cached (option `remoteDocuments`). */
  readonly remoteDocuments: RemoteDocuments
  /** Option `clientIdMetadataDocuments`: whether an https client_id names its metadata document. */
  readonly clientIdMetadataDocuments: ResolvedSchema['clientIdMetadataDocuments']
  /** Back-channel logout deliveries in flight (OIDC Back-Channel Logout §2.5). */
  readonly logoutDeliveries: LogoutDeliveries
  /** The admin API (option `admin`): whether it is served, and the scope its callers' tokens must carry. */
  readonly admin: { readonly enabled: boolean; readonly scope: string }
  /** Load shedding (option `overload`): undefined when no bound is set. */
  readonly overload: OverloadGate | undefined
  /** DPoP (RFC 9449, option `dpop`): how proofs are checked; undefined when the dpop feature is left out. */
  readonly dpop: DpopServerPolicy | undefined
  /** The admin console (option `admin.console`): whether it is served and how long its sessions live (seconds). */
  readonly adminConsole: { readonly enabled: boolean; readonly idleTimeout: number; readonly absoluteTimeout: number }
  /** Recent `admin.audit` events: the storage's `auditEvents` store, or a ring of this process. */
  readonly auditTrail: AuditTrail
  /** Seconds since the epoch. */
  now(): number
  randomId(): string
  /** 256 bits of randomness, base64url. */
  randomToken(): string
}
