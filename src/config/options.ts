import type { ClientMetadata } from '../clients/metadata.js'
import type { ClientIdMetadataPolicy } from '../clients/metadata-document.js'
import type { ClientRegistry } from '../clients/registry.js'
import type { Feature } from '../features/types.js'
import type { GrantHandler } from '../grants/types.js'
import type { KeyStore } from '../keys/key-store.js'
import type { Logger } from '../observability/logger.js'
import type { PrivateJwk, SigningAlgorithm } from '../keys/signing-key.js'
import type { PagesOptions } from '../pages/settings.js'
import type { Storage } from '../storage/types.js'
import type { TrustOptions } from '../trust/registry.js'
import type { StaticUser, UserSource } from '../users/user-source.js'
import type { TelemetryOptions } from '../observability/telemetry.js'
import type { RegistrationOptions } from '../registration/options.js'
import type { ResourceServerOptions } from '../tokens/resource-indicators.js'
import type { TokenExchangePolicy } from '../grants/token-exchange.js'

/**
 * Options of `createAuthorizationServer`; durations are in seconds. Each one
 * is declared in the option schema (`src/config/schema.ts`) with its default,
 * validation and doc, from which `defaults` and docs/configuration.md come; a
 * type-level test keeps this interface and the schema naming the same options.
 * An unknown option is refused at construction, with the closest known name.
 *
 * @example
 * const options: AuthorizationServerOptions = { issuer: 'https://as.example', clients: [], ttl: { accessToken: 600 } }
 */
export interface AuthorizationServerOptions {
  /**
   * The issuer identifier (RFC 8414 §2): an https URL without query or fragment.
   * http is accepted for loopback hosts (127.0.0.1, [::1], localhost) and
   * otherwise only with `allowHttpIssuer: true`. Endpoints live under its path.
   */
  issuer: string
  /** Clients: RFC 7591 metadata, or a registry of your own. */
  clients: readonly ClientMetadata[] | ClientRegistry
  /**
   * Seconds each process trusts what it read of a stored client (and that an
   * id is not stored): a change made through another process sharing the
   * storage is in force here within this bound. 0 reads the store at every
   * lookup. Default 30.
   */
  clientCacheTtl?: number
  /** Storage for every artefact. Default: in memory (`createMemoryStorage`). */
  storage?: Storage
  /** Signing keys: a key store of your own, or private JWKs (the last signs). Default: one generated key. */
  keys?: KeyStore | { keys?: PrivateJwk[]; algorithm?: SigningAlgorithm }
  /** Grant types at the token endpoint. Default `defaultGrants`. */
  grants?: readonly GrantHandler[]
  /** Endpoints and features (the device flow, introspection, …). Default `defaultFeatures`; add your own with `[...defaultFeatures, mine]`. */
  features?: readonly Feature[]
  /** `jwt` (RFC 9068) or `opaque`. Default `jwt`. */
  accessTokenFormat?: 'jwt' | 'opaque'
  /** `aud` of access tokens. Default: the issuer. */
  accessTokenAudience?: string | string[]
  /** Lifetimes in seconds; see `defaults.ttl`. */
  ttl?: Partial<{
    accessToken: number
    refreshToken: number
    refreshTokenAbsolute: number
    authorizationCode: number
    deviceCode: number
    idToken: number
    pushedAuthorizationRequest: number
  }>
  /** Scopes this server knows. A request for another is invalid_scope. Default: any scope a client is registered for. */
  scopes?: readonly string[]
  /**
   * Resource servers (RFC 8707) a `resource` parameter or a token exchange
   * `audience` may name. A token for one carries it as `aud` and only the asked
   * scopes it lists, in its own format and lifetime when it has them. Any
   * other `resource` is `invalid_target`. Default: none.
   */
  resourceServers?: readonly ResourceServerOptions[]
  /**
   * Every authorization request, and every token request of a grant that
   * takes `resource`, must name at least one resource server (RFC 8707): one
   * without is `invalid_target`. Token exchange may name it by `audience`
   * instead. The MCP authorization specification asks this of clients; see
   * `mcpProfile`. Default false.
   */
  requireResource?: boolean
  /** The token exchange grant (RFC 8693): `policy` decides who may exchange what, after the built-in checks. */
  tokenExchange?: { policy?: TokenExchangePolicy }
  /** Seconds of clock skew tolerated on incoming JWTs. Default 60. */
  clockSkew?: number
  /** Longest accepted lifetime of a client or grant assertion, in seconds. Default 300. */
  maxAssertionLifetime?: number
  /** Largest accepted body in bytes. Default 65536. */
  maxBodyBytes?: number
  /**
   * Load shedding: past `maxRequestsInFlight` requests at once, or while
   * `eventLoopDelay()` exceeds `maxEventLoopDelay` seconds, a request is
   * answered at once with 503 `temporarily_unavailable` and `Retry-After:
   * retryAfter` (default 1 s). Discovery and JWKS are never refused. Default:
   * no bound. See docs/operations.md.
   */
  overload?: Partial<{ maxRequestsInFlight: number; maxEventLoopDelay: number; eventLoopDelay: () => number; retryAfter: number }>
  /** Seconds discovery and JWKS responses may be cached. Default 300. */
  metadataMaxAge?: number
  /** Paths of endpoints relative to the issuer path. */
  paths?: Partial<{ token: string; jwks: string; authorization: string; userinfo: string; interaction: string; revocation: string; introspection: string; deviceAuthorization: string; deviceVerification: string }> & Record<string, string>
  /** Issuers whose JWT (RFC 7523) and SAML (RFC 7522) assertions are accepted as grants. */
  trust?: TrustOptions
  /**
   * Password hashing and bounded password checks: Argon2id `memoryCost` (KiB,
   * default 19456), `timeCost` (default 2), `parallelism` (default 1), at least
   * OWASP's minimum unless `allowWeak` (tests only); `maxConcurrent` checks at
   * once (default: libuv pool size minus one, at most the CPUs), `maxQueued`
   * waiting (default 32), `queueTimeout` seconds of waiting (default 5).
   */
  passwordHashing?: Partial<{ memoryCost: number; timeCost: number; parallelism: number; allowWeak: boolean; maxConcurrent: number; maxQueued: number; queueTimeout: number }>
  /** People who sign in: a source of your own, or a static list (passwords hashed with Argon2id at start). */
  users?: UserSource | readonly StaticUser[]
  /**
   * Your own login and consent UI. `url(uid)` is where a person is sent; your
   * UI calls `server.interactions.details` and `.finish`. Default: the built-in pages.
   */
  interaction?: { url?: (uid: string) => string }
  /**
   * Look and languages of the built-in pages: `theme` (name, logo, colours,
   * CSS), `locales` (default `['en', 'de']`), `defaultLocale` (default `en`)
   * and `messages` (texts by language). See docs/pages.md.
   */
  pages?: PagesOptions
  /** Browser session (single sign-on) lifetime in seconds. Default 86400. */
  sessionTtl?: number
  /** Remembered-consent lifetime in seconds. Default 31536000. */
  consentTtl?: number
  /** Lifetime in seconds of a login/consent step in progress. Default 600. */
  interactionTtl?: number
  /**
   * Refuse authorization requests that did not come through the pushed
   * authorization request endpoint (RFC 9126 §5), for every client. A client
   * registered with `require_pushed_authorization_requests: true` is refused
   * them regardless. Default false.
   */
  requirePushedAuthorizationRequests?: boolean
  /**
   * Refuse authorization requests whose parameters are not in a signed request
   * object (RFC 9101 §10.5), for every client. A client registered with
   * `require_signed_request_object: true` is refused them regardless. Default false.
   */
  requireSignedRequestObject?: boolean
  /** PKCE policy (RFC 7636, RFC 9700 §2.1.1). */
  pkce?: Partial<{ required: 'public' | 'all'; allowPlain: boolean }>
  /** Device authorization grant (RFC 8628): polling interval and code-entry limits. */
  deviceFlow?: Partial<{ interval: number; maxAttempts: number; attemptWindow: number; maxAttemptsPerAddress: number; addressWindow: number }>
  /** Throttling of password attempts (login page and password grant): per account with backoff, per address, per known browser. */
  passwordGrant?: Partial<{ maxFailures: number; failureWindow: number; maxDelay: number; maxAttemptsPerAddress: number; addressWindow: number; knownDeviceTtl: number }>
  /**
   * SECURITY: HMAC secrets (32+ characters) for the cookies the server signs
   * (known device, device page). The first signs; all verify. Processes acting
   * as one server must share them. Default: one random secret per instance.
   */
  cookieSecrets?: readonly string[]
  /** SECURITY: accept http redirect URIs on non-loopback hosts (RFC 9700 §2.6 forbids them). Only for tests. */
  allowHttpRedirectUris?: boolean
  /** SECURITY: accept an http issuer on a non-loopback host. Only for tests behind TLS termination. */
  allowHttpIssuer?: boolean
  /**
   * SECURITY: let requests the server makes itself (back-channel logout
   * deliveries) reach loopback and private addresses. Without it a client
   * registered with such a URL is refused. Only for tests and closed networks.
   */
  allowPrivateNetworkFetches?: boolean
  /**
   * Fetching of `jwks_uri` key sets and Client ID Metadata Documents (seconds):
   * `timeout`, `minCacheTtl` (300), `maxCacheTtl` (86400), `maxEntries` (1000),
   * `refetchInterval` (60), `staleIfError` (3600).
   */
  remoteDocuments?: Partial<{ timeout: number; minCacheTtl: number; maxCacheTtl: number; maxEntries: number; refetchInterval: number; staleIfError: number }>
  /**
   * Client ID Metadata Documents: `enabled` (default false), `allowedHosts`
   * (absent: any public host), `policy`. See docs/client-id-metadata.md.
   */
  clientIdMetadataDocuments?: Partial<{ enabled: boolean; allowedHosts: readonly string[]; policy: ClientIdMetadataPolicy }>
  /**
   * The admin API (docs/admin.md): `enabled` (default false), `scope` an access
   * token must carry (default `grantkit:admin`), `path` its base (default `/admin/api`).
   */
  admin?: Partial<{
    enabled: boolean
    scope: string
    path: string
    /**
     * The admin console (docs/admin.md#console): `enabled` (default false),
     * `path` (default `/admin`), `idleTimeout` (900 s) and `absoluteTimeout`
     * (28800 s) of its sessions, `auditEvents` kept in memory (200).
     */
    console: Partial<{ enabled: boolean; path: string; idleTimeout: number; absoluteTimeout: number; auditEvents: number }>
  }>
  /**
   * Dynamic Client Registration (RFC 7591) and management (RFC 7592): `enabled`
   * (default false), `initialAccessToken` (absent: open registration),
   * `policy`, `softwareStatement` and `accessTokenTtl`. See docs/registration.md.
   */
  registration?: RegistrationOptions
  /**
   * DPoP (RFC 9449, docs/dpop.md): `required` (default false: only clients
   * registered with `dpop_bound_access_tokens` must send proofs),
   * `requireNonce` (default false), `nonceLifetime` (300 s), `proofMaxAge`
   * (60 s), `proofClockSkew` (5 s), `algorithms` (every asymmetric one).
   */
  dpop?: Partial<{ required: boolean; requireNonce: boolean; nonceLifetime: number; proofMaxAge: number; proofClockSkew: number; algorithms: readonly string[] }>
  /** Back-channel logout deliveries (seconds): `timeout` per attempt, `maxAttempts`, `retryDelay` before the second (doubling after). */
  backchannelLogout?: Partial<{ timeout: number; maxAttempts: number; retryDelay: number }>
  /**
   * OpenTelemetry providers for spans and metrics. Default: those registered
   * with `@opentelemetry/api` when the server is built; with none, nothing is
   * instrumented and requests take the uninstrumented path.
   */
  telemetry?: TelemetryOptions
  /**
   * Where one line per request goes: a pino logger, or any object with
   * `debug`, `info`, `warn` and `error(obj, msg)`. Default: none, and no work
   * is done for logging.
   */
  logger?: Logger
  /** Replaceable sources of time and randomness, for tests. */
  deps?: Partial<{
    /** Seconds since the epoch. */
    now: () => number
    randomId: () => string
    /** 256 bits, base64url. */
    randomToken: () => string
  }>
}
