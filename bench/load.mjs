// The load generator: autocannon runs in this process (pinned to the load generator core), and single
// checked requests on their own connections for the preflights.
import autocannon from 'autocannon'
import http from 'node:http'
import { performance } from 'node:perf_hooks'
import { FORM_CONTENT_TYPE, percentile } from './common.mjs'
import { request } from './flows.mjs'
import { CONNECTIONS, PIPELINING } from './settings.mjs'

export const LATENCY_CAPACITY = 4_000_000
/** Per-response latencies (ms) of the run being recorded; shared so that no run allocates its own. */
export const latencyBuffer = new Float64Array(LATENCY_CAPACITY)

/** One request on its own connection: { status, headers, body }. */
export function post(port, path, authorization, body) {
  const agent = new http.Agent({ keepAlive: false })
  return request(agent, port, 'POST', path, { 'content-type': FORM_CONTENT_TYPE, authorization }, body).finally(() => agent.destroy())
}

/**
 * One autocannon run. Latencies (ms, fractional) come from the per-response event, not autocannon's
 * 1 ms histogram. `setupClient`, when given, gives each connection its own requests (refresh chains).
 */
export function cannon(port, { path, authorization, body, setupClient }, seconds, record) {
  return new Promise((resolve, reject) => {
    let responses = 0
    let non2xx = 0
    const started = performance.now()
    const instance = autocannon(
      {
        url: `http://127.0.0.1:${port}${path}`,
        method: 'POST',
        headers: { 'content-type': FORM_CONTENT_TYPE, authorization },
        body,
        connections: CONNECTIONS,
        pipelining: PIPELINING,
        duration: seconds,
        timeout: 10,
        ...(setupClient !== undefined && { setupClient }),
      },
      (err, result) => {
        if (err) return reject(err)
        const elapsed = (performance.now() - started) / 1000
        const n = Math.min(responses, LATENCY_CAPACITY)
        const sorted = record ? latencyBuffer.subarray(0, n).sort() : null
        resolve({
          responses,
          requests: responses,
          // Counted by our listener and by autocannon; they should agree, take the larger.
          non2xx: Math.max(non2xx, result.non2xx),
          errors: result.errors,
          timeouts: result.timeouts,
          elapsed,
          p50: sorted ? percentile(sorted, 50) : NaN,
          p99: sorted ? percentile(sorted, 99) : NaN,
        })
      },
    )
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode < 200 || statusCode > 299) non2xx++
      if (record && responses < LATENCY_CAPACITY) latencyBuffer[responses] = responseTime
      responses++
    })
  })
}
