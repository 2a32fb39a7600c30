// grantkit token-endpoint benchmark. Run with `npm run bench` (builds dist/ first).
// See bench/README.md for what is measured. Settings come from the environment:
//   BENCH_REPS (3)  BENCH_DURATION seconds per HTTP run (5)  BENCH_WARMUP seconds (1)
//   BENCH_CORE_SECONDS in-process seconds (3)  BENCH_CONNECTIONS (20)
//   BENCH_QUIET_BUDGET seconds that may go to waiting for a quiet machine (30)
//   GRANTKIT_DIST  directory of a build to measure instead of ../dist
import autocannon from 'autocannon'
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { relative } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import {
  AUTHORIZATION,
  DIST_DIR,
  FORM_BODY,
  FORM_CONTENT_TYPE,
  TOKEN_PATH,
  WRONG_AUTHORIZATION,
  checkTokenResponse,
  missingDistFiles,
  percentile,
} from './common.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SERVER_SCRIPT = fileURLToPath(new URL('./server.mjs', import.meta.url))
const IN_PROCESS_SCRIPT = fileURLToPath(new URL('./in-process.mjs', import.meta.url))
const RESULTS_FILE = fileURLToPath(new URL('./RESULTS.md', import.meta.url))

function setting(name, fallback, min) {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isFinite(n) || n < min) {
    console.error(`${name}=${raw}: must be a number >= ${min}`)
    process.exit(2)
  }
  return n
}

const REPS = Math.floor(setting('BENCH_REPS', 3, 1))
const DURATION = setting('BENCH_DURATION', 5, 1)
const WARMUP = setting('BENCH_WARMUP', 1, 0)
const CORE_SECONDS = setting('BENCH_CORE_SECONDS', 3, 0.5)
const CONNECTIONS = Math.floor(setting('BENCH_CONNECTIONS', 20, 1))
const PIPELINING = 1
/** % of one core used by other processes during a run above which the run is flagged. */
const OTHER_LOAD_LIMIT = 10
/** Seconds, over the whole run, that may go to waiting for a quiet machine and repeating disturbed runs. */
const QUIET_BUDGET = setting('BENCH_QUIET_BUDGET', 30, 0)
const SERVER_CPU = '0'
const LOADGEN_CPU = '1'
// Nothing here may run unbounded: every child has a deadline, and so does the whole run.
const HARD_LIMIT_MS = (REPS * (2 * (WARMUP + CORE_SECONDS) + 4 * (WARMUP + DURATION + 2)) + QUIET_BUDGET + 60) * 1000

/** A, B, C, … each repetition, in this order. Targets are ratios to the raw ceiling. */
const TARGETS = [
  { id: 'core-jwt', label: 'core in-process, JWT', kind: 'core', format: 'jwt' },
  { id: 'core-opaque', label: 'core in-process, opaque', kind: 'core', format: 'opaque' },
  { id: 'http-jwt', label: 'HTTP node adapter, JWT', kind: 'http', mode: 'jwt', target: 0.25 },
  { id: 'http-opaque', label: 'HTTP node adapter, opaque', kind: 'http', mode: 'opaque', target: 0.3 },
  { id: 'http-raw', label: 'HTTP raw node:http (ceiling)', kind: 'http', mode: 'raw' },
  // Not a target: how much of the ceiling a JWT endpoint can keep once it signs with ES256 at all.
  { id: 'http-raw-es256', label: 'HTTP raw node:http + ES256 sign', kind: 'http', mode: 'raw-es256' },
]

const children = new Set()
const warnings = []
function warn(message) {
  warnings.push(message)
  console.error(`warning: ${message}`)
}

const watchdog = setTimeout(() => {
  console.error(`bench: hard time limit of ${Math.round(HARD_LIMIT_MS / 1000)} s reached; stopping`)
  for (const child of children) child.kill('SIGKILL')
  process.exit(1)
}, HARD_LIMIT_MS)
watchdog.unref()

// ---------------------------------------------------------------------------
// Other load on the machine. The benchmark owns the server core and the load
// generator core only if nothing else runs: /proc/stat says how much CPU was
// busy during a run, and whatever our own processes did not use was someone else's.

let CLK_TCK = 100
try {
  CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
} catch {
  // the usual value
}

/** Busy and stolen CPU time so far, in ms, summed over all CPUs; null where /proc/stat does not exist. */
function readCpuStat() {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith('cpu '))
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number)
    const ms = 1000 / CLK_TCK
    return { busy: (user + nice + system + irq + softirq) * ms, steal: (steal ?? 0) * ms, at: performance.now() }
  } catch {
    return null
  }
}

/**
 * CPU we did not get between two readings, as % of one core: what other processes
 * used plus what the hypervisor stole (a busy host slows a guest as much as a busy guest).
 */
function otherLoad(before, after, oursMs) {
  if (before === null || after === null) return { other: NaN, steal: NaN }
  const wall = after.at - before.at
  const steal = ((after.steal - before.steal) / wall) * 100
  return { other: (Math.max(0, after.busy - before.busy - oursMs) / wall) * 100 + steal, steal }
}

/**
 * Waits, in 250 ms steps and at most `budgetMs`, until other processes use less
 * than OTHER_LOAD_LIMIT % of a core. Returns the time spent.
 */
async function waitForQuiet(budgetMs) {
  const started = performance.now()
  let announced = false
  while (performance.now() - started < budgetMs) {
    const a = readCpuStat()
    const ours0 = process.cpuUsage()
    await new Promise((resolve) => setTimeout(resolve, 250))
    const ours = process.cpuUsage(ours0)
    const load = otherLoad(a, readCpuStat(), (ours.user + ours.system) / 1000)
    if (!(load.other > OTHER_LOAD_LIMIT)) break
    if (!announced) console.error(`  waiting for a quiet machine (${fmt(load.other)}% of a core busy or stolen)`)
    announced = true
  }
  return performance.now() - started
}

// ---------------------------------------------------------------------------
// Machine, pinning

function machineInfo() {
  let cpuModel = 'unknown'
  try {
    const lines = readFileSync('/proc/cpuinfo', 'utf8').split('\n')
    // x86 says "model name"; other architectures use one of the others ("processor" alone is a number).
    for (const field of [/^model name\s*:/, /^cpu model\s*:/, /^Hardware\s*:/, /^Processor\s*:/]) {
      const line = lines.find((l) => field.test(l))
      if (line !== undefined) {
        cpuModel = line.slice(line.indexOf(':') + 1).trim()
        break
      }
    }
  } catch {
    // not Linux
  }
  let nproc = String(os.availableParallelism())
  try {
    nproc = execFileSync('nproc', { encoding: 'utf8' }).trim()
  } catch {
    // keep Node's count
  }
  let commit = 'unknown'
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' }).trim()
    if (dirty !== '') commit += ' (with uncommitted changes)'
  } catch {
    // not a git checkout
  }
  return { cpuModel, nproc, node: process.version, kernel: `${os.type()} ${os.release()} ${os.arch()}`, commit }
}

function setUpPinning(nproc) {
  if (process.platform !== 'linux') {
    warn('not Linux: servers and load generator are not pinned to separate cores')
    return false
  }
  if (spawnSync('taskset', ['-c', SERVER_CPU, 'true']).status !== 0) {
    warn('taskset is missing or cannot pin to CPU 0 (install util-linux): servers and load generator share cores')
    return false
  }
  if (Number(nproc) < 2 || spawnSync('taskset', ['-c', LOADGEN_CPU, 'true']).status !== 0) {
    warn('fewer than 2 usable CPUs: servers and load generator share a core, HTTP numbers are pessimistic')
    return false
  }
  // This process is the load generator (autocannon runs in it): every thread of it goes to CPU 1.
  const self = spawnSync('taskset', ['-a', '-p', '-c', LOADGEN_CPU, String(process.pid)])
  if (self.status !== 0) {
    warn(`could not pin the load generator to CPU ${LOADGEN_CPU}: ${String(self.stderr).trim()}`)
    return false
  }
  return true
}

// ---------------------------------------------------------------------------
// Children

function spawnPinned(pinned, script, args, ipc) {
  const argv = [script, ...args]
  const child = pinned
    ? spawn('taskset', ['-c', SERVER_CPU, process.execPath, ...argv], { stdio: ['ignore', 'pipe', 'inherit', ...(ipc ? ['ipc'] : [])] })
    : spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit', ...(ipc ? ['ipc'] : [])] })
  children.add(child)
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  child.exited.then(() => children.delete(child))
  return child
}

async function stopChild(child) {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
  await child.exited
  clearTimeout(timer)
}

function nextMessage(child, type, timeoutMs, id) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup()
      reject(new Error(`no "${type}" message from the server within ${timeoutMs} ms`))
    }, timeoutMs)
    const onMessage = (m) => {
      if (m?.type !== type || (id !== undefined && m.id !== id)) return
      cleanup()
      resolve(m)
    }
    const onExit = (code) => {
      cleanup()
      reject(new Error(`server exited (code ${code}) before sending "${type}"`))
    }
    const cleanup = () => {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
    }
    child.on('message', onMessage)
    child.once('exit', onExit)
  })
}

let cpuRequestId = 0
async function serverCpu(child) {
  const id = ++cpuRequestId
  child.send({ type: 'cpu', id })
  const m = await nextMessage(child, 'cpu', 5000, id)
  return { micros: m.usage.user + m.usage.system, rss: m.rss, at: performance.now() }
}

// ---------------------------------------------------------------------------
// Measurements

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
    return invalid(`in-process child exited (code ${code}, signal ${signal}) without a result`)
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
    p50: r.p50,
    p99: r.p99,
    count: r.ops,
    serverCpu: r.serverCpu,
    genCpu: NaN,
    rssMiB: r.rssMiB,
  }
}

function invalid(reason) {
  return { valid: false, problems: [reason], perSecond: NaN, p50: NaN, p99: NaN, count: 0, serverCpu: NaN, genCpu: NaN, rssMiB: NaN, other: NaN, steal: NaN }
}

async function preflight(base, mode) {
  const post = (authorization) =>
    fetch(base + TOKEN_PATH, {
      method: 'POST',
      headers: { 'content-type': FORM_CONTENT_TYPE, authorization },
      body: FORM_BODY,
    })
  const ok = await post(AUTHORIZATION)
  const problem = checkTokenResponse(mode === 'raw-es256' ? 'jwt' : mode, ok.status, await ok.text())
  if (problem !== null) return problem
  if (!mode.startsWith('raw')) {
    // A server that answers 200 to anyone is not doing the work being measured.
    const denied = await post(WRONG_AUTHORIZATION)
    await denied.arrayBuffer()
    if (denied.status !== 401) return `a wrong client secret got ${denied.status}, not 401`
  }
  return null
}

const LATENCY_CAPACITY = 4_000_000
const latencyBuffer = new Float64Array(LATENCY_CAPACITY)

/** One autocannon run. Latencies (ms, fractional) come from the per-response event, not autocannon's 1 ms histogram. */
function cannon(base, seconds, record) {
  return new Promise((resolve, reject) => {
    let responses = 0
    let non2xx = 0
    const started = performance.now()
    const instance = autocannon(
      {
        url: base + TOKEN_PATH,
        method: 'POST',
        headers: { 'content-type': FORM_CONTENT_TYPE, authorization: AUTHORIZATION },
        body: FORM_BODY,
        connections: CONNECTIONS,
        pipelining: PIPELINING,
        duration: seconds,
        timeout: 10,
      },
      (err, result) => {
        if (err) return reject(err)
        const elapsed = (performance.now() - started) / 1000
        const n = Math.min(responses, LATENCY_CAPACITY)
        const sorted = record ? latencyBuffer.subarray(0, n).sort() : null
        resolve({
          responses,
          // Counted by our listener and by autocannon; they should agree, take the larger.
          non2xx: Math.max(non2xx, result.non2xx),
          errors: result.errors,
          timeouts: result.timeouts,
          mismatches: result.mismatches,
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

async function measureHttp(t, pinned) {
  const child = spawnPinned(pinned, SERVER_SCRIPT, [t.mode], true)
  try {
    const { port } = await nextMessage(child, 'ready', 15_000)
    const base = `http://127.0.0.1:${port}`
    const problem = await preflight(base, t.mode)
    if (problem !== null) return invalid(`preflight: ${problem}`)
    const warm = WARMUP > 0 ? await cannon(base, WARMUP, false) : { non2xx: 0, errors: 0, timeouts: 0 }

    const srv0 = await serverCpu(child)
    const stat0 = readCpuStat()
    const gen0 = process.cpuUsage()
    const run = await cannon(base, DURATION, true)
    const gen = process.cpuUsage(gen0)
    const stat1 = readCpuStat()
    const srv1 = await serverCpu(child)
    const load = otherLoad(stat0, stat1, (srv1.micros - srv0.micros + gen.user + gen.system) / 1000)

    const wallMs = srv1.at - srv0.at
    const problems = []
    const non2xx = run.non2xx + warm.non2xx
    const errors = run.errors + warm.errors
    const timeouts = run.timeouts + warm.timeouts
    if (non2xx > 0) problems.push(`${non2xx} non-2xx responses`)
    if (errors > 0) problems.push(`${errors} connection errors`)
    if (timeouts > 0) problems.push(`${timeouts} timeouts`)
    if (run.responses === 0) problems.push('no responses')
    return {
      ...load,
      valid: problems.length === 0,
      problems,
      perSecond: run.responses / run.elapsed,
      p50: run.p50,
      p99: run.p99,
      count: run.responses,
      serverCpu: ((srv1.micros - srv0.micros) / 1000 / wallMs) * 100,
      genCpu: ((gen.user + gen.system) / 1000 / (run.elapsed * 1000)) * 100,
      rssMiB: srv1.rss / 2 ** 20,
    }
  } catch (err) {
    return invalid(err instanceof Error ? err.message : String(err))
  } finally {
    await stopChild(child)
  }
}

// ---------------------------------------------------------------------------
// Report

function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (v.length === 0) return NaN
  const mid = v.length >> 1
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2
}

function fmt(n, digits = 0) {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a'
}

function pct(n) {
  return Number.isFinite(n) ? `${n.toFixed(0)}%` : 'n/a'
}

function latencyDigits(ms) {
  return ms < 1 ? 3 : 2
}

function rangeText(s) {
  return Number.isFinite(s.min) ? `${fmt(s.min)}–${fmt(s.max)}` : 'n/a'
}

function summarize(samples) {
  const ceilingRuns = samples.get('http-raw')
  const ceilingValid = ceilingRuns.every((r) => r.valid)
  const ceiling = median(ceilingRuns.map((r) => r.perSecond))
  return TARGETS.map((t) => {
    const runs = samples.get(t.id)
    const valid = runs.every((r) => r.valid)
    const perSecond = median(runs.map((r) => r.perSecond))
    const ratio = ceilingValid ? perSecond / ceiling : NaN
    let verdict = ''
    if (t.target !== undefined) verdict = !valid || !ceilingValid ? 'INVALID' : ratio >= t.target ? 'PASS' : 'MISS'
    else if (!valid) verdict = 'INVALID'
    const rates = runs.map((r) => r.perSecond).filter(Number.isFinite)
    return {
      t,
      valid,
      perSecond,
      p50: median(runs.map((r) => r.p50)),
      p99: median(runs.map((r) => r.p99)),
      ratio,
      verdict,
      min: Math.min(...rates),
      max: Math.max(...rates),
      serverCpu: median(runs.map((r) => r.serverCpu)),
      genCpu: median(runs.map((r) => r.genCpu)),
      other: runs.some((r) => Number.isFinite(r.other)) ? Math.max(...runs.map((r) => r.other).filter(Number.isFinite)) : NaN,
      problems: [...new Set(runs.flatMap((r) => r.problems))],
    }
  })
}

const HEAD = ['measurement', 'req/s (median)', 'min–max', 'p50 ms', 'p99 ms', 'ratio to ceiling', 'target', 'result', 'server CPU', 'loadgen CPU', 'other load (max)']

function rowCells(s) {
  return [
    s.t.label,
    fmt(s.perSecond),
    rangeText(s),
    fmt(s.p50, latencyDigits(s.p50)),
    fmt(s.p99, latencyDigits(s.p99)),
    fmt(s.ratio, 2),
    s.t.target !== undefined ? `≥ ${s.t.target.toFixed(2)}` : '',
    s.verdict,
    pct(s.serverCpu),
    s.t.kind === 'http' ? pct(s.genCpu) : '',
    pct(s.other),
  ]
}

function textTable(summary) {
  const rows = [HEAD, ...summary.map(rowCells)]
  const widths = HEAD.map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n')
}

function markdownTable(summary) {
  const rows = summary.map(rowCells)
  return [`| ${HEAD.join(' | ')} |`, `|${HEAD.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n')
}

function perRunTable(samples) {
  const head = ['measurement', ...Array.from({ length: REPS }, (_, i) => `rep ${i + 1} req/s`)]
  const rows = TARGETS.map((t) => [t.label, ...samples.get(t.id).map((r) => `${fmt(r.perSecond)}${r.valid ? '' : ' (invalid)'}${r.other > OTHER_LOAD_LIMIT ? ` (other load ${fmt(r.other)}%)` : ''}`)])
  return [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n')
}

function commandLine() {
  const overrides = ['BENCH_REPS', 'BENCH_DURATION', 'BENCH_WARMUP', 'BENCH_CORE_SECONDS', 'BENCH_CONNECTIONS', 'BENCH_QUIET_BUDGET', 'GRANTKIT_DIST']
    .filter((k) => process.env[k] !== undefined && process.env[k] !== '')
    .map((k) => `${k}=${process.env[k]}`)
  const base = process.env.npm_lifecycle_event === 'bench' ? 'npm run bench' : 'node bench/run.mjs'
  return [...overrides, base].join(' ')
}

// ---------------------------------------------------------------------------
// Main

const missing = missingDistFiles()
if (missing.length > 0) {
  console.error(`bench: the built package is missing (${missing.map((f) => relative(ROOT, f)).join(', ')}). Run \`npm run bench\`, which builds it first.`)
  process.exit(2)
}

const machine = machineInfo()
const pinned = setUpPinning(machine.nproc)
const startedAt = new Date()
const estimate = Math.round(REPS * (2 * (WARMUP + CORE_SECONDS + 0.3) + 4 * (WARMUP + DURATION + 0.5)))
console.error(
  `grantkit bench: ${REPS} repetitions × ${TARGETS.length} measurements, interleaved; HTTP ${DURATION} s per run, ` +
    `${CONNECTIONS} connections, pipelining ${PIPELINING}; about ${estimate} s. ` +
    (pinned ? `Servers on CPU ${SERVER_CPU}, load generator on CPU ${LOADGEN_CPU}.` : 'Not pinned.'),
)
if (REPS < 3) warn(`BENCH_REPS=${REPS}: fewer than 3 repetitions, medians are not meaningful`)

const samples = new Map(TARGETS.map((t) => [t.id, []]))
// Time this run may spend waiting for a quiet machine and repeating disturbed runs, in ms.
let patience = QUIET_BUDGET * 1000
let retried = 0
const measure = (t) => (t.kind === 'core' ? measureCore(t, pinned) : measureHttp(t, pinned))
for (let rep = 1; rep <= REPS; rep++) {
  for (const t of TARGETS) {
    patience -= await waitForQuiet(patience)
    let r = await measure(t)
    // Someone else's build landed on our cores: measure again once, if the budget allows.
    const cost = (t.kind === 'core' ? WARMUP + CORE_SECONDS : WARMUP + DURATION + 0.5) * 1000
    if (r.valid && r.other > OTHER_LOAD_LIMIT && patience >= cost) {
      console.error(`  [${rep}/${REPS}] ${t.id.padEnd(11)} disturbed (other load ${fmt(r.other)}%), measuring again`)
      patience -= cost
      patience -= await waitForQuiet(patience)
      r = await measure(t)
      retried++
    }
    samples.get(t.id).push(r)
    const note = r.valid ? '' : `  INVALID: ${r.problems.join('; ')}`
    console.error(
      `  [${rep}/${REPS}] ${t.id.padEnd(11)} ${fmt(r.perSecond).padStart(7)} /s  p50 ${fmt(r.p50, latencyDigits(r.p50))} ms  ` +
        `p99 ${fmt(r.p99, latencyDigits(r.p99))} ms  server CPU ${pct(r.serverCpu)}  other load ${pct(r.other)}${note}`,
    )
  }
}

const summary = summarize(samples)
const ceiling = summary.find((s) => s.t.id === 'http-raw')
const anyInvalid = summary.some((s) => !s.valid)
if (pinned && ceiling.valid && ceiling.serverCpu < 90) {
  warn(`the raw ceiling used only ${fmt(ceiling.serverCpu)}% of its core: the load generator may be the limit, so ratios are optimistic`)
}

const allRuns = [...samples.values()].flat()
const busyRuns = allRuns.filter((r) => r.other > OTHER_LOAD_LIMIT)
if (busyRuns.length > 0) {
  warn(
    `${busyRuns.length} of ${allRuns.length} runs shared the CPUs with other processes or a busy host (up to ${fmt(Math.max(...busyRuns.map((r) => r.other)))}% of a core; ` +
      `limit ${OTHER_LOAD_LIMIT}%): those numbers are low and noisy. Rerun on a quiet machine`,
  )
}

const table = textTable(summary)
console.log('')
console.log(table)
console.log('')
for (const s of summary) {
  if (s.t.target !== undefined) console.log(`${s.verdict.padEnd(7)} ${s.t.label}: ${fmt(s.ratio, 3)} of the ceiling (target ≥ ${s.t.target.toFixed(2)})`)
}
const jwtFloor = summary.find((s) => s.t.id === 'http-raw-es256')
const jwtHttp = summary.find((s) => s.t.id === 'http-jwt')
const floorLine = `HTTP JWT reaches ${fmt(jwtHttp.perSecond / jwtFloor.perSecond, 2)} of raw node:http + ES256 sign, which itself reaches ${fmt(jwtFloor.ratio, 2)} of the ceiling`
console.log(floorLine)
for (const s of summary) {
  if (!s.valid) console.log(`INVALID ${s.t.label}: ${s.problems.join('; ')}`)
}

const settings = `${REPS} repetitions, interleaved; in-process ${CORE_SECONDS} s per run; HTTP ${DURATION} s per run, ${CONNECTIONS} connections, pipelining ${PIPELINING}; ${WARMUP} s warm-up before each run, a fresh server process per run`
const md = `# grantkit benchmark results

Written by \`bench/run.mjs\`; see [README.md](README.md) for what is measured. Regenerate with the command below.

- Command: \`${commandLine()}\`
- Date: ${startedAt.toISOString()}
- Node: ${machine.node}
- Machine: ${machine.nproc} CPUs (nproc), ${machine.cpuModel}; ${machine.kernel}
- Pinning: ${pinned ? `servers under test on CPU ${SERVER_CPU} (\`taskset -c ${SERVER_CPU}\`), load generator on CPU ${LOADGEN_CPU}` : 'none (see warnings)'}
- Build measured: \`${relative(ROOT, DIST_DIR) || '.'}\` at commit ${machine.commit}
- Settings: ${settings}

Medians over the repetitions. Latencies are per request: in-process from the call of \`server.handle\`
to its result; HTTP as the load generator sees them. "Ratio to ceiling" is req/s divided by the raw
node:http endpoint's req/s. Targets are informational. "Server CPU" is the CPU time of the process under
test over wall time (100% = its core saturated); "loadgen CPU" that of autocannon; "other load" the CPU
that other processes used or the hypervisor stole during the run (from /proc/stat), highest over the repetitions.
Runs disturbed by other load: ${retried} measured again.

${floorLine}.

${markdownTable(summary)}

${anyInvalid ? `**INVALID:** ${summary.filter((s) => !s.valid).map((s) => `${s.t.label} (${s.problems.join('; ')})`).join('; ')}\n\n` : ''}${warnings.length > 0 ? `Warnings:\n\n${warnings.map((w) => `- ${w}`).join('\n')}\n\n` : ''}Every run:

${perRunTable(samples)}
`
writeFileSync(RESULTS_FILE, md)
console.log(`\nwritten to ${relative(ROOT, RESULTS_FILE)}`)
process.exit(anyInvalid ? 1 : 0)
