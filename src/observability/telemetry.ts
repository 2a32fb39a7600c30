import {
  createNoopMeter,
  metrics,
  ProxyTracerProvider,
  trace,
  ValueType,
  type Counter,
  type Histogram,
  type MeterProvider,
  type Span,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api'
import type { EventHub } from '../events/events.js'

/**
 * Where grantkit sends its spans and measurements. Either provider may be left
 * out: grantkit then uses the one the application registered globally with
 * the OpenTelemetry API (`trace.setGlobalTracerProvider`, or an SDK's
 * `start()`/`register()`), if any, when the server is built.
 *
 * @example
 * const server = createAuthorizationServer({ issuer, clients, telemetry: { tracerProvider, meterProvider } })
 */
export interface TelemetryOptions {
  /** Spans: one per endpoint call (`grantkit token`) and one per storage call below it. */
  tracerProvider?: TracerProvider
  /** Counters and histograms: `grantkit.requests`, `grantkit.request.duration`, `grantkit.tokens.issued`, `grantkit.storage.failures`. */
  meterProvider?: MeterProvider
}

/** Name of the tracer and the meter (the instrumentation scope). */
export const INSTRUMENTATION_SCOPE = 'grantkit'

/**
 * Instrument names, so that dashboards, docs and tests name one thing.
 * Units follow UCUM, as the OpenTelemetry semantic conventions ask.
 */
export const INSTRUMENTS = {
  requests: 'grantkit.requests',
  duration: 'grantkit.request.duration',
  tokensIssued: 'grantkit.tokens.issued',
  storageFailures: 'grantkit.storage.failures',
  shed: 'grantkit.requests.shed',
} as const

/**
 * Attribute names grantkit sets beyond the semantic conventions. None carries
 * a secret: identifiers of clients and grant types, and error codes.
 */
export const ATTRIBUTES = {
  endpoint: 'grantkit.endpoint',
  clientId: 'grantkit.client_id',
  grantType: 'grantkit.grant_type',
  errorCode: 'grantkit.error_code',
  store: 'grantkit.storage.store',
  operation: 'grantkit.storage.operation',
  shedReason: 'grantkit.shed.reason',
} as const

/**
 * Bucket boundaries in seconds of the request-duration histogram: those the
 * semantic conventions advise for `http.server.request.duration`.
 */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]

/** The instruments of one server. Internal: built once by `createTelemetry`. */
export interface Telemetry {
  readonly tracer: Tracer
  /** The endpoint spans in progress: events annotate only these, never a span of the application's. */
  readonly endpointSpans: WeakSet<Span>
  readonly requests: Counter
  readonly duration: Histogram
  readonly tokensIssued: Counter
  readonly storageFailures: Counter
  readonly shed: Counter
}

// The API's no-op singletons, to recognise "nothing registered". Only this copy
// of the API can hand them out: a provider registered through another copy is
// never one of them, and is real.
const NOOP_TRACER_PROVIDER = new ProxyTracerProvider().getDelegate()
const NoopMeter = createNoopMeter().constructor

/** The tracer provider to use, or undefined when spans would go nowhere. */
function activeTracerProvider(given: TracerProvider | undefined): TracerProvider | undefined {
  if (given !== undefined) return given
  const global = trace.getTracerProvider()
  if (global instanceof ProxyTracerProvider && global.getDelegate() === NOOP_TRACER_PROVIDER) return undefined
  return global
}

/** The meter provider to use, or undefined when measurements would go nowhere. */
function activeMeterProvider(given: MeterProvider | undefined): MeterProvider | undefined {
  if (given !== undefined) return given
  const global = metrics.getMeterProvider()
  return global.getMeter(INSTRUMENTATION_SCOPE) instanceof NoopMeter ? undefined : global
}

/**
 * The instruments of a server, or undefined when neither a tracer nor a meter
 * provider is given or registered: the server then wraps nothing, and its
 * request path is exactly the uninstrumented one. Decided once, when the
 * server is built, so an SDK must be started before `createAuthorizationServer`.
 *
 * @example
 * const telemetry = createTelemetry({ tracerProvider })
 * telemetry?.tracer.startSpan('grantkit token')
 */
export function createTelemetry(options: TelemetryOptions | undefined): Telemetry | undefined {
  const tracerProvider = activeTracerProvider(options?.tracerProvider)
  const meterProvider = activeMeterProvider(options?.meterProvider)
  if (tracerProvider === undefined && meterProvider === undefined) return undefined
  // One of the two may still be the API's no-op: it costs a call per request, only while the other one records.
  const tracer = (tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_SCOPE)
  const meter = (meterProvider ?? metrics.getMeterProvider()).getMeter(INSTRUMENTATION_SCOPE)
  return {
    tracer,
    endpointSpans: new WeakSet(),
    requests: meter.createCounter(INSTRUMENTS.requests, {
      description: 'Requests answered, by endpoint, method and status code.',
      unit: '{request}',
      valueType: ValueType.INT,
    }),
    duration: meter.createHistogram(INSTRUMENTS.duration, {
      description: 'Time from a request reaching the endpoint to its response, by endpoint, method and status code.',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    }),
    tokensIssued: meter.createCounter(INSTRUMENTS.tokensIssued, {
      description: 'Access tokens issued, by grant type.',
      unit: '{token}',
      valueType: ValueType.INT,
    }),
    storageFailures: meter.createCounter(INSTRUMENTS.storageFailures, {
      description: 'Storage calls that threw or rejected, by store, operation and error type.',
      unit: '{failure}',
      valueType: ValueType.INT,
    }),
    shed: meter.createCounter(INSTRUMENTS.shed, {
      description: 'Requests refused with 503 by load shedding, by endpoint and reason (in_flight, event_loop_delay).',
      unit: '{request}',
      valueType: ValueType.INT,
    }),
  }
}

/**
 * Feeds the server's events into telemetry: the token counter, and on the
 * endpoint's span (when a context manager makes it the active one) who asked
 * for what and how it failed. Events carry no secrets, and only their
 * identifiers are copied.
 */
export function observeEvents(telemetry: Telemetry, events: EventHub): void {
  // Undefined outside an endpoint call (e.g. `server.interactions.finish` called from the application's own route).
  const endpointSpan = (): Span | undefined => {
    const span = trace.getActiveSpan()
    return span !== undefined && telemetry.endpointSpans.has(span) ? span : undefined
  }
  events.on('token.issued', (e) => {
    telemetry.tokensIssued.add(1, { [ATTRIBUTES.grantType]: e.grantType })
    endpointSpan()?.setAttributes({ [ATTRIBUTES.clientId]: e.clientId, [ATTRIBUTES.grantType]: e.grantType })
  })
  events.on('token.error', (e) => {
    const span = endpointSpan()
    if (span === undefined) return
    span.setAttribute(ATTRIBUTES.errorCode, e.error)
    if (e.clientId !== undefined) span.setAttribute(ATTRIBUTES.clientId, e.clientId)
    if (e.grantType !== undefined) span.setAttribute(ATTRIBUTES.grantType, e.grantType)
  })
  events.on('client.authentication.failed', (e) => {
    // The client_id a failed authentication claimed: an identifier, never the credential.
    if (e.clientId !== undefined) endpointSpan()?.setAttribute(ATTRIBUTES.clientId, e.clientId)
  })
  events.on('authorization.error', (e) => {
    const span = endpointSpan()
    if (span === undefined) return
    span.setAttribute(ATTRIBUTES.errorCode, e.error)
    if (e.clientId !== undefined) span.setAttribute(ATTRIBUTES.clientId, e.clientId)
  })
  // The class of what went wrong, never its message: a driver's message may quote a connection string.
  events.on('server.error', (e) => endpointSpan()?.setAttribute('error.type', errorType(e.error)))
  events.on('storage.unavailable', (e) => endpointSpan()?.setAttribute('error.type', errorType(e.error)))
  events.on('request.shed', (e) => {
    telemetry.shed.add(1, { [ATTRIBUTES.endpoint]: e.endpoint, [ATTRIBUTES.shedReason]: e.reason })
    endpointSpan()?.setAttribute('error.type', 'overload')
  })
}

/**
 * A low-cardinality name for a thrown value (semantic conventions `error.type`):
 * its class name, never its message.
 *
 * @example
 * errorType(new TypeError('x')) // 'TypeError'
 */
export function errorType(error: unknown): string {
  if (error instanceof Error) return error.constructor.name === '' ? error.name : error.constructor.name
  return typeof error
}
