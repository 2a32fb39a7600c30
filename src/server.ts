import { AUDIT_RETENTION, AuditTrail } from './admin/console/audit-trail.js'
import { CALLBACK_PATH, CONSOLE_SCOPE, consoleClient, withConsoleClient } from './admin/console/client.js'
import type { ClientManager } from './clients/manager.js'
import { RemoteDocuments } from './clients/remote-documents.js'
import { setupClients } from './clients/setup.js'
import type { AuthorizationServerOptions } from './config/options.js'
import { resolveOptions } from './config/resolve.js'
import type { EndpointUrls, ServerContext } from './context.js'
import { defaultFeatures } from './features/index.js'
import { bindFeatures, checkFeatures, collectDiscovery, type BoundEndpoint } from './features/registry.js'
import { finishInteraction, interactionDetails, type InteractionDetails, type InteractionResult } from './interaction/interactions.js'
import { EventHub, type GrantkitEventOf, type GrantkitEventType } from './events/events.js'
import { LogoutDeliveries } from './logout/delivery.js'
import { sessionsApi, type SessionsApi } from './logout/sessions.js'
import { notFound } from './http/response.js'
import { overloadGate } from './http/overload.js'
import type { GrantkitRequest, GrantkitResponse } from './http/types.js'
import { createTelemetry, observeEvents } from './observability/telemetry.js'
import { instrumentRoutes } from './observability/telemetry-endpoints.js'
import { instrumentStorage } from './observability/telemetry-storage.js'
import { PasswordCheckLimiter } from './users/limiter.js'
import { createDpopPolicy } from './dpop/token-request.js'

/** An authorization server: `handle` routes a request; each endpoint is also callable directly. */
export interface AuthorizationServer {
  /** True when `pathname` is one of this server's endpoints (adapters pass other paths on). */
  routes(pathname: string): boolean
  /** Routes a request to its endpoint. Never throws: failures become OAuth error responses. */
  handle(req: GrantkitRequest): Promise<GrantkitResponse>
  /** The token endpoint, for embedders who route themselves. */
  token(req: GrantkitRequest): Promise<GrantkitResponse>
  /** The JWKS endpoint. */
  jwks(req: GrantkitRequest): GrantkitResponse
  /** RFC 8414 / OIDC discovery document. */
  metadata(req: GrantkitRequest): GrantkitResponse
  /** The authorization endpoint. */
  authorize(req: GrantkitRequest): Promise<GrantkitResponse>
  /** The OIDC userinfo endpoint. */
  userinfo(req: GrantkitRequest): Promise<GrantkitResponse>
  /** RFC 7009 revocation. */
  revoke(req: GrantkitRequest): Promise<GrantkitResponse>
  /** RFC 7662 introspection. */
  introspect(req: GrantkitRequest): Promise<GrantkitResponse>
  /** RFC 8628 device authorization. */
  deviceAuthorization(req: GrantkitRequest): Promise<GrantkitResponse>
  /**
   * Any enabled endpoint by name (`token`, `deviceVerification`, or one of your
   * own features'), for embedders who route themselves. Undefined when no
   * enabled feature has an endpoint of that name.
   */
  endpoint(name: string): ((req: GrantkitRequest) => GrantkitResponse | Promise<GrantkitResponse>) | undefined
  /**
   * For your own login and consent UI (option `interaction.url`): read what to
   * show, then finish the step. Both need the person's request, whose cookie
   * ties the interaction to the browser that started it.
   */
  readonly interactions: {
    details(req: GrantkitRequest, uid: string): Promise<InteractionDetails | null>
    finish(req: GrantkitRequest, uid: string, result: InteractionResult): Promise<GrantkitResponse>
  }
  /**
   * Clients kept in the storage beside the configured ones: create, list,
   * update, delete, rotate a secret. Needs a storage with a `clients` store
   * (the memory, PostgreSQL and Redis storages have one).
   */
  readonly clients: ClientManager
  /**
   * A person's browser sessions (single sign-on): `list(sub)` and `end(id)`.
   * Ending one signs the person out in that browser and sends logout tokens
   * to its clients (OIDC Back-Channel Logout).
   */
  readonly sessions: SessionsApi
  /** Listens to events (token issued, authentication failed, …). Returns an unsubscribe function. */
  on<T extends GrantkitEventType>(type: T | '*', listener: (event: GrantkitEventOf<T>) => void): () => void
  /** The issuer identifier (RFC 8414 §2). */
  readonly issuer: string
  /** Absolute URL of every enabled endpoint, by name (`token`, `jwks`, `metadata`, … and your own features'). */
  readonly endpoints: Readonly<Record<string, string>>
  /** Largest request body in bytes the server accepts; adapters stop reading past it. */
  readonly maxBodyBytes: number
}

const contexts = new WeakMap<AuthorizationServer, ServerContext>()

/**
 * The internal context of a server, for grantkit's own tests and tools. Not
 * part of the public API: grants and features get narrow capabilities instead.
 *
 * @internal
 */
export function contextOf(server: AuthorizationServer): ServerContext {
  const ctx = contexts.get(server)
  if (ctx === undefined) throw new TypeError('contextOf: not a server made by createAuthorizationServer')
  return ctx
}

/**
 * Resolves and validates options into the context every endpoint shares, with
 * every default applied. Internal: `createAuthorizationServer` calls it.
 *
 * @throws TypeError naming the option that is wrong
 * @example
 * const ctx = createServerContext({ issuer: 'https://auth.example.com', clients: [] })
 * ctx.ttl.accessToken // 3600
 */
export function createServerContext(options: AuthorizationServerOptions): ServerContext {
  return assemble(options).ctx
}

/** The resolved context and the enabled features' endpoints, bound to it. */
function assemble(options: AuthorizationServerOptions): { ctx: ServerContext; bound: ReturnType<typeof bindFeatures> } {
  // The registered features decide which endpoints, and so which `paths`, exist.
  const { defaultPaths } = checkFeatures((options as { features?: unknown } | null)?.features ?? defaultFeatures)
  const o = resolveOptions(options, { defaultPaths })
  const issuer = o.issuer
  const issuerUrl = new URL(issuer)
  const basePath = issuerUrl.pathname === '/' ? '' : issuerUrl.pathname
  // Filled by bindFeatures below, once it knows which features are on.
  const endpoints = {} as EndpointUrls
  const routes: Record<string, string> = {}
  let discovery: Record<string, unknown> | undefined
  const customUrl = o.interaction.url
  // Undefined without a tracer or meter provider: then nothing is wrapped and requests take the plain path.
  const telemetry = createTelemetry(o.telemetry)
  const events = new EventHub(o.deps.now)
  const remoteDocuments = createRemoteDocuments(o)
  const clients = setupClients(
    {
      clients: o.clients,
      storage: o.storage,
      clientCacheTtl: o.clientCacheTtl,
      grants: o.grants,
      scopes: o.scopes,
      keys: o.keys,
      users: o.users,
      interactionUrl: customUrl,
      allowHttpRedirectUris: o.allowHttpRedirectUris,
      allowPrivateNetworkFetches: o.allowPrivateNetworkFetches,
      clientIdMetadataDocuments: o.clientIdMetadataDocuments,
      remoteDocuments,
      now: o.deps.now,
      randomId: o.deps.randomId,
      randomToken: o.deps.randomToken,
    },
    events,
  )
  const storage = telemetry === undefined ? o.storage : instrumentStorage(telemetry, o.storage)
  const consoleOptions = o.admin.console
  let registry = clients.registry
  if (consoleOptions.enabled) {
    // The console signs administrators in as a client of this very server (docs/admin.md#console).
    if (o.users === undefined) throw new TypeError('admin.console: needs users (a user source that says who is an administrator)')
    if (customUrl !== undefined) throw new TypeError('admin.console: needs the built-in login page (interaction.url sends people elsewhere)')
    if (o.scopes !== undefined && !o.scopes.has(CONSOLE_SCOPE)) throw new TypeError(`admin.console: the scopes option must include "${CONSOLE_SCOPE}", which the console asks for`)
    registry = withConsoleClient(registry, consoleClient(issuerUrl.origin + basePath + consoleOptions.path + CALLBACK_PATH), o.clients)
  }
  const auditTrail = new AuditTrail(o.storage.auditEvents, consoleOptions.auditEvents, AUDIT_RETENTION)
  auditTrail.attach(events)
  const ctx: ServerContext = {
    issuer,
    endpoints,
    routes,
    discovery: () => (discovery ??= collectDiscovery(ctx, bound.enabled)),
    interactionUrl: customUrl ?? ((uid: string) => `${endpoints.interaction}/${uid}`),
    builtInPages: customUrl === undefined,
    pages: o.pages,
    users: o.users,
    trust: o.trust,
    cookies: { secure: issuerUrl.protocol === 'https:', path: basePath === '' ? '/' : basePath },
    sessionTtl: o.sessionTtl,
    consentTtl: o.consentTtl,
    interactionTtl: o.interactionTtl,
    pkce: o.pkce,
    requirePushedAuthorizationRequests: o.requirePushedAuthorizationRequests,
    requireSignedRequestObject: o.requireSignedRequestObject,
    deviceFlow: o.deviceFlow,
    passwordGrant: o.passwordGrant,
    passwordHashCost: { memoryCost: o.passwordHashing.memoryCost, timeCost: o.passwordHashing.timeCost, parallelism: o.passwordHashing.parallelism },
    passwordChecks: new PasswordCheckLimiter(o.passwordHashing),
    cookieSecrets: o.cookieSecrets,
    clients: registry,
    clientManager: clients.manager,
    storage,
    keys: o.keys,
    grants: o.grants,
    accessTokenFormat: o.accessTokenFormat,
    accessTokenAudience: o.accessTokenAudience,
    resourceServers: o.resourceServers,
    requireResource: o.requireResource,
    tokenExchange: { policy: o.tokenExchange?.policy },
    ttl: o.ttl,
    clockSkew: o.clockSkew,
    maxAssertionLifetime: o.maxAssertionLifetime,
    scopes: o.scopes,
    maxBodyBytes: o.maxBodyBytes,
    metadataMaxAge: o.metadataMaxAge,
    events,
    logger: o.logger,
    allowPrivateNetworkFetches: o.allowPrivateNetworkFetches,
    remoteDocuments,
    clientIdMetadataDocuments: o.clientIdMetadataDocuments,
    registration: o.registration,
    logoutDeliveries: new LogoutDeliveries({
      timeoutMs: o.backchannelLogout.timeout * 1000,
      maxAttempts: o.backchannelLogout.maxAttempts,
      retryDelayMs: o.backchannelLogout.retryDelay * 1000,
      allowPrivate: o.allowPrivateNetworkFetches,
      emit: (event) => events.emit(event),
    }),
    admin: { enabled: o.admin.enabled, scope: o.admin.scope },
    overload: overloadGate(o.overload),
    dpop: createDpopPolicy(o.dpop, o.cookieSecrets, storage.replay),
    adminConsole: { enabled: consoleOptions.enabled, idleTimeout: consoleOptions.idleTimeout, absoluteTimeout: consoleOptions.absoluteTimeout },
    auditTrail,
    now: o.deps.now,
    randomId: o.deps.randomId,
    randomToken: o.deps.randomToken,
  }
  // The admin API's and the console's bases are their own options (admin.path, admin.console.path), like their switches.
  const bound = bindFeatures(ctx, o.features, { ...o.paths, adminApi: o.admin.path, adminConsole: consoleOptions.path }, basePath)
  // Without the dpop feature the endpoints ignore DPoP headers, as discovery says nothing of them.
  if (!bound.enabled.some((f) => f.name === 'dpop')) (ctx as { dpop: ServerContext['dpop'] }).dpop = undefined
  if (telemetry === undefined) return { ctx, bound }
  observeEvents(telemetry, ctx.events)
  return { ctx, bound: instrumentRoutes(telemetry, bound, ctx.routes) }
}

/** The cache of documents fetched about clients, from option `remoteDocuments`. */
function createRemoteDocuments(o: ReturnType<typeof resolveOptions>): RemoteDocuments {
  const r = o.remoteDocuments
  if (r.minCacheTtl > r.maxCacheTtl) throw new TypeError('remoteDocuments.minCacheTtl: must not be more than remoteDocuments.maxCacheTtl')
  return new RemoteDocuments({
    timeout: r.timeout,
    // Each kind of document has its own limit; this is for any other.
    maxResponseBytes: 65_536,
    minCacheTtl: r.minCacheTtl,
    maxCacheTtl: r.maxCacheTtl,
    maxEntries: r.maxEntries,
    refetchInterval: r.refetchInterval,
    staleIfError: r.staleIfError,
    allowPrivate: o.allowPrivateNetworkFetches,
    now: o.deps.now,
  })
}

/**
 * Creates an authorization server. All options are validated here: a mistake
 * is a TypeError naming the field, never a failure at the first request.
 *
 * @example
 * const server = createAuthorizationServer({
 *   issuer: 'https://auth.example.com',
 *   clients: [{ client_id: 'svc', client_secret: 's3cret', grant_types: ['client_credentials'], scope: 'api:read' }],
 * })
 * const res = await server.handle({ method: 'POST', url, headers, body })
 */
export function createAuthorizationServer(options: AuthorizationServerOptions): AuthorizationServer {
  const { ctx, bound } = assemble(options)
  const byName = (name: string): BoundEndpoint => bound.byName.get(name) ?? notFound
  const sync = (name: string) => byName(name) as (req: GrantkitRequest) => GrantkitResponse
  const async = (name: string) => {
    const endpoint = byName(name)
    return async (req: GrantkitRequest) => endpoint(req)
  }
  const server: AuthorizationServer = {
    issuer: ctx.issuer,
    endpoints: ctx.endpoints,
    maxBodyBytes: ctx.maxBodyBytes,
    routes: (pathname) => bound.find(pathname) !== undefined,
    handle(req) {
      // Not an async function: the endpoint's own promise is handed on as it is, without the
      // extra turns of the microtask queue an async function takes to adopt a returned promise.
      try {
        const endpoint = bound.find(req.url.pathname)
        const res = endpoint === undefined ? notFound() : endpoint(req)
        return res instanceof Promise ? res : Promise.resolve(res)
      } catch (err) {
        return Promise.reject(err)
      }
    },
    endpoint: (name) => bound.byName.get(name),
    token: async('token'),
    jwks: sync('jwks'),
    metadata: sync('metadata'),
    authorize: async('authorization'),
    userinfo: async('userinfo'),
    revoke: async('revocation'),
    introspect: async('introspection'),
    deviceAuthorization: async('deviceAuthorization'),
    interactions: {
      details: (req, uid) => interactionDetails(ctx, req, uid),
      finish: (req, uid, result) => finishInteraction(ctx, req, uid, result),
    },
    clients: ctx.clientManager,
    sessions: sessionsApi(ctx),
    on: (type, listener) => ctx.events.on(type, listener),
  }
  contexts.set(server, ctx)
  return server
}
