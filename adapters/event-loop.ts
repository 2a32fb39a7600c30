import { monitorEventLoopDelay } from 'node:perf_hooks'

/** A running event-loop delay measurement: see `eventLoopDelayMonitor`. */
export interface EventLoopDelayMonitor {
  /** The event-loop delay of the last completed window, in seconds (its 99th percentile). Cheap: a field read. */
  readonly delay: () => number
  /** Stops measuring (the timers are unref'd and never keep the process alive either way). */
  stop(): void
}

/**
 * Measures event-loop delay with `monitorEventLoopDelay` (node:perf_hooks,
 * no I/O), for the core's `overload.eventLoopDelay`. Every `window` seconds
 * it keeps the 99th percentile of the delays sampled in that window and
 * starts a new one, so `delay()` is a field read on the request path and a
 * single pause (a GC) does not decide alone.
 *
 * @param options `window` in seconds (default 0.5), `resolution` of the sampling timer in milliseconds (default 10)
 * @example
 * const monitor = eventLoopDelayMonitor()
 * const server = createAuthorizationServer({ ...options, overload: { maxRequestsInFlight: 256, maxEventLoopDelay: 0.5, eventLoopDelay: monitor.delay } })
 */
export function eventLoopDelayMonitor(options: { window?: number; resolution?: number } = {}): EventLoopDelayMonitor {
  const window = options.window ?? 0.5
  const resolution = options.resolution ?? 10
  if (!(window > 0)) throw new TypeError('window: must be a positive number of seconds')
  if (!Number.isInteger(resolution) || resolution < 1) throw new TypeError('resolution: must be a whole number of milliseconds >= 1')
  const histogram = monitorEventLoopDelay({ resolution })
  histogram.enable()
  let current = 0
  const timer = setInterval(() => {
    // The histogram holds the time between the sampling timer's runs, in nanoseconds: the delay is what exceeds `resolution`.
    current = histogram.count === 0 ? 0 : Math.max(0, histogram.percentile(99) / 1e9 - resolution / 1000)
    histogram.reset()
  }, window * 1000)
  timer.unref()
  return {
    delay: () => current,
    stop() {
      clearInterval(timer)
      histogram.disable()
    },
  }
}
