import { defaults } from './config/defaults.js'
import type { AuthorizationServerOptions } from './config/options.js'
import { resolveOptions } from './config/resolve.js'
import type { EndpointUrls, ServerContext } from './context.js'
import { createDiscoveryEndpoint } from './endpoints/discovery.js'
import { jwksEndpoint } from './endpoints/jwks.js'
import { tokenEndpoint } from './endpoints/token.js'
import { authorizationEndpoint } from './endpoints/authorization.js'
import { interactionPagesEndpoint } from './endpoints/interaction-pages.js'
import { userinfoEndpoint } from './endpoints/userinfo.js'
import { revocationEndpoint } from './endpoints/revocation.js'
import { introspectionEndpoint } from './endpoints/introspection.js'
import { deviceAuthorizationEndpoint } from './endpoints/device-authorization.js'
import { deviceVerificationEndpoint } from './endpoints/device-verification.js'
import { finishInteraction, interactionDetails, type InteractionDetails, type InteractionResult } from './interaction/interactions.js'
import { EventHub, type GrantkitEventOf, type GrantkitEventType } from './events/events.js'
import { notFound } from './http/response.js'
import { failureResponse } from './endpoints/failure.js'
import type { GrantkitRequest, GrantkitResponse } from './http/types.js'

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
  /** The resolved configuration and collaborators. */
  readonly context: ServerContext
}

/**
 * Resolves and validates options into the context every endpoint shares, with
 * every default applied. `createAuthorizationServer` calls it; use it directly
 * only to test a grant of your own without a server around it.
 *
 * @throws TypeError naming the option that is wrong
 * @example
 * const ctx = createServerContext({ issuer: 'https://auth.example.com', clients: [] })
 * ctx.ttl.accessToken // 3600
 */
export function createServerContext(options: AuthorizationServerOptions): ServerContext {
  const o = resolveOptions(options, { defaultPaths: defaults.paths })
  const issuer = o.issuer
  const issuerUrl = new URL(issuer)
  const basePath = issuerUrl.pathname === '/' ? '' : issuerUrl.pathname
  const endpoints = Object.fromEntries(Object.entries(o.paths).map(([name, path]) => [name, issuer + path])) as unknown as EndpointUrls
  const endpointRoutes = Object.fromEntries(Object.entries(o.paths).map(([name, path]) => [name, basePath + path])) as Record<keyof EndpointUrls, string>
  const customUrl = o.interaction.url
  return {
    issuer,
    endpoints,
    routes: {
      ...endpointRoutes,
      // RFC 8414 §3.1: the well-known suffix goes between host and issuer path.
      metadata: '/.well-known/oauth-authorization-server' + basePath,
      // OIDC Discovery §4: the suffix is appended to the issuer.
      openidConfiguration: basePath + '/.well-known/openid-configuration',
    },
    interactionUrl: customUrl ?? ((uid: string) => `${endpoints.interaction}/${uid}`),
    builtInPages: customUrl === undefined,
    users: o.users,
    trust: o.trust,
    cookies: { secure: issuerUrl.protocol === 'https:', path: basePath === '' ? '/' : basePath },
    sessionTtl: o.sessionTtl,
    consentTtl: o.consentTtl,
    interactionTtl: o.interactionTtl,
    pkce: o.pkce,
    deviceFlow: o.deviceFlow,
    passwordGrant: o.passwordGrant,
    clients: o.clients,
    storage: o.storage,
    keys: o.keys,
    grants: o.grants,
    accessTokenFormat: o.accessTokenFormat,
    accessTokenAudience: o.accessTokenAudience,
    ttl: o.ttl,
    clockSkew: o.clockSkew,
    maxAssertionLifetime: o.maxAssertionLifetime,
    scopes: o.scopes,
    maxBodyBytes: o.maxBodyBytes,
    metadataMaxAge: o.metadataMaxAge,
    events: new EventHub(),
    now: o.deps.now,
    randomId: o.deps.randomId,
    randomToken: o.deps.randomToken,
  }
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
  const ctx = createServerContext(options)
  const metadata = createDiscoveryEndpoint(ctx)
  const routes = new Map<string, (req: GrantkitRequest) => GrantkitResponse | Promise<GrantkitResponse>>([
    [ctx.routes.token, (req) => tokenEndpoint(ctx, req)],
    [ctx.routes.jwks, (req) => jwksEndpoint(ctx, req)],
    [ctx.routes.authorization, (req) => authorizationEndpoint(ctx, req)],
    [ctx.routes.userinfo, (req) => userinfoEndpoint(ctx, req)],
    [ctx.routes.revocation, (req) => revocationEndpoint(ctx, req)],
    [ctx.routes.introspection, (req) => introspectionEndpoint(ctx, req)],
    [ctx.routes.deviceAuthorization, (req) => deviceAuthorizationEndpoint(ctx, req)],
    [ctx.routes.deviceVerification, (req) => deviceVerificationEndpoint(ctx, req)],
    [ctx.routes.metadata, metadata],
    [ctx.routes.openidConfiguration, metadata],
  ])
  const interactionPrefix = ctx.routes.interaction + '/'
  return {
    context: ctx,
    routes: (pathname) => routes.has(pathname) || (ctx.builtInPages && pathname.startsWith(interactionPrefix)),
    async handle(req) {
      const path = req.url.pathname
      let route = routes.get(path)
      if (route === undefined && ctx.builtInPages && path.startsWith(interactionPrefix)) {
        route = (r) => interactionPagesEndpoint(ctx, r, path.slice(interactionPrefix.length))
      }
      if (route === undefined) return notFound()
      try {
        return await route(req)
      } catch (error) {
        // Endpoints catch their own errors; this is the last line for a bug or a storage outage.
        return failureResponse(ctx, req.url.pathname, error)
      }
    },
    token: (req) => tokenEndpoint(ctx, req),
    jwks: (req) => jwksEndpoint(ctx, req),
    metadata,
    authorize: (req) => authorizationEndpoint(ctx, req),
    userinfo: (req) => userinfoEndpoint(ctx, req),
    revoke: (req) => revocationEndpoint(ctx, req),
    introspect: (req) => introspectionEndpoint(ctx, req),
    deviceAuthorization: (req) => deviceAuthorizationEndpoint(ctx, req),
    interactions: {
      details: (req, uid) => interactionDetails(ctx, req, uid),
      finish: (req, uid, result) => finishInteraction(ctx, req, uid, result),
    },
    on: (type, listener) => ctx.events.on(type, listener),
  }
}
