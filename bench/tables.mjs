// The tables of a run: grantkit against the ceiling, side by side with the peers (with the targets and
// the notes that explain them), start-up and memory per server, durable storage against memory, and
// every run. Each comes as rows of text cells, printed as text (textTable) or Markdown (markdownTable).
import { fmt, latencyDigits, pct, rangeText } from './format.mjs'
import { NOT_APPLICABLE, PEER_GRANTKIT, PEER_NODE_OAUTH, PEER_OIDC, RSS_TARGET, SERVERS, WORKLOADS } from './rows.mjs'
import { DURATION, OTHER_LOAD_LIMIT, WARMUP } from './settings.mjs'
import { maxOf, median } from './summary.mjs'

export const HEAD = ['measurement', 'req/s (median)', 'min–max', 'p50 ms', 'p99 ms', 'ratio to ceiling', 'target', 'result', 'server CPU', 'loadgen CPU', 'other load (max)']

export function rowCells(s) {
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

const PEER_ORDER = [PEER_GRANTKIT, PEER_OIDC, PEER_NODE_OAUTH]
/** Workloads the peers table compares (the login flood has a table of its own, logins.mjs). */
const PEER_WORKLOADS = new Set(WORKLOADS.map((w) => w.id))
export const PEER_HEAD = [
  'workload',
  'server',
  'rate (median)',
  'min–max',
  'p50 ms',
  'p99 ms',
  'ratio to best peer',
  'ratio to ceiling',
  'per server CPU-second',
  'ratio to best peer per CPU-second',
  'peak RSS MiB',
  'start-up ms',
  'server CPU',
  'loadgen CPU',
  'other load (max)',
]

/** Rows of the peers table: per workload, grantkit then the peers; n/a where a peer has no such endpoint. */
export function peerRows(summary) {
  const out = []
  for (const w of WORKLOADS) {
    const measured = summary.filter((s) => s.t.workload === w.id && s.t.whatIf !== true)
    if (measured.length === 0) continue
    const peers = measured.filter((s) => s.t.peer !== PEER_GRANTKIT && s.t.whatIf !== true && s.t.storage === undefined && s.valid)
    const best = peers.length === 0 ? NaN : Math.max(...peers.map((s) => s.perSecond))
    const bestPerCpu = peers.length === 0 ? NaN : Math.max(...peers.map((s) => s.perCpuSecond))
    for (const peer of PEER_ORDER) {
      const s = measured.find((m) => m.t.peer === peer)
      const na = NOT_APPLICABLE.find((n) => n.workload === w.id && n.peer === peer)
      if (s === undefined) {
        if (na !== undefined) out.push([w.label, peer, `n/a (${na.why})`, ...PEER_HEAD.slice(3).map(() => '')])
        continue
      }
      const rate = `${fmt(s.perSecond)} ${w.unit}${w.unit !== 'req/s' && Number.isFinite(s.requestsPerSecond) ? ` (${fmt(s.requestsPerSecond)} req/s)` : ''}`
      out.push([
        w.label,
        peer,
        s.valid ? rate : `${rate} INVALID`,
        rangeText(s),
        fmt(s.p50, latencyDigits(s.p50)),
        fmt(s.p99, latencyDigits(s.p99)),
        Number.isFinite(best) && s.valid ? `${fmt(s.perSecond / best, 2)}×` : 'n/a',
        fmt(s.ratio, 2),
        fmt(s.perCpuSecond),
        Number.isFinite(bestPerCpu) && s.valid ? `${fmt(s.perCpuSecond / bestPerCpu, 2)}×` : 'n/a',
        fmt(s.peakRss, 0),
        fmt(s.startupMs, 0),
        pct(s.serverCpu),
        pct(s.genCpu),
        pct(s.other),
      ])
    }
  }
  return out
}

/**
 * Facts from this run that explain the two targets that depend most on the setup: how much of a
 * grantkit code flow is the password hash (from the what-if row), and how much each server had
 * stored when its peak RSS was read.
 */
export function peerNotes(summary, samples, targets) {
  const notes = []
  const flow = (workload, peer) => summary.find((s) => s.t.workload === workload && s.t.peer === peer)
  const gk = flow('flow', PEER_GRANTKIT)
  const nohash = flow('flow-nohash', PEER_GRANTKIT)
  const op = flow('flow', PEER_OIDC)
  const opNohash = flow('flow-nohash', PEER_OIDC)
  if (gk?.valid && nohash?.valid && op?.valid && opNohash?.valid) {
    const msPerFlow = (s) => 1000 / s.perCpuSecond
    notes.push(
      `Code flow, CPU per flow: grantkit ${fmt(msPerFlow(gk), 2)} ms with the Argon2id check, ${fmt(msPerFlow(nohash), 2)} ms without ` +
        `(the hash about ${fmt(msPerFlow(gk) - msPerFlow(nohash), 2)} ms); node-oidc-provider ${fmt(msPerFlow(op), 2)} ms with the same check, ` +
        `${fmt(msPerFlow(opNohash), 2)} ms without. Per CPU-second grantkit does ${fmt(gk.perCpuSecond / op.perCpuSecond, 2)}× node-oidc-provider's flows with hashing, ` +
        `${fmt(nohash.perCpuSecond / opNohash.perCpuSecond, 2)}× without. ` +
        // The arithmetic bound of the ≥ 2× target: both servers pay the same hash on one core, so even a
        // grantkit flow costing nothing but the hash is node-oidc-provider's CPU per flow ÷ the hash.
        `With the same hash on both, no grantkit could do better than ${fmt(msPerFlow(op) / (msPerFlow(gk) - msPerFlow(nohash)), 2)}× ` +
        `(node-oidc-provider's ${fmt(msPerFlow(op), 2)} ms ÷ the ${fmt(msPerFlow(gk) - msPerFlow(nohash), 2)} ms hash alone).`,
    )
  }
  const served = (t) => median(samples.get(t.id).map((r) => r.perSecond)) * (WARMUP + DURATION)
  const peakRow = (peer) =>
    targets.filter((t) => PEER_WORKLOADS.has(t.workload) && t.peer === peer && !t.workload.startsWith('flow'))
      .map((t) => ({ t, mib: maxOf(samples.get(t.id).map((r) => r.peakRssMiB)), start: median(samples.get(t.id).map((r) => r.startRssMiB)) }))
      .sort((a, b) => b.mib - a.mib)[0]
  const g = peakRow(PEER_GRANTKIT)
  const o = peakRow(PEER_OIDC)
  if (g !== undefined && o !== undefined && Number.isFinite(g.mib) && Number.isFinite(o.mib)) {
    notes.push(
      `Peak RSS: grantkit's highest is in ${g.t.workload} (${fmt(g.mib, 1)} MiB after about ${fmt(served(g.t))} requests, each of which stores tokens until they expire), ` +
        `node-oidc-provider's in ${o.t.workload} (${fmt(o.mib, 1)} MiB after about ${fmt(served(o.t))} requests; its in-memory adapter keeps at most about 1,000 entries). ` +
        `RSS right after start: grantkit ${fmt(g.start, 1)} MiB, node-oidc-provider ${fmt(o.start, 1)} MiB (${fmt(g.start / o.start, 2)}×).`,
    )
  }
  return notes
}

/** PASS/MISS per target of grantkit against node-oidc-provider in the same run. */
export function peerVerdicts(summary, samples, targets) {
  const lines = []
  for (const w of WORKLOADS) {
    const gk = summary.find((s) => s.t.workload === w.id && s.t.peer === PEER_GRANTKIT)
    const op = summary.find((s) => s.t.workload === w.id && s.t.peer === PEER_OIDC)
    if (gk === undefined || op === undefined || w.target === undefined) continue
    const ratio = gk.perSecond / op.perSecond
    const verdict = !gk.valid || !op.valid ? 'INVALID' : ratio >= w.target ? 'PASS' : 'MISS'
    const perCpu = gk.perCpuSecond / op.perCpuSecond
    lines.push({
      verdict,
      text: `${w.label}: grantkit ${fmt(gk.perSecond)} vs node-oidc-provider ${fmt(op.perSecond)} ${w.unit} = ${fmt(ratio, 2)}× (target ≥ ${w.target}×; per server CPU-second ${fmt(perCpu, 2)}×)`,
    })
  }
  const peak = (peer) => {
    const runs = targets.filter((t) => PEER_WORKLOADS.has(t.workload) && t.peer === peer).flatMap((t) => samples.get(t.id))
    return { mib: maxOf(runs.map((r) => r.peakRssMiB)), valid: runs.length > 0 && runs.every((r) => r.valid) }
  }
  const gk = peak(PEER_GRANTKIT)
  const op = peak(PEER_OIDC)
  if (Number.isFinite(gk.mib) && Number.isFinite(op.mib)) {
    const ratio = gk.mib / op.mib
    const verdict = !gk.valid || !op.valid ? 'INVALID' : ratio <= RSS_TARGET ? 'PASS' : 'MISS'
    lines.push({ verdict, text: `peak RSS (highest VmHWM over the workloads both run): grantkit ${fmt(gk.mib, 1)} MiB vs node-oidc-provider ${fmt(op.mib, 1)} MiB = ${fmt(ratio, 2)}× (target ≤ ${RSS_TARGET}×)` })
  }
  return lines
}

/** Per server configuration: start-up time (median over every start) and the highest peak RSS of its runs. */
export function serverRows(samples, targets) {
  const out = []
  for (const [id, srv] of Object.entries(SERVERS)) {
    const rows = targets.filter((t) => t.server === id)
    if (rows.length === 0) continue
    const runs = rows.flatMap((t) => samples.get(t.id))
    const highest = rows.map((t) => ({ t, mib: maxOf(samples.get(t.id).map((r) => r.peakRssMiB)) })).sort((a, b) => b.mib - a.mib)[0]
    out.push([
      `${srv.peer} (${[basenameOf(srv.script), ...(srv.storage !== undefined ? srv.args.slice(0, 1) : srv.args)].join(' ')})`,
      `${fmt(median(runs.map((r) => r.startupMs)), 0)}`,
      fmt(median(runs.map((r) => r.startRssMiB)), 1),
      `${fmt(Math.min(...runs.map((r) => r.startupMs).filter(Number.isFinite)), 0)}–${fmt(maxOf(runs.map((r) => r.startupMs)), 0)}`,
      fmt(highest.mib, 1),
      highest.t.workload ?? highest.t.id,
      String(runs.length),
    ])
  }
  return out
}

/** The storage rows against the memory rows of the same workload, in the same run. */
export function storageRows(summary) {
  const out = []
  const verdicts = []
  for (const w of WORKLOADS) {
    const rows = summary.filter((s) => s.t.workload === w.id && s.t.storage !== undefined)
    if (rows.length === 0) continue
    const memory = summary.find((s) => s.t.id === rows[0].t.memory)
    const line = (s, name, ratio, target, verdict) => [
      w.label,
      name,
      `${fmt(s.perSecond)}${s.valid ? '' : ' INVALID'}`,
      rangeText(s),
      fmt(s.p50, latencyDigits(s.p50)),
      fmt(s.p99, latencyDigits(s.p99)),
      ratio,
      target,
      verdict,
      fmt(s.perCpuSecond),
      pct(s.serverCpu),
      pct(s.dbCpu),
      pct(s.genCpu),
      pct(s.other),
    ]
    if (memory !== undefined) out.push(line(memory, 'memory', '1.00', '', ''))
    for (const s of rows) {
      const target = SERVERS[s.t.server].storageTarget
      const ratio = memory !== undefined && memory.valid ? s.perSecond / memory.perSecond : NaN
      const verdict = !s.valid || memory === undefined || !memory.valid ? 'INVALID' : ratio >= target ? 'PASS' : 'MISS'
      const name = s.t.storage === 'postgres' ? 'PostgreSQL' : 'Redis'
      out.push(line(s, name, fmt(ratio, 2), `≥ ${target.toFixed(2)}`, verdict))
      verdicts.push({
        verdict,
        text: `${w.label}, ${name} storage: ${fmt(s.perSecond)} vs memory ${fmt(memory?.perSecond)} req/s = ${fmt(ratio, 2)} of memory (target ≥ ${target}; ${name} server CPU ${pct(s.dbCpu)} of a core, not pinned)`,
      })
    }
  }
  return { rows: out, verdicts }
}

export const STORAGE_HEAD = ['workload', 'storage', 'req/s (median)', 'min–max', 'p50 ms', 'p99 ms', 'ratio to memory', 'target', 'result', 'per server CPU-second', 'server CPU', 'database server CPU (not pinned)', 'loadgen CPU', 'other load (max)']

export const SERVER_HEAD = ['server', 'start-up ms (median)', 'RSS after start MiB (median)', 'start-up min–max', 'highest peak RSS MiB', 'in workload', 'starts']
const basenameOf = (path) => path.split('/').pop()

export function textTable(head, rows) {
  const all = [head, ...rows]
  const widths = head.map((_, i) => Math.max(...all.map((r) => r[i].length)))
  const line = (r) => r.map((c, i) => (i <= 1 && (head === PEER_HEAD || head === STORAGE_HEAD) ? c.padEnd(widths[i]) : i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')
  return [line(all[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

export function markdownTable(head, rows, left = 1) {
  return [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < left ? ' --- ' : ' ---: ')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n')
}

export function perRunTable(samples, targets, reps) {
  const head = ['measurement', ...Array.from({ length: reps }, (_, i) => `rep ${i + 1} per s`), 'peak RSS MiB per rep', 'start-up ms per rep']
  const rows = targets.map((t) => [
    t.label,
    ...samples.get(t.id).map((r) => `${fmt(r.perSecond)}${r.valid ? '' : ' (invalid)'}${r.other > OTHER_LOAD_LIMIT ? ` (other load ${fmt(r.other)}%)` : ''}`),
    samples.get(t.id).map((r) => fmt(r.peakRssMiB, 0)).join(', '),
    samples.get(t.id).map((r) => fmt(r.startupMs, 0)).join(', '),
  ])
  return markdownTable(head, rows)
}
