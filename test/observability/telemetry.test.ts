import { metrics, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { core } from '@opentelemetry/sdk-node'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createAuthorizationServer, createMemoryStorage, defaultFeatures, StorageUnavailableError, type Feature, type Storage } from '../../src/index.js'
import { contextOf } from '../../src/server.js'
import { INSTRUMENTS } from '../../src/observability/telemetry.js'
import { basic, clients, counterIds, fakeClock, ISSUER, json, tokenRequest } from '../helpers.js'
import { histogramPoints, memoryTelemetry, resetGlobals, sumOf, useContextManager, type MemoryTelemetry } from './otel-harness.js'

let otel: MemoryTelemetry
let undoContext: () => void

beforeAll(() => {
  undoContext = useContextManager()
})
afterAll(() => undoContext())
beforeEach(() => {
  otel = memoryTelemetry()
})
afterEach(async () => {
  await otel.shutdown()
})

const boom: Feature = {
  name: 'boom',
  endpoints: [
    {
      name: 'boom',
      path: '/boom',
      methods: ['GET'],
      errors: 'json',
      handle: () => {
        throw new Error('kaput at postgres://user:hunter2@db')
      },
    },
  ],
}

function server(extra: { storage?: Storage; accessTokenFormat?: 'jwt' | 'opaque'; telemetry?: object } = {}) {
  const clock = fakeClock()
  return createAuthorizationServer({
    issuer: ISSUER,
    clients,
    deps: { now: clock.now, randomId: counterIds() },
    storage: extra.storage ?? createMemoryStorage({ now: clock.now }),
    features: [...defaultFeatures, boom],
    telemetry: extra.telemetry ?? { tracerProvider: otel.tracerProvider, meterProvider: otel.meterProvider },
    ...(extra.accessTokenFormat !== undefined && { accessTokenFormat: extra.accessTokenFormat }),
  })
}

const clientCredentials = (secret = 'svc-secret') => tokenRequest({ grant_type: 'client_credentials', scope: 'api:read' }, { authorization: basic('svc', secret) })
const named = (spans: ReadableSpan[], name: string) => spans.filter((s) => s.name === name)
const isChildOf = (child: ReadableSpan, parent: ReadableSpan) =>
  child.parentSpanContext?.spanId === parent.spanContext().spanId && child.spanContext().traceId === parent.spanContext().traceId

describe('telemetry: spans', () => {
  it('records a SERVER span per endpoint call, named after the endpoint, with HTTP attributes', async () => {
    const res = await server().handle(clientCredentials())
    expect(res.status).toBe(200)
    const [span] = named(otel.spans(), 'grantkit token')
    expect(span).toBeDefined()
    expect(span!.kind).toBe(SpanKind.SERVER)
    expect(span!.attributes).toMatchObject({
      'grantkit.endpoint': 'token',
      'http.request.method': 'POST',
      'http.route': '/token',
      'url.path': '/token',
      'http.response.status_code': 200,
      'grantkit.client_id': 'svc',
      'grantkit.grant_type': 'client_credentials',
    })
    expect(span!.status.code).not.toBe(SpanStatusCode.ERROR)
    expect(span!.instrumentationScope.name).toBe('grantkit')
  })

  it('records each storage call as a child span of the endpoint span', async () => {
    await server({ accessTokenFormat: 'opaque' }).handle(clientCredentials())
    const spans = otel.spans()
    const [endpoint] = named(spans, 'grantkit token')
    const [save] = named(spans, 'grantkit.storage accessTokens.save')
    expect(save, spans.map((s) => s.name).join(', ')).toBeDefined()
    expect(save!.kind).toBe(SpanKind.CLIENT)
    expect(save!.attributes).toEqual({ 'grantkit.storage.store': 'accessTokens', 'grantkit.storage.operation': 'save' })
    expect(isChildOf(save!, endpoint!)).toBe(true)
  })

  it('marks the endpoint span and the storage span as errors when storage is down (503), and counts the failure', async () => {
    const storage = createMemoryStorage()
    storage.accessTokens.save = async () => {
      throw new StorageUnavailableError('postgres: connection refused to postgres://user:hunter2@db')
    }
    const res = await server({ storage, accessTokenFormat: 'opaque' }).handle(clientCredentials())
    expect(res.status).toBe(503)
    const spans = otel.spans()
    const [endpoint] = named(spans, 'grantkit token')
    const [save] = named(spans, 'grantkit.storage accessTokens.save')
    expect(endpoint!.status.code).toBe(SpanStatusCode.ERROR)
    expect(endpoint!.attributes['http.response.status_code']).toBe(503)
    expect(endpoint!.attributes['error.type']).toBe('StorageUnavailableError')
    expect(save!.status.code).toBe(SpanStatusCode.ERROR)
    expect(save!.attributes['error.type']).toBe('StorageUnavailableError')
    // The driver's message (which may quote a connection string) is nowhere.
    expect(JSON.stringify(spans.map((s) => [s.attributes, s.status, s.events]))).not.toContain('hunter2')

    const m = await otel.collect()
    expect(sumOf(m.get(INSTRUMENTS.storageFailures), { 'grantkit.storage.store': 'accessTokens', 'grantkit.storage.operation': 'save', 'error.type': 'StorageUnavailableError' })).toBe(1)
  })

  it('marks a 500 as an error with the class of what was thrown, never its message', async () => {
    const res = await server().handle({ method: 'GET', url: new URL(ISSUER + '/boom'), headers: {} })
    expect(res.status).toBe(500)
    const [span] = named(otel.spans(), 'grantkit boom')
    expect(span!.status.code).toBe(SpanStatusCode.ERROR)
    expect(span!.attributes['error.type']).toBe('Error')
    expect(JSON.stringify([span!.attributes, span!.status, span!.events])).not.toContain('hunter2')
  })

  it('does not mark a refused request (4xx) as a span error, and records the OAuth error code and the claimed client', async () => {
    const res = await server().handle(clientCredentials('wrong'))
    expect(res.status).toBe(401)
    const [span] = named(otel.spans(), 'grantkit token')
    expect(span!.status.code).toBe(SpanStatusCode.UNSET)
    expect(span!.attributes).toMatchObject({ 'http.response.status_code': 401, 'grantkit.error_code': 'invalid_client', 'grantkit.client_id': 'svc' })
  })

  it('never records a client secret or a token', async () => {
    const s = server({ accessTokenFormat: 'opaque' })
    const res = await s.handle(clientCredentials())
    const token = json(res).access_token as string
    await s.handle(tokenRequest({ token }, { authorization: basic('svc', 'svc-secret') }, '/introspect'))
    await s.handle(clientCredentials('wrong-secret'))
    const spans = otel.spans()
    expect(spans.length).toBeGreaterThan(2)
    const m = await otel.collect()
    const recorded = JSON.stringify([spans.map((sp) => [sp.name, sp.attributes, sp.status, sp.events]), [...m.values()].map((x) => x.dataPoints)])
    for (const secret of [token, 'svc-secret', 'wrong-secret', basic('svc', 'svc-secret')]) expect(recorded).not.toContain(secret)
  })

  it('keeps a synchronous endpoint synchronous', () => {
    const res = server().jwks({ method: 'GET', url: new URL(ISSUER + '/jwks'), headers: {} })
    expect(res).not.toBeInstanceOf(Promise)
    expect(res.status).toBe(200)
    expect(named(otel.spans(), 'grantkit jwks')).toHaveLength(1)
  })

  it('instruments endpoints called directly by name, not only through handle()', async () => {
    const s = server()
    await s.token(clientCredentials())
    await s.endpoint('token')!(clientCredentials())
    expect(named(otel.spans(), 'grantkit token')).toHaveLength(2)
  })

  it('records a method it does not know as _OTHER, so clients cannot grow the metrics', async () => {
    const res = await server().handle({ ...clientCredentials(), method: 'BREW' })
    expect(res.status).toBe(405)
    const [span] = named(otel.spans(), 'grantkit token')
    expect(span!.attributes['http.request.method']).toBe('_OTHER')
    const m = await otel.collect()
    expect(sumOf(m.get(INSTRUMENTS.requests), { 'http.request.method': '_OTHER', 'http.response.status_code': 405 })).toBe(1)
  })

  it('leaves the rest of a prefix route (an interaction id) out of url.path', async () => {
    await server().handle({ method: 'GET', url: new URL(ISSUER + '/interaction/secret-uid-123'), headers: {} })
    const [span] = named(otel.spans(), 'grantkit interaction')
    expect(span).toBeDefined()
    expect(span!.attributes['url.path']).toBe('/interaction')
    expect(JSON.stringify(span!.attributes)).not.toContain('secret-uid-123')
  })

  it("continues the caller's trace from a traceparent header", async () => {
    propagation.setGlobalPropagator(new core.W3CTraceContextPropagator())
    try {
      const traceId = '0af7651916cd43dd8448eb211c80319c'
      await server().handle({ ...clientCredentials(), headers: { ...clientCredentials().headers, traceparent: `00-${traceId}-b7ad6b7169203331-01` } })
      const [span] = named(otel.spans(), 'grantkit token')
      expect(span!.spanContext().traceId).toBe(traceId)
      expect(span!.parentSpanContext?.spanId).toBe('b7ad6b7169203331')
    } finally {
      propagation.disable()
    }
  })

  it('becomes the child of a span the application already has active', async () => {
    const s = server({ accessTokenFormat: 'opaque' })
    const outer = otel.tracerProvider.getTracer('app').startSpan('app request')
    const { context } = await import('@opentelemetry/api')
    await context.with(trace.setSpan(context.active(), outer), () => s.handle(clientCredentials()))
    outer.end()
    const spans = otel.spans()
    expect(isChildOf(named(spans, 'grantkit token')[0]!, named(spans, 'app request')[0]!)).toBe(true)
  })
})

describe('telemetry: events', () => {
  it("annotates only grantkit's endpoint spans, never a span of the application's", async () => {
    const { context } = await import('@opentelemetry/api')
    const s = server()
    const app = otel.tracerProvider.getTracer('app').startSpan('app route')
    context.with(trace.setSpan(context.active(), app), () => {
      // As when the application's own route calls server.interactions.finish and a token is issued.
      contextOf(s).events.emit({ type: 'token.error', grantType: 'password', clientId: 'svc', error: 'invalid_grant', detail: undefined })
    })
    app.end()
    const [span] = named(otel.spans(), 'app route')
    expect(span!.attributes).toEqual({})
  })

  it('counts a token issued outside an endpoint call too', async () => {
    const s = server()
    contextOf(s).events.emit({ type: 'token.issued', grantType: 'implicit', clientId: 'spa', sub: 'alice', scope: '', tokenId: 't', format: 'jwt', refreshToken: false })
    expect(sumOf((await otel.collect()).get(INSTRUMENTS.tokensIssued), { 'grantkit.grant_type': 'implicit' })).toBe(1)
  })
})

describe('telemetry: metrics', () => {
  it('counts requests by endpoint and status, times them in seconds, and counts tokens by grant type', async () => {
    const s = server()
    expect((await s.handle(clientCredentials())).status).toBe(200)
    expect((await s.handle(clientCredentials())).status).toBe(200)
    expect((await s.handle(clientCredentials('wrong'))).status).toBe(401)
    expect((await s.handle({ method: 'GET', url: new URL(ISSUER + '/jwks'), headers: {} })).status).toBe(200)

    const m = await otel.collect()
    const requests = m.get(INSTRUMENTS.requests)
    expect(requests?.descriptor.unit).toBe('{request}')
    expect(sumOf(requests, { 'grantkit.endpoint': 'token', 'http.response.status_code': 200, 'http.request.method': 'POST' })).toBe(2)
    expect(sumOf(requests, { 'grantkit.endpoint': 'token', 'http.response.status_code': 401 })).toBe(1)
    expect(sumOf(requests, { 'grantkit.endpoint': 'jwks', 'http.response.status_code': 200 })).toBe(1)

    const duration = m.get(INSTRUMENTS.duration)
    expect(duration?.descriptor.unit).toBe('s')
    const ok = histogramPoints(duration, { 'grantkit.endpoint': 'token', 'http.response.status_code': 200 })
    expect(ok).toHaveLength(1)
    expect(ok[0]!.count).toBe(2)
    expect(ok[0]!.sum).toBeGreaterThan(0)
    // Seconds, not milliseconds: two in-memory token requests take well under 10 s.
    expect(ok[0]!.sum).toBeLessThan(10)
    expect(ok[0]!.buckets.boundaries).toContain(0.005)
    expect(histogramPoints(duration, { 'grantkit.endpoint': 'token', 'http.response.status_code': 401 })[0]!.count).toBe(1)

    const tokens = m.get(INSTRUMENTS.tokensIssued)
    expect(sumOf(tokens, { 'grantkit.grant_type': 'client_credentials' })).toBe(2)
    // Nothing issued for the refused request, and no per-client series.
    expect(sumOf(tokens, {})).toBe(2)
    expect(tokens!.dataPoints.every((p) => Object.keys(p.attributes).join() === 'grantkit.grant_type')).toBe(true)
  })

  it('counts tokens by grant type across grants', async () => {
    const s = server()
    await s.handle(clientCredentials())
    await s.handle(tokenRequest({ grant_type: 'client_credentials', client_id: 'post', client_secret: 'post-secret' }))
    const m = await otel.collect()
    expect(sumOf(m.get(INSTRUMENTS.tokensIssued), { 'grantkit.grant_type': 'client_credentials' })).toBe(2)
    expect(sumOf(m.get(INSTRUMENTS.storageFailures), {})).toBe(0)
  })

  it('records metrics with only a meter provider, and spans with only a tracer provider', async () => {
    await server({ telemetry: { meterProvider: otel.meterProvider } }).handle(clientCredentials())
    expect(otel.spans()).toHaveLength(0)
    expect(sumOf((await otel.collect()).get(INSTRUMENTS.requests), { 'grantkit.endpoint': 'token' })).toBe(1)

    const other = memoryTelemetry()
    await server({ telemetry: { tracerProvider: other.tracerProvider } }).handle(clientCredentials())
    expect(named(other.spans(), 'grantkit token')).toHaveLength(1)
    await other.shutdown()
  })
})

describe('telemetry: storage wrapper', () => {
  it("keeps what is not a store, and the stores' own state", async () => {
    const base = createMemoryStorage()
    const extra = Object.assign(base, { close: async () => 'closed' })
    const s = server({ storage: extra, accessTokenFormat: 'opaque' })
    const wrapped = contextOf(s).storage as typeof extra
    expect(wrapped).not.toBe(extra)
    expect(await wrapped.close()).toBe('closed')
    expect(wrapped.keys).toBeUndefined()
    // Class-based stores keep `this`: a mark set through the wrapper is seen through the original.
    expect(await wrapped.replay.markUsed('k', 2_000_000_000)).toBe(true)
    expect(await extra.replay.markUsed('k', 2_000_000_000)).toBe(false)
    expect(named(otel.spans(), 'grantkit.storage replay.markUsed')).toHaveLength(1)
  })

  it('rethrows a synchronous throw unchanged and counts it', async () => {
    const storage = createMemoryStorage()
    const failing = new TypeError('bad record')
    storage.replay.markUsed = () => {
      throw failing
    }
    const wrapped = contextOf(server({ storage })).storage
    expect(() => wrapped.replay.markUsed('k', 1)).toThrow(failing)
    const [span] = named(otel.spans(), 'grantkit.storage replay.markUsed')
    expect(span!.status.code).toBe(SpanStatusCode.ERROR)
    expect(span!.attributes['error.type']).toBe('TypeError')
    expect(sumOf((await otel.collect()).get(INSTRUMENTS.storageFailures), { 'error.type': 'TypeError' })).toBe(1)
  })
})

describe('telemetry: providers', () => {
  afterEach(() => {
    trace.disable()
    metrics.disable()
  })

  it('uses the providers an SDK registered globally before the server was built', async () => {
    trace.setGlobalTracerProvider(otel.tracerProvider)
    metrics.setGlobalMeterProvider(otel.meterProvider)
    const clock = fakeClock()
    const s = createAuthorizationServer({ issuer: ISSUER, clients, deps: { now: clock.now } })
    await s.handle(clientCredentials())
    expect(named(otel.spans(), 'grantkit token')).toHaveLength(1)
    expect(sumOf((await otel.collect()).get(INSTRUMENTS.requests), { 'grantkit.endpoint': 'token' })).toBe(1)
  })

  it('decides at construction: a provider registered later sees nothing of an existing server', async () => {
    const clock = fakeClock()
    const storage = createMemoryStorage({ now: clock.now })
    const s = createAuthorizationServer({ issuer: ISSUER, clients, storage, deps: { now: clock.now } })
    trace.setGlobalTracerProvider(otel.tracerProvider)
    metrics.setGlobalMeterProvider(otel.meterProvider)
    await s.handle(clientCredentials())
    expect(otel.spans()).toHaveLength(0)
    expect((await otel.collect()).size).toBe(0)
    expect(contextOf(s).storage).toBe(storage)
  })

  it('refuses a telemetry provider that is not one, naming the option', () => {
    const make = (telemetry: unknown) => () => createAuthorizationServer({ issuer: ISSUER, clients, telemetry: telemetry as never })
    expect(make({ tracerProvider: {} })).toThrow('telemetry.tracerProvider: must be an OpenTelemetry TracerProvider (with getTracer)')
    expect(make({ meterProvider: 5 })).toThrow('telemetry.meterProvider: must be an OpenTelemetry MeterProvider (with getMeter)')
    expect(make({ tracerprovider: {} })).toThrow(/telemetry\.tracerprovider/)
    expect(make(true)).toThrow('telemetry: must be an object')
  })
})

afterAll(() => resetGlobals())
