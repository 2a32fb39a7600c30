import { monitorEventLoopDelay } from 'node:perf_hooks'

/** A running event-loop delay measurement: see `eventLoopDelayMonitor`. */
export interface EventLoopDelayMonitor {
  /** The event-loop delay of the last completed window, in seconds: what a request arriving at a random moment waited on average. Cheap: a field read. */
  readonly delay: () => number
  /** Stops measuring (the timers are unref'd and never keep the process alive either way). */
  stop(): void
}

/**
 * Measures event-loop delay with `monitorEventLoopDelay` (node:perf_hooks,
 * no I/O), for the core's `overload.eventLoopDelay`. Every `window` seconds
 * it keeps the delay of that window and starts a new one, so `delay()` is a
 * field read on the request path. The delay is the wait of a request arriving
 * at a random moment, Σd²/(2·Σd) over the sampling timer's intervals d, less
 * the sampling's own: a loop that lags all the time counts fully, a single
 * short pause (a GC) only by its share of the window, so it does not refuse
 * half a second of requests alone.
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
  let last = performance.now()
  const timer = setInterval(() => {
    const now = performance.now()
    // This timer's own lateness: a block still in progress when it fires is not in the histogram yet.
    const late = (now - last) / 1000 - window
    last = now
    // The histogram holds the intervals d between the sampling timer's runs, in nanoseconds. Σd = n·mean and
    // Σd² = n·(stddev² + mean²), so a random arrival waits (stddev² + mean²) / (2·mean); an idle loop's is resolution / 2.
    const mean = histogram.mean / 1e9
    const sd = histogram.stddev / 1e9
    const sampled = histogram.count === 0 || !(mean > 0) ? 0 : (sd * sd + mean * mean) / (2 * mean) - resolution / 2000
    current = Math.max(0, sampled, late)
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
