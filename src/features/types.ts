import type { GrantkitRequest, GrantkitResponse } from '../http/types.js'
import type { Storage } from '../storage/types.js'
import type { EndpointContext } from './context.js'

/**
 * How an endpoint shows a failure it throws: `json` is the RFC 6749 §5.2 error
 * body (token, revocation, …); `page` is an HTML page for a person (the
 * authorization endpoint before its redirect_uri is trusted, the built-in pages).
 */
export type ErrorStyle = 'json' | 'page'

/**
 * One HTTP endpoint: where it lives, what it answers and who handles it. The
 * server routes to it, answers other methods with 405 and turns whatever the
 * handler throws into a response of the endpoint's `errors` style.
 *
 * @example
 * const ping: Endpoint = {
 *   name: 'ping', path: '/ping', methods: ['GET'], errors: 'json',
 *   handle: () => ({ status: 200, headers: { 'content-type': 'text/plain' }, body: 'pong' }),
 * }
 */
export interface Endpoint {
  /** Unique name: the key of the `paths` option and of `server.endpoints`. camelCase. */
  readonly name: string
  /** Default path relative to the issuer's path, starting with "/". The `paths` option overrides it. */
  readonly path: string
  /**
   * A discovery document with a fixed place, not configurable by `paths`:
   * `insert` puts `path` between the host and the issuer's path (RFC 8414 §3.1),
   * `append` adds it to the issuer (OIDC Discovery §4).
   */
  readonly wellKnown?: 'insert' | 'append'
  /** Also routes every path below `path` (`path/…`); the handler reads the rest from `req.url`. */
  readonly prefix?: boolean
  /** Methods it answers; any other gets 405 with `Allow` before the handler runs. HEAD is allowed wherever GET is. */
  readonly methods: readonly string[]
  /** How failures thrown by the handler are shown. */
  readonly errors: ErrorStyle
  /**
   * Cross-origin calls from browser pages (Fetch Standard CORS): `public`
   * answers every origin (discovery, JWKS); `client` answers the origins some
   * client allows (`allowed_origins`), the handler checking the request's own
   * client. Absent: no CORS headers, preflights refused.
   */
  readonly cors?: 'public' | 'client'
  /**
   * False: never refused by load shedding (option `overload`), for cheap,
   * synchronous answers clients need to find the server (discovery, JWKS).
   * Default true: counted and refused with 503 past the bounds.
   */
  readonly shed?: boolean
  /** Answers a request. Throw an `OAuthError` for a protocol error; anything else becomes a bare server_error. */
  handle(ctx: EndpointContext, req: GrantkitRequest): GrantkitResponse | Promise<GrantkitResponse>
}

/**
 * A unit of the server: its endpoints, what it adds to discovery, the stores it
 * needs, the options and client metadata it owns. Built-in features and an
 * embedder's own are registered the same way: `features: [...defaultFeatures, mine]`.
 *
 * @example
 * const status: Feature = {
 *   name: 'status',
 *   endpoints: [{ name: 'status', path: '/status', methods: ['GET'], errors: 'json',
 *                 handle: () => ({ status: 200, headers: {}, body: '{}' }) }],
 *   discovery: (ctx) => ({ status_endpoint: ctx.endpoints.status }),
 * }
 */
export interface Feature {
  /** Unique name, for messages (`storage.deviceCodes: required by the device-flow feature`). */
  readonly name: string
  /** Endpoints it serves. */
  readonly endpoints?: readonly Endpoint[]
  /**
   * Whether the feature is on for this server. Default: on. A feature that is
   * off serves nothing, adds nothing to discovery and needs no stores (the
   * device flow is off when its grant is not registered).
   */
  enabled?(ctx: EndpointContext): boolean
  /** Discovery fields (RFC 8414 §2, OIDC Discovery §3) it contributes, computed once. */
  discovery?(ctx: EndpointContext): Record<string, unknown>
  /** Stores it uses: checked at construction, so a missing one is a TypeError naming it, not a failure at the first request. */
  readonly stores?: readonly (keyof Storage)[]
  /** Client metadata fields (RFC 7591 names) it reads, for documentation and registration policies. */
  readonly clientMetadata?: readonly string[]
  /** Names of the options it owns (dotted paths of the option schema, whose entries name this feature), for documentation. */
  readonly options?: readonly string[]
}
