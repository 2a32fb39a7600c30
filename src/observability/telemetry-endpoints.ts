import { context, propagation, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api'
import type { BoundEndpoint } from '../features/registry.js'
import type { Feature } from '../features/types.js'
import type { GrantkitRequest, GrantkitResponse } from '../http/types.js'
import { ATTRIBUTES, errorType, type Telemetry } from './telemetry.js'

/**
 * Methods the semantic conventions name (`http.request.method`); any other is
 * `_OTHER`, so that a client inventing methods cannot grow the metrics.
 */
const KNOWN_METHODS = new Set(['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE'])

/** What the instrumentation knows about an endpoint besides its handler. */
export interface InstrumentedEndpoint {
  /** Endpoint name: `token`, `jwks`, … (the span is `grantkit token`). */
  readonly name: string
  /** Path as routed (`http.route`). */
  readonly route: string
  /** Routes every path below `route`; the rest of the path is not recorded. */
  readonly prefix: boolean
}

/**
 * The parent of an endpoint's span: the span already active (an HTTP
 * server instrumentation of the application), or else the caller's trace
 * from the request headers (W3C `traceparent`, whatever propagator the
 * application registered).
 */
function parentContext(req: GrantkitRequest): Context {
  const active = context.active()
  if (trace.getSpan(active) !== undefined) return active
  return propagation.extract(active, req.headers)
}

/**
 * An endpoint that records a SERVER span named `grantkit <name>`, with its
 * storage calls as children (when the application registered a context
 * manager, as the Node SDK does), and counts and times every answer.
 * A synchronous endpoint stays synchronous.
 *
 * @example
 * const token = instrumentEndpoint(telemetry, { name: 'token', route: '/token', prefix: false }, bound)
 */
export function instrumentEndpoint(telemetry: Telemetry, endpoint: InstrumentedEndpoint, bound: BoundEndpoint): BoundEndpoint {
  const spanName = `grantkit ${endpoint.name}`
  return (req) => {
    const started = performance.now()
    const method = KNOWN_METHODS.has(req.method) ? req.method : '_OTHER'
    const parent = parentContext(req)
    const span = telemetry.tracer.startSpan(
      spanName,
      {
        kind: SpanKind.SERVER,
        attributes: {
          [ATTRIBUTES.endpoint]: endpoint.name,
          'http.request.method': method,
          'http.route': endpoint.route,
          // Below a prefix route the rest of the path is an interaction id, which pairs with a cookie: left out.
          'url.path': endpoint.prefix ? endpoint.route : req.url.pathname,
        },
      },
      parent,
    )
    telemetry.endpointSpans.add(span)
    const finish = (res: GrantkitResponse | undefined, error?: unknown): void => {
      const attributes: Attributes = { [ATTRIBUTES.endpoint]: endpoint.name, 'http.request.method': method }
      if (res !== undefined) attributes['http.response.status_code'] = res.status
      else attributes['error.type'] = errorType(error)
      endSpan(span, res, error)
      telemetry.requests.add(1, attributes)
      telemetry.duration.record((performance.now() - started) / 1000, attributes)
    }
    let res: GrantkitResponse | Promise<GrantkitResponse>
    try {
      res = context.with(trace.setSpan(parent, span), bound, undefined, req)
    } catch (error) {
      finish(undefined, error)
      throw error
    }
    if (!(res instanceof Promise)) {
      finish(res)
      return res
    }
    return res.then(
      (r) => {
        finish(r)
        return r
      },
      (error: unknown) => {
        finish(undefined, error)
        throw error
      },
    )
  }
}

function endSpan(span: Span, res: GrantkitResponse | undefined, error: unknown): void {
  if (res === undefined) {
    // The bound endpoint turns every failure into a response; reaching this is a bug, recorded by class only.
    span.setAttribute('error.type', errorType(error))
    span.setStatus({ code: SpanStatusCode.ERROR })
  } else {
    span.setAttribute('http.response.status_code', res.status)
    // Semantic conventions (HTTP server spans): 5xx is an error of the server; 4xx is the client's, not the span's.
    // Its `error.type` comes from the server.error / storage.unavailable event the failure path emitted.
    if (res.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR })
  }
  span.end()
}

/** The bound features as `createAuthorizationServer` routes them. */
export interface RoutedEndpoints {
  readonly enabled: readonly Feature[]
  readonly byName: ReadonlyMap<string, BoundEndpoint>
  find(pathname: string): BoundEndpoint | undefined
}

/**
 * The same routing with every endpoint instrumented: `byName` and `find`
 * answer the instrumented endpoint of the one they answered before.
 *
 * @param routes the routed path of each endpoint, by name (`ctx.routes`)
 * @example
 * const bound = instrumentRoutes(telemetry, bindFeatures(ctx, features, paths, basePath), ctx.routes)
 */
export function instrumentRoutes<R extends RoutedEndpoints>(telemetry: Telemetry, routed: R, routes: Readonly<Record<string, string>>): R {
  const prefixes = new Set<string>()
  for (const f of routed.enabled) for (const e of f.endpoints ?? []) if (e.prefix === true) prefixes.add(e.name)
  const byName = new Map<string, BoundEndpoint>()
  const wrapped = new Map<BoundEndpoint, BoundEndpoint>()
  for (const [name, bound] of routed.byName) {
    const instrumented = instrumentEndpoint(telemetry, { name, route: routes[name] ?? '', prefix: prefixes.has(name) }, bound)
    byName.set(name, instrumented)
    wrapped.set(bound, instrumented)
  }
  return {
    ...routed,
    byName,
    find(pathname: string): BoundEndpoint | undefined {
      const bound = routed.find(pathname)
      return bound === undefined ? undefined : wrapped.get(bound)
    },
  }
}
