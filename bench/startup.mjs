// Memory and start-up of a server process: from spawn to its first good answer, its RSS then, and
// its peak RSS at the end of a run.
import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { AUTHORIZATION } from './common.mjs'
import { post } from './load.mjs'
import { ccRequest } from './workloads/client-credentials.mjs'

/**
 * A memory figure of a process from /proc/<pid>/status in MiB (VmHWM: peak resident set size so far;
 * VmRSS: now); NaN where /proc is missing. `taskset` execs node, so the pid is node's.
 */
function procStatusMiB(pid, field) {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m === null ? NaN : Number(m[1]) / 1024
  } catch {
    return NaN
  }
}

/** Peak RSS so far (VmHWM) of a process, in MiB. */
export const peakRssMiB = (pid) => procStatusMiB(pid, 'VmHWM')

/**
 * Start-up: from spawn to the first successful answer (a client_credentials token in the server's first
 * token format), and the RSS right after it. `problem` is set when that first answer is wrong.
 */
export async function probeStartup(child, port, srv, spawnedAt) {
  const probe = ccRequest(srv, Object.keys(srv.cc)[0])
  const first = await post(port, srv.tokenPath, AUTHORIZATION, probe.body)
  const startupMs = performance.now() - spawnedAt
  const startRssMiB = procStatusMiB(child.pid, 'VmRSS')
  return { startupMs, startRssMiB, problem: probe.check(first.status, first.body) }
}
