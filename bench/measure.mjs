// One measurement: one row, once. A fresh server process (or in-process child) per measurement, a
// preflight that checks its answers in full, a warm-up, then the measured run with CPU accounting.
// Every failure becomes an invalid result with its reason, never an exception.
import { performance } from 'node:perf_hooks'
import { nextMessage, serverCpu, spawnPinned, stderrNote, stopChild } from './children.mjs'
import { otherLoad, readCpuStat } from './machine.mjs'
import { IN_PROCESS_SCRIPT, SERVERS } from './rows.mjs'
import { CORE_SECONDS, DURATION, PROFILE, PROFILE_DIR, WARMUP } from './settings.mjs'
import { peakRssMiB, probeStartup } from './startup.mjs'
import { dbCpuMs } from './storage.mjs'
import { clientCredentials } from './workloads/client-credentials.mjs'
import { codeFlowWorkload } from './workloads/code-flow.mjs'
import { introspection } from './workloads/introspection.mjs'
import { loginFlood } from './workloads/logins.mjs'
import { refresh } from './workloads/refresh.mjs'

/**
 * The workloads by a row's `work`: each checks the server's answers in full before any load (a problem
 * string stops the row), then returns the load to run for the warm-up and for the measurement.
 */
const WORK = { cc: clientCredentials, introspect: introspection, refresh, flow: codeFlowWorkload, flood: loginFlood }

/** A result that counts as a failed measurement, for `reason`. */
export function invalid(reason) {
  return {
    valid: false,
    problems: [reason],
    perSecond: NaN,
    requestsPerSecond: NaN,
    p50: NaN,
    p99: NaN,
    count: 0,
    serverCpu: NaN,
    genCpu: NaN,
    rssMiB: NaN,
    peakRssMiB: NaN,
    startRssMiB: NaN,
    startupMs: NaN,
    other: NaN,
    steal: NaN,
  }
}

/** Measures one row, once (`rep` names its CPU profile). */
export function measure(t, pinned, rep) {
  return t.kind === 'core' ? measureCore(t, pinned) : measureHttp(t, pinned, rep)
}

async function measureCore(t, pinned) {
  const stat0 = readCpuStat()
  const gen0 = process.cpuUsage()
  const child = spawnPinned(pinned, IN_PROCESS_SCRIPT, [t.format, String(WARMUP), String(CORE_SECONDS)], false)
  let out = ''
  child.stdout.on('data', (c) => (out += c))
  const timer = setTimeout(() => child.kill('SIGKILL'), (WARMUP + CORE_SECONDS + 30) * 1000)
  const { code, signal } = await child.exited
  const stat1 = readCpuStat()
  const gen = process.cpuUsage(gen0)
  clearTimeout(timer)
  const line = out.trim().split('\n').pop() ?? ''
  let r
  try {
    r = JSON.parse(line)
  } catch {
    return invalid(`in-process child exited (code ${code}, signal ${signal}) without a result${stderrNote(child)}`)
  }
  if (r.fatal !== undefined) return invalid(r.fatal)
  const problems = []
  if (r.non2xx > 0) problems.push(`${r.non2xx} non-200 responses`)
  if (r.errors > 0) problems.push(`${r.errors} thrown errors`)
  // The child's whole life (start-up, warm-up, run) against the same window of /proc/stat.
  const load = otherLoad(stat0, stat1, r.totalCpuMs + (gen.user + gen.system) / 1000)
  return {
    ...load,
    valid: problems.length === 0,
    problems,
    perSecond: r.perSecond,
    requestsPerSecond: r.perSecond,
    p50: r.p50,
    p99: r.p99,
    count: r.ops,
    serverCpu: r.serverCpu,
    genCpu: NaN,
    rssMiB: r.rssMiB,
    peakRssMiB: NaN,
    startRssMiB: NaN,
    startupMs: NaN,
  }
}

async function measureHttp(t, pinned, rep) {
  const srv = SERVERS[t.server]
  const profile = PROFILE.includes(t.id) || PROFILE.includes(t.workload) || PROFILE.includes(t.server)
  const flags = profile ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=${t.id}-rep${rep}.cpuprofile`] : []
  const spawnedAt = performance.now()
  const child = spawnPinned(pinned, srv.script, srv.args, true, flags)
  try {
    const { port } = await nextMessage(child, 'ready', 20_000)
    const { startupMs, startRssMiB, problem: probeProblem } = await probeStartup(child, port, srv, spawnedAt)
    if (probeProblem !== null) return invalid(`first request: ${probeProblem}${stderrNote(child)}`)

    const plan = await WORK[t.work](port, srv, t)
    if (plan.problem !== undefined) return invalid(`preflight: ${plan.problem}${stderrNote(child)}`)
    const none = { non2xx: 0, errors: 0, timeouts: 0 }
    let warm = none
    if (WARMUP > 0) {
      await plan.before?.()
      warm = await plan.run(WARMUP, false)
    }
    await plan.before?.()

    const srv0 = await serverCpu(child)
    const db0 = srv.storage !== undefined ? dbCpuMs(srv.storage) : NaN
    const stat0 = readCpuStat()
    const gen0 = process.cpuUsage()
    const run = await plan.run(DURATION, true)
    const gen = process.cpuUsage(gen0)
    const stat1 = readCpuStat()
    const db1 = srv.storage !== undefined ? dbCpuMs(srv.storage) : NaN
    const srv1 = await serverCpu(child)
    // The database server's CPU is part of the work measured, not someone else's load.
    const dbMs = db1 - db0
    const load = otherLoad(stat0, stat1, (srv1.micros - srv0.micros + gen.user + gen.system) / 1000 + (Number.isFinite(dbMs) ? dbMs : 0))
    const peak = peakRssMiB(child.pid)

    const wallMs = srv1.at - srv0.at
    const problems = []
    const non2xx = run.non2xx + warm.non2xx
    const errors = run.errors + warm.errors
    const timeouts = run.timeouts + warm.timeouts
    const firstError = warm.firstError ?? run.firstError
    if (non2xx > 0) problems.push(`${non2xx} non-2xx responses${firstError !== undefined ? ` (first: ${firstError})` : ''}`)
    if (errors > 0) problems.push(`${errors} ${t.work === 'flow' ? 'failed flows' : 'connection or parse errors'}${firstError !== undefined ? ` (first: ${firstError})` : ''}`)
    if (timeouts > 0) problems.push(`${timeouts} timeouts`)
    if (run.responses === 0) problems.push('no responses')
    if (problems.length > 0 && child.stderrTail.trim() !== '') problems.push(stderrNote(child).trim())
    return {
      ...load,
      valid: problems.length === 0,
      problems,
      perSecond: run.responses / run.elapsed,
      requestsPerSecond: run.requests / run.elapsed,
      p50: run.p50,
      p99: run.p99,
      count: run.responses,
      serverCpu: ((srv1.micros - srv0.micros) / 1000 / wallMs) * 100,
      genCpu: ((gen.user + gen.system) / 1000 / (run.elapsed * 1000)) * 100,
      dbCpu: stat0 !== null && stat1 !== null ? (dbMs / (stat1.at - stat0.at)) * 100 : NaN,
      rssMiB: srv1.rss / 2 ** 20,
      peakRssMiB: peak,
      startRssMiB,
      startupMs,
      // What a workload reports besides the rate (the login flood's answers).
      ...(run.extra !== undefined && { extra: run.extra }),
    }
  } catch (err) {
    return invalid(`${err instanceof Error ? err.message : String(err)}${stderrNote(child)}`)
  } finally {
    await stopChild(child)
  }
}
