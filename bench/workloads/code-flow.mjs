// Workload: the whole code flow with PKCE, FLOW_WORKERS headless browsers at a time (flows.mjs).
import http from 'node:http'
import { percentile } from '../common.mjs'
import { codeFlow, runFlows } from '../flows.mjs'
import { LATENCY_CAPACITY, latencyBuffer } from '../load.mjs'
import { FLOW_WORKERS } from '../settings.mjs'

/** Checked first: one whole flow. The rate counts flows; `requests` the HTTP requests they made. */
export async function codeFlowWorkload(port, srv) {
  try {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    await codeFlow(agent, port, srv).finally(() => agent.destroy())
  } catch (err) {
    return { problem: `code flow: ${err.message}` }
  }
  return {
    run: async (seconds, record) => {
      const r = await runFlows(port, srv, { workers: FLOW_WORKERS, seconds, latencies: record ? latencyBuffer : undefined })
      const sorted = record ? latencyBuffer.subarray(0, Math.min(r.flows, LATENCY_CAPACITY)).sort() : null
      return {
        responses: r.flows,
        requests: r.requests,
        non2xx: 0,
        errors: r.errors,
        firstError: r.firstError,
        timeouts: 0,
        elapsed: r.elapsed,
        p50: sorted ? percentile(sorted, 50) : NaN,
        p99: sorted ? percentile(sorted, 99) : NaN,
      }
    },
  }
}
