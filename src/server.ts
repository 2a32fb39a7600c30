import { StaticClientRegistry, type ClientRegistry } from './clients/registry.js'
import { defaults } from './config/defaults.js'
import type { AuthorizationServerOptions } from './config/options.js'
import type { EndpointUrls, ServerContext } from './context.js'
import { randomId, randomToken } from './crypto/random.js'
import { defaultFeatures } from './features/index.js'
import { bindFeatures, checkFeatures, collectDiscovery, type BoundEndpoint } from './features/registry.js'
import { finishInteraction, interactionDetails, type InteractionDetails, type InteractionResult } from './interaction/interactions.js'
import { EventHub, type GrantkitEventOf, type GrantkitEventType } from './events/events.js'
import { defaultGrants } from './grants/index.js'
import { checkGrantPrerequisites } from './grants/prerequisites.js'
import type { GrantHandler } from './grants/types.js'
import { notFound } from './http/response.js'
import type { GrantkitRequest, GrantkitResponse } from './http/types.js'
import { KeyRing, type KeyStore } from './keys/key-store.js'
import { createMemoryStorage } from './storage/memory.js'
import { createTrustRegistry } from './trust/registry.js'
import { StaticUserSource, type StaticUser, type UserSource } from './users/user-source.js'

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

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]'])

function positiveSeconds(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`${path}: must be a positive number of seconds`)
  }
  return value
}

function checkIssuer(issuer: unknown, allowHttp: boolean): URL {
  if (typeof issuer !== 'string' || issuer === '') throw new TypeError('issuer: is required (an https URL)')
  let url: URL
  try {
    url = new URL(issuer)
  } catch {
    throw new TypeError(`issuer: "${issuer}" is not a URL`)
  }
  // RFC 8414 §2: https, no query, no fragment.
  if (url.search !== '' || url.hash !== '' || issuer.includes('?') || issuer.includes('#')) {
    throw new TypeError('issuer: must not have a query or fragment')
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && (allowHttp || LOOPBACK.has(url.hostname)))) {
    throw new TypeError(`issuer: must be https (http only for loopback hosts, or with allowHttpIssuer)`)
  }
  if (issuer.endsWith('/')) throw new TypeError('issuer: must not end with "/"')
  return url
}

function checkPath(value: unknown, path: string): string {
  if (typeof value !== 'string' || !/^\/[A-Za-z0-9._~\-/]*$/.test(value)) {
    throw new TypeError(`${path}: must be a path starting with "/"`)
  }
  return value
}

function resolveKeys(keys: AuthorizationServerOptions['keys']): KeyStore {
  if (keys === undefined) return new KeyRing({ algorithm: defaults.signingAlgorithm })
  if ('signingKey' in keys && typeof keys.signingKey === 'function') return keys as KeyStore
  const opts = keys as { keys?: unknown; algorithm?: unknown }
  return new KeyRing({
    ...(opts.keys !== undefined && { keys: opts.keys as never }),
    ...(opts.algorithm !== undefined && { algorithm: opts.algorithm as never }),
  })
}

function resolveGrants(grants: readonly GrantHandler[]): Map<string, GrantHandler> {
  if (!Array.isArray(grants)) throw new TypeError('grants: must be an array of grant handlers')
  const map = new Map<string, GrantHandler>()
  grants.forEach((g, i) => {
    if (typeof g !== 'object' || g === null || typeof g.grantType !== 'string' || g.grantType === '') {
      throw new TypeError(`grants[${i}].grantType: must be a non-empty string`)
    }
    if (typeof g.handle !== 'function') throw new TypeError(`grants[${i}].handle: must be a function`)
    if (!Array.isArray(g.parameters)) throw new TypeError(`grants[${i}].parameters: must be an array of parameter names`)
    if (g.clientAuth !== 'required' && g.clientAuth !== 'optional') throw new TypeError(`grants[${i}].clientAuth: must be "required" or "optional"`)
    if (map.has(g.grantType)) throw new TypeError(`grants[${i}].grantType: "${g.grantType}" is registered twice`)
    map.set(g.grantType, g)
  })
  return map
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
  if (typeof options !== 'object' || options === null) throw new TypeError('options: must be an object')
  const issuerUrl = checkIssuer(options.issuer, options.allowHttpIssuer === true)
  const issuer = options.issuer
  const basePath = issuerUrl.pathname === '/' ? '' : issuerUrl.pathname

  const clients: ClientRegistry = Array.isArray(options.clients)
    ? new StaticClientRegistry(options.clients as never, 'clients', { allowHttpRedirectUris: options.allowHttpRedirectUris === true })
    : (options.clients as ClientRegistry)
  if (typeof clients !== 'object' || clients === null || typeof clients.find !== 'function') {
    throw new TypeError('clients: must be an array of client metadata or a registry with find(clientId)')
  }

  const ttlIn = options.ttl ?? {}
  if (typeof ttlIn !== 'object' || ttlIn === null || Array.isArray(ttlIn)) throw new TypeError('ttl: must be an object of lifetimes in seconds')
  if (options.paths !== undefined && (typeof options.paths !== 'object' || options.paths === null || Array.isArray(options.paths))) {
    throw new TypeError('paths: must be an object of endpoint paths')
  }
  const ttl = { ...defaults.ttl }
  for (const [name, value] of Object.entries(ttlIn)) {
    if (!(name in ttl)) throw new TypeError(`ttl.${name}: unknown lifetime; known: ${Object.keys(ttl).join(', ')}`)
    if (value !== undefined) ttl[name as keyof typeof ttl] = positiveSeconds(value, `ttl.${name}`)
  }

  const format = options.accessTokenFormat ?? defaults.accessTokenFormat
  if (format !== 'jwt' && format !== 'opaque') throw new TypeError('accessTokenFormat: must be "jwt" or "opaque"')

  const grants = resolveGrants(options.grants ?? defaultGrants)

  let scopes: Set<string> | undefined
  if (options.scopes !== undefined) {
    if (!Array.isArray(options.scopes) || options.scopes.some((s) => typeof s !== 'string' || !/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(s))) {
      throw new TypeError('scopes: must be an array of scope tokens (RFC 6749 §3.3)')
    }
    scopes = new Set(options.scopes)
  }

  // A static registry is checked against the server now, not at the first request.
  if (clients.list !== undefined) {
    let i = 0
    for (const client of clients.list()) {
      for (const g of client.grantTypes) {
        // implicit is a response type at the authorization endpoint, not a token-endpoint grant.
        if (!grants.has(g) && g !== 'implicit') {
          throw new TypeError(`clients[${i}].grant_types: "${g}" is not a grant this server supports (${[...grants.keys()].join(', ')})`)
        }
      }
      if (scopes !== undefined) {
        for (const s of client.scopes) {
          if (!scopes.has(s)) throw new TypeError(`clients[${i}].scope: "${s}" is not in scopes`)
        }
      }
      i++
    }
  }

  const features = checkFeatures(options.features ?? defaultFeatures)
  const paths: Record<string, string> = { ...features.defaultPaths }
  for (const [name, value] of Object.entries(options.paths ?? {})) {
    if (!(name in paths)) throw new TypeError(`paths.${name}: unknown endpoint; known: ${Object.keys(paths).join(', ')}`)
    paths[name] = checkPath(value, `paths.${name}`)
  }
  // Filled by bindFeatures below, once it knows which features are on.
  const endpoints = {} as EndpointUrls
  const routes: Record<string, string> = {}
  let discovery: Record<string, unknown> | undefined

  let users: UserSource | undefined
  if (Array.isArray(options.users)) users = new StaticUserSource(options.users as StaticUser[])
  else if (options.users !== undefined) {
    const u = options.users as UserSource
    if (typeof u.findByUsername !== 'function' || typeof u.verifyPassword !== 'function' || typeof u.claims !== 'function') {
      throw new TypeError('users: must be an array of users or a source with findByUsername, verifyPassword and claims')
    }
    users = u
  }
  const customUrl = options.interaction?.url
  if (customUrl !== undefined && typeof customUrl !== 'function') throw new TypeError('interaction.url: must be a function of the interaction uid')
  const pkce = { ...defaults.pkce, ...options.pkce }
  if (pkce.required !== 'public' && pkce.required !== 'all') throw new TypeError('pkce.required: must be "public" or "all"')
  if (typeof pkce.allowPlain !== 'boolean') throw new TypeError('pkce.allowPlain: must be a boolean')
  const deviceFlow = { ...defaults.deviceFlow, ...options.deviceFlow }
  positiveSeconds(deviceFlow.interval, 'deviceFlow.interval')
  positiveSeconds(deviceFlow.attemptWindow, 'deviceFlow.attemptWindow')
  if (!Number.isInteger(deviceFlow.maxAttempts) || deviceFlow.maxAttempts < 1) throw new TypeError('deviceFlow.maxAttempts: must be a whole number >= 1')
  const passwordGrant = { ...defaults.passwordGrant, ...options.passwordGrant }
  positiveSeconds(passwordGrant.failureWindow, 'passwordGrant.failureWindow')
  if (!Number.isInteger(passwordGrant.maxFailures) || passwordGrant.maxFailures < 1) throw new TypeError('passwordGrant.maxFailures: must be a whole number >= 1')

  const audience = options.accessTokenAudience ?? issuer
  if (!(typeof audience === 'string' && audience !== '') && !(Array.isArray(audience) && audience.length > 0 && audience.every((a) => typeof a === 'string' && a !== ''))) {
    throw new TypeError('accessTokenAudience: must be a non-empty string or array of strings')
  }

  const storage = options.storage ?? createMemoryStorage(options.deps?.now !== undefined ? { now: options.deps.now } : {})
  checkGrantPrerequisites(grants, clients, { users: users !== undefined, signIn: users !== undefined || customUrl !== undefined, storage })

  const deps = options.deps ?? {}
  const ctx: ServerContext = {
    issuer,
    endpoints,
    routes,
    discovery: () => (discovery ??= collectDiscovery(ctx, bound.enabled)),
    interactionUrl: customUrl ?? ((uid: string) => `${endpoints.interaction}/${uid}`),
    builtInPages: customUrl === undefined,
    users,
    trust: createTrustRegistry(options.trust),
    cookies: { secure: issuerUrl.protocol === 'https:', path: basePath === '' ? '/' : basePath },
    sessionTtl: options.sessionTtl === undefined ? defaults.sessionTtl : positiveSeconds(options.sessionTtl, 'sessionTtl'),
    consentTtl: options.consentTtl === undefined ? defaults.consentTtl : positiveSeconds(options.consentTtl, 'consentTtl'),
    interactionTtl: options.interactionTtl === undefined ? defaults.interactionTtl : positiveSeconds(options.interactionTtl, 'interactionTtl'),
    pkce,
    deviceFlow,
    passwordGrant,
    clients,
    storage,
    keys: resolveKeys(options.keys),
    grants,
    accessTokenFormat: format,
    accessTokenAudience: audience,
    ttl,
    clockSkew: options.clockSkew === undefined ? defaults.clockSkew : nonNegative(options.clockSkew, 'clockSkew'),
    maxAssertionLifetime: options.maxAssertionLifetime === undefined ? defaults.maxAssertionLifetime : positiveSeconds(options.maxAssertionLifetime, 'maxAssertionLifetime'),
    scopes,
    maxBodyBytes: options.maxBodyBytes === undefined ? defaults.maxBodyBytes : positiveSeconds(options.maxBodyBytes, 'maxBodyBytes'),
    metadataMaxAge: options.metadataMaxAge === undefined ? defaults.metadataMaxAge : nonNegative(options.metadataMaxAge, 'metadataMaxAge'),
    events: new EventHub(),
    now: deps.now ?? (() => Date.now() / 1000),
    randomId: deps.randomId ?? randomId,
    randomToken: deps.randomToken ?? (() => randomToken(32)),
  }
  const bound = bindFeatures(ctx, features.registered, paths, basePath)
  return { ctx, bound }
}

function nonNegative(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new TypeError(`${path}: must be a number >= 0`)
  return value
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
    async handle(req) {
      const endpoint = bound.find(req.url.pathname)
      return endpoint === undefined ? notFound() : endpoint(req)
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
    on: (type, listener) => ctx.events.on(type, listener),
  }
  contexts.set(server, ctx)
  return server
}
