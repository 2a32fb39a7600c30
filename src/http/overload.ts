/**
 * Load shedding: the bound on requests in flight and on event-loop delay
 * (option `overload`). Pure: it counts and compares, and the delay comes from
 * a source the embedder passes (`overload.eventLoopDelay`; `grantkit/node`
 * exports one built on `monitorEventLoopDelay`), so the core runs anywhere.
 */

/** Why a request was refused: too many in flight, or the event loop lagging past its bound. */
export type ShedReason = 'in_flight' | 'event_loop_delay'

/** The resolved `overload` option. */
export interface OverloadSettings {
  readonly maxRequestsInFlight: number | undefined
  readonly maxEventLoopDelay: number | undefined
  readonly eventLoopDelay: (() => number) | undefined
  readonly retryAfter: number
}

/**
 * Admits a request or says why not. One per server, shared by its endpoints:
 * `admit()` before the handler, `release()` once its response is built.
 *
 * @example
 * const gate = new OverloadGate({ maxRequestsInFlight: 64, maxEventLoopDelay: undefined, eventLoopDelay: undefined, retryAfter: 1 })
 * const refused = gate.admit()
 * if (refused === undefined) try { … } finally { gate.release() }
 */
export class OverloadGate {
  /** Requests admitted whose response is not built yet. */
  inFlight = 0
  private readonly max: number
  private readonly maxDelay: number
  private readonly delay: (() => number) | undefined
  /** Seconds a refused client is told to wait, as the Retry-After value (RFC 9110 §10.2.3). */
  readonly retryAfter: string

  constructor(settings: OverloadSettings) {
    this.max = settings.maxRequestsInFlight ?? Infinity
    this.maxDelay = settings.maxEventLoopDelay ?? Infinity
    this.delay = settings.maxEventLoopDelay === undefined ? undefined : settings.eventLoopDelay
    this.retryAfter = String(settings.retryAfter)
  }

  /** Undefined when the request may run (and is now counted), else why it may not. */
  admit(): ShedReason | undefined {
    if (this.inFlight >= this.max) return 'in_flight'
    // A lagging loop answers everything late: refusing new work at once is what lets it catch up.
    if (this.delay !== undefined && this.delay() > this.maxDelay) return 'event_loop_delay'
    this.inFlight++
    return undefined
  }

  release(): void {
    this.inFlight--
  }
}

/** The gate for resolved settings, or undefined when no bound is set (then requests take the plain path). */
export function overloadGate(settings: OverloadSettings): OverloadGate | undefined {
  if (settings.maxRequestsInFlight === undefined && settings.maxEventLoopDelay === undefined) return undefined
  return new OverloadGate(settings)
}
