// grantkit benchmark: token endpoint in process and over HTTP against a raw node:http ceiling, and
// side by side with node-oidc-provider and @node-oauth/oauth2-server. Run with `npm run bench`
// (builds dist/ first). See bench/README.md for what is measured and for the settings (environment
// variables, read in settings.mjs). This file runs the rows in order and reports; each step has its module:
//   settings.mjs  the environment          rows.mjs     the servers, workloads and rows, and selecting them
//   machine.mjs   pinning, other load      children.mjs server processes (start, IPC, stop)
//   storage.mjs   PostgreSQL/Redis rows    load.mjs     autocannon and single requests
//   workloads/    one file per workload    startup.mjs  start-up time and memory of a server
//   measure.mjs   one row, once            summary.mjs  medians and ratios over the repetitions
//   tables.mjs    the tables               results.mjs  RESULTS.md
import { relative } from 'node:path'
import { performance } from 'node:perf_hooks'
import { killChildren } from './children.mjs'
import { missingDistFiles } from './common.mjs'
import { fmt, latencyDigits, pct } from './format.mjs'
import { HAND_ROLLED_HEAD, handRolledRows } from './hand-rolled.mjs'
import { machineInfo, setUpPinning, waitForQuiet } from './machine.mjs'
import { measure } from './measure.mjs'
import { writeResults } from './results.mjs'
import { ALL_ROWS, SMOKE_ROWS, WORKLOADS, selectRows } from './rows.mjs'
import {
  CONNECTIONS,
  CORE_SECONDS,
  DURATION,
  FLOW_WORKERS,
  LOADGEN_CPU,
  ONLY,
  OTHER_LOAD_LIMIT,
  PIPELINING,
  PROFILE,
  PROFILE_DIR,
  QUIET_BUDGET,
  REPS,
  ROOT,
  SERVER_CPU,
  SMOKE,
  STORAGE_ON,
  WARMUP,
} from './settings.mjs'
import { cleanUpStorage, setUpStorage } from './storage.mjs'
import { summarize } from './summary.mjs'
import { LOGIN_HEAD, loginRows } from './logins.mjs'
import { HEAD, PEER_HEAD, SERVER_HEAD, STORAGE_HEAD, peerNotes, peerRows, peerVerdicts, rowCells, serverRows, storageRows, textTable } from './tables.mjs'
import { warn } from './warnings.mjs'

const missing = missingDistFiles()
if (missing.length > 0) {
  console.error(`bench: the built package is missing (${missing.map((f) => relative(ROOT, f)).join(', ')}). Run \`npm run bench\`, which builds it first.`)
  process.exit(2)
}

// BENCH_ONLY=overload: the overload and frozen-database scenarios (issue 16), which start their own
// `grantkit serve` processes and print their own tables (workloads/overload.mjs).
if (ONLY.length === 1 && ONLY[0] === 'overload') {
  await import('./workloads/overload.mjs')
  process.exit(0)
}

// BENCH_ONLY wins over the smoke run's own few rows.
const selection = ONLY.length > 0 ? ONLY : SMOKE ? SMOKE_ROWS : []
const { rows: selectedRows, storage: storageWanted } = selectRows(selection)
if (selectedRows.length === 1 && selection.length > 0) {
  console.error(`BENCH_ONLY=${ONLY.join(',')} matches no row; rows: ${ALL_ROWS.map((r) => r.id).join(', ')}; workloads: ${WORKLOADS.map((w) => w.id).join(', ')}`)
  process.exit(2)
}
const storageUp = STORAGE_ON ? await setUpStorage(storageWanted) : { postgres: false, redis: false }
if (!STORAGE_ON) warn('BENCH_STORAGE=0: the PostgreSQL and Redis storage rows were skipped')
if (SMOKE) warn(`BENCH_SMOKE: a check that the benchmark runs end to end (${selectedRows.length} rows, ${DURATION} s runs); its numbers mean nothing`)
const TARGETS = selectedRows.filter((r) => r.storage === undefined || storageUp[r.storage])

// Nothing here may run unbounded: every child has a deadline, and so does the whole run.
const HTTP_ROW_BUDGET = WARMUP + DURATION + 25
const HARD_LIMIT_MS =
  (REPS * TARGETS.reduce((sum, t) => sum + (t.kind === 'core' ? WARMUP + CORE_SECONDS + 10 : HTTP_ROW_BUDGET), 0) + QUIET_BUDGET + 60) * 1000

const watchdog = setTimeout(() => {
  console.error(`bench: hard time limit of ${Math.round(HARD_LIMIT_MS / 1000)} s reached; stopping`)
  killChildren()
  cleanUpStorage().finally(() => process.exit(1))
}, HARD_LIMIT_MS)
watchdog.unref()
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    console.error(`bench: ${signal}; stopping`)
    killChildren()
    cleanUpStorage().finally(() => process.exit(130))
  })
}

const machine = machineInfo()
const pinned = setUpPinning(machine.nproc)
const startedAt = new Date()
// Start-up, preflight and the refresh tokens' code flows cost about 2.5 s per HTTP row on a loaded machine.
const estimate = Math.round(REPS * TARGETS.reduce((sum, t) => sum + (t.kind === 'core' ? WARMUP + CORE_SECONDS + 0.5 : WARMUP + DURATION + 2.5), 0))
console.error(
  `grantkit bench: ${REPS} repetitions × ${TARGETS.length} measurements, interleaved; HTTP ${DURATION} s per run, ` +
    `${CONNECTIONS} connections, pipelining ${PIPELINING}, ${FLOW_WORKERS} code-flow browsers; about ${estimate} s. ` +
    (pinned ? `Servers on CPU ${SERVER_CPU}, load generator on CPU ${LOADGEN_CPU}.` : 'Not pinned.'),
)
if (REPS < 3) warn(`BENCH_REPS=${REPS}: fewer than 3 repetitions, medians are not meaningful`)
if (PROFILE.length > 0) warn(`BENCH_PROFILE=${PROFILE.join(',')}: those servers ran under --cpu-prof (slower); profiles in ${relative(ROOT, PROFILE_DIR)}`)

const samples = new Map(TARGETS.map((t) => [t.id, []]))
// Time this run may spend waiting for a quiet machine and repeating disturbed runs, in ms.
let patience = QUIET_BUDGET * 1000
let retried = 0
const idWidth = Math.max(...TARGETS.map((t) => t.id.length))
const benchStarted = performance.now()
for (let rep = 1; rep <= REPS; rep++) {
  for (const t of TARGETS) {
    patience -= await waitForQuiet(patience)
    let r = await measure(t, pinned, rep)
    // Someone else's build landed on our cores: measure again once, if the budget allows.
    const cost = (t.kind === 'core' ? WARMUP + CORE_SECONDS : WARMUP + DURATION + 2) * 1000
    if (r.valid && r.other > OTHER_LOAD_LIMIT && patience >= cost) {
      console.error(`  [${rep}/${REPS}] ${t.id.padEnd(idWidth)} disturbed (other load ${fmt(r.other)}%), measuring again`)
      patience -= cost
      patience -= await waitForQuiet(patience)
      r = await measure(t, pinned, rep)
      retried++
    }
    samples.get(t.id).push(r)
    const note = r.valid ? '' : `  INVALID: ${r.problems.join('; ')}`
    const unit = t.work === 'flow' ? 'flows/s' : '/s'
    console.error(
      `  [${rep}/${REPS}] ${t.id.padEnd(idWidth)} ${fmt(r.perSecond).padStart(7)} ${unit}  p50 ${fmt(r.p50, latencyDigits(r.p50))} ms  ` +
        `p99 ${fmt(r.p99, latencyDigits(r.p99))} ms  server CPU ${pct(r.serverCpu)}${Number.isFinite(r.dbCpu) ? `  ${t.storage} CPU ${pct(r.dbCpu)}` : ''}  loadgen ${pct(r.genCpu)}  other load ${pct(r.other)}` +
        `${Number.isFinite(r.peakRssMiB) ? `  peak RSS ${fmt(r.peakRssMiB)} MiB  start-up ${fmt(r.startupMs)} ms` : ''}${note}`,
    )
  }
}
const benchSeconds = (performance.now() - benchStarted) / 1000
await cleanUpStorage()

const summary = summarize(samples, TARGETS)
const ceiling = summary.find((s) => s.t.id === 'http-raw')
const anyInvalid = summary.some((s) => !s.valid)
if (pinned && ceiling.valid && ceiling.serverCpu < 90) {
  warn(`the raw ceiling used only ${fmt(ceiling.serverCpu)}% of its core: the load generator may be the limit, so ratios are optimistic`)
}
for (const s of summary) {
  // A server that does not fill its core is waiting for the load generator (or for scrypt's thread pool).
  if (pinned && s.t.kind === 'http' && s.t.id !== 'http-raw' && s.valid && s.serverCpu < 85) {
    warn(
      s.t.storage !== undefined
        ? `${s.t.label}: the server used only ${fmt(s.serverCpu)}% of its core (${s.t.storage} server ${pct(s.dbCpu)}, loadgen ${pct(s.genCpu)}): it waits for the database, which is not pinned`
        : `${s.t.label}: the server used only ${fmt(s.serverCpu)}% of its core (loadgen ${pct(s.genCpu)}): its rate may be limited by the load generator`,
    )
  }
}

const allRuns = [...samples.values()].flat()
const busyRuns = allRuns.filter((r) => r.other > OTHER_LOAD_LIMIT)
if (busyRuns.length > 0) {
  warn(
    `${busyRuns.length} of ${allRuns.length} runs shared the CPUs with other processes or a busy host (up to ${fmt(Math.max(...busyRuns.map((r) => r.other)))}% of a core; ` +
      `limit ${OTHER_LOAD_LIMIT}%): those numbers are low and noisy. Rerun on a quiet machine`,
  )
}

const coreSummary = summary.filter((s) => s.t.table === 'core')
const coreRows = coreSummary.map(rowCells)
const pRows = peerRows(summary)
const sRows = serverRows(samples, TARGETS)
const verdicts = peerVerdicts(summary, samples, TARGETS)
const notes = peerNotes(summary, samples, TARGETS)
const storage = storageRows(summary)
const logins = loginRows(summary, samples)

console.log('')
console.log(textTable(HEAD, coreRows))
console.log('')
for (const s of coreSummary) {
  if (s.t.target !== undefined) console.log(`${s.verdict.padEnd(7)} ${s.t.label}: ${fmt(s.ratio, 3)} of the ceiling (target ≥ ${s.t.target.toFixed(2)})`)
}
const jwtFloor = summary.find((s) => s.t.id === 'http-raw-es256')
const jwtHttp = summary.find((s) => s.t.id === 'http-jwt')
const floorLine =
  jwtFloor !== undefined && jwtHttp !== undefined
    ? `HTTP JWT reaches ${fmt(jwtHttp.perSecond / jwtFloor.perSecond, 2)} of raw node:http + ES256 sign, which itself reaches ${fmt(jwtFloor.ratio, 2)} of the ceiling`
    : ''
if (floorLine !== '') console.log(floorLine)
const handRolled = handRolledRows(summary)
if (handRolled.rows.length > 0) {
  console.log('')
  console.log(textTable(HAND_ROLLED_HEAD, handRolled.rows))
  console.log('')
  for (const v of handRolled.verdicts) console.log(`${v.verdict.padEnd(7)} ${v.text}`)
}
if (pRows.length > 0) {
  console.log('')
  console.log(textTable(PEER_HEAD, pRows))
  console.log('')
  for (const v of verdicts) console.log(`${v.verdict.padEnd(7)} ${v.text}`)
  for (const n of notes) console.log(`note: ${n}`)
  console.log('')
  console.log(textTable(SERVER_HEAD, sRows))
}
if (storage.rows.length > 0) {
  console.log('')
  console.log(textTable(STORAGE_HEAD, storage.rows))
  console.log('')
  for (const v of storage.verdicts) console.log(`${v.verdict.padEnd(7)} ${v.text}`)
  console.log(`note: the database servers are not pinned (they run on whichever CPU is free, the load generator's included); their CPU is shown apart and is not counted as other load`)
}
if (logins.rows.length > 0) {
  console.log('')
  console.log(textTable(LOGIN_HEAD, logins.rows))
  console.log('')
  for (const v of logins.verdicts) console.log(`${v.verdict.padEnd(7)} ${v.text}`)
}
for (const s of summary) {
  if (!s.valid) console.log(`INVALID ${s.t.label}: ${s.problems.join('; ')}`)
}

const written = writeResults({ machine, pinned, startedAt, benchSeconds, retried, samples, targets: TARGETS, summary, coreSummary, coreRows, floorLine, handRolled, pRows, verdicts, notes, sRows, storage, logins })
console.log(`\nwritten to ${written}`)
process.exit(anyInvalid ? 1 : 0)
