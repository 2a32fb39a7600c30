import { context, SpanKind, SpanStatusCode, type Span } from '@opentelemetry/api'
import type { StoreName } from '../storage/features.js'
import type { Storage } from '../storage/types.js'
import { ATTRIBUTES, errorType, type Telemetry } from './telemetry.js'

/** Every store of `Storage`; anything else on a storage object (a pool, `close`) is left alone. */
const STORE_NAMES = [
  'accessTokens',
  'refreshTokens',
  'grants',
  'replay',
  'authorizationCodes',
  'interactions',
  'sessions',
  'consents',
  'rateLimits',
  'deviceCodes',
  'keys',
  'clients',
  'tokenCutoffs',
  'pushedAuthorizationRequests',
  'auditEvents',
] as const satisfies readonly StoreName[]

// A store added to `Storage` without a line above fails to compile here.
type Missing = Exclude<StoreName, (typeof STORE_NAMES)[number]>
const everyStoreListed: Missing extends never ? true : Missing = true
void everyStoreListed

/** Names of the methods of a store, own or inherited (class-based stores keep them on the prototype). */
function methodNames(store: object): string[] {
  const names = new Set<string>()
  for (let o: object | null = store; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const name of Object.getOwnPropertyNames(o)) {
      if (name === 'constructor') continue
      const d = Object.getOwnPropertyDescriptor(o, name)
      if (d !== undefined && typeof d.value === 'function') names.add(name)
    }
  }
  return [...names]
}

function fail(telemetry: Telemetry, span: Span, store: string, operation: string, error: unknown): void {
  const type = errorType(error)
  // The class only: a driver's message may quote a connection string or a key.
  span.setAttribute('error.type', type)
  span.setStatus({ code: SpanStatusCode.ERROR })
  span.end()
  telemetry.storageFailures.add(1, { [ATTRIBUTES.store]: store, [ATTRIBUTES.operation]: operation, 'error.type': type })
}

/**
 * A store whose every method call is a CLIENT span `grantkit.storage
 * <store>.<method>`, a child of the active span. A call that throws or
 * rejects marks its span as an error and counts in `grantkit.storage.failures`.
 * Arguments and results are never recorded: they are token hashes and records.
 * The store itself is the prototype, so its other members read through.
 */
function instrumentStore<S extends object>(telemetry: Telemetry, name: string, store: S): S {
  const wrapper = Object.create(store) as Record<string, unknown>
  for (const method of methodNames(store)) {
    const fn = (store as Record<string, unknown>)[method] as (...args: unknown[]) => unknown
    const spanName = `grantkit.storage ${name}.${method}`
    wrapper[method] = (...args: unknown[]): unknown => {
      const span = telemetry.tracer.startSpan(
        spanName,
        { kind: SpanKind.CLIENT, attributes: { [ATTRIBUTES.store]: name, [ATTRIBUTES.operation]: method } },
        context.active(),
      )
      let result: unknown
      try {
        result = fn.apply(store, args)
      } catch (error) {
        fail(telemetry, span, name, method, error)
        throw error
      }
      if (!(result instanceof Promise)) {
        span.end()
        return result
      }
      return result.then(
        (value: unknown) => {
          span.end()
          return value
        },
        (error: unknown) => {
          fail(telemetry, span, name, method, error)
          throw error
        },
      )
    }
  }
  return wrapper as S
}

/**
 * The storage with each of its stores instrumented (see `instrumentStore`).
 * The original is the prototype of the result, so members other than stores
 * (`close`, `migrate`, a pool) are still there.
 *
 * @example
 * const storage = instrumentStorage(telemetry, createMemoryStorage())
 * await storage.replay.markUsed('k', now + 60) // span "grantkit.storage replay.markUsed"
 */
export function instrumentStorage<S extends Storage>(telemetry: Telemetry, storage: S): S {
  const wrapper = Object.create(storage) as Record<string, unknown>
  for (const name of STORE_NAMES) {
    const store = storage[name]
    if (typeof store === 'object' && store !== null) wrapper[name] = instrumentStore(telemetry, name, store)
  }
  return wrapper as S
}
