import { metrics, trace } from '@opentelemetry/api'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createAuthorizationServer, createMemoryStorage } from '../../src/index.js'
import { instrumentRoutes } from '../../src/observability/telemetry-endpoints.js'
import { instrumentStorage } from '../../src/observability/telemetry-storage.js'
import { contextOf } from '../../src/server.js'
import { basic, clients, ISSUER, tokenRequest } from '../helpers.js'
import { memoryTelemetry } from './otel-harness.js'

vi.mock('../../src/observability/telemetry-endpoints.js', async (original) => {
  const real = await original<typeof import('../../src/observability/telemetry-endpoints.js')>()
  return { ...real, instrumentRoutes: vi.fn(real.instrumentRoutes) }
})
vi.mock('../../src/observability/telemetry-storage.js', async (original) => {
  const real = await original<typeof import('../../src/observability/telemetry-storage.js')>()
  return { ...real, instrumentStorage: vi.fn(real.instrumentStorage) }
})

afterEach(() => {
  vi.mocked(instrumentRoutes).mockClear()
  vi.mocked(instrumentStorage).mockClear()
  trace.disable()
  metrics.disable()
})

describe('telemetry without an SDK', () => {
  it('wraps nothing: the storage is the one given and the endpoints are the plain bound ones', async () => {
    const storage = createMemoryStorage()
    const server = createAuthorizationServer({ issuer: ISSUER, clients, storage })
    expect(contextOf(server).storage).toBe(storage)
    expect(instrumentRoutes).not.toHaveBeenCalled()
    expect(instrumentStorage).not.toHaveBeenCalled()
    const res = await server.handle(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('svc', 'svc-secret') }))
    expect(res.status).toBe(200)
  })

  it('wraps nothing after an SDK was registered and then disabled', () => {
    const otel = memoryTelemetry()
    trace.setGlobalTracerProvider(otel.tracerProvider)
    metrics.setGlobalMeterProvider(otel.meterProvider)
    trace.disable()
    metrics.disable()
    const storage = createMemoryStorage()
    createAuthorizationServer({ issuer: ISSUER, clients, storage })
    expect(instrumentRoutes).not.toHaveBeenCalled()
    expect(instrumentStorage).not.toHaveBeenCalled()
  })

  it('wraps once a provider is registered (the spies above do see a wrap)', () => {
    const otel = memoryTelemetry()
    trace.setGlobalTracerProvider(otel.tracerProvider)
    const storage = createMemoryStorage()
    const server = createAuthorizationServer({ issuer: ISSUER, clients, storage })
    expect(instrumentRoutes).toHaveBeenCalledTimes(1)
    expect(instrumentStorage).toHaveBeenCalledTimes(1)
    expect(contextOf(server).storage).not.toBe(storage)
  })
})
