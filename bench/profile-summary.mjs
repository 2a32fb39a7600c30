// Summarizes a V8 .cpuprofile (node --cpu-prof, or BENCH_PROFILE in run.mjs) as text: where the
// time went by package/area, and the functions with the most self and inclusive time.
// Usage: node bench/profile-summary.mjs <file.cpuprofile> [top N (25)]
import { readFileSync } from 'node:fs'

const [file, topArg] = process.argv.slice(2)
if (file === undefined) {
  console.error('usage: node bench/profile-summary.mjs <file.cpuprofile> [top]')
  process.exit(2)
}
const TOP = Number(topArg ?? 25)
const profile = JSON.parse(readFileSync(file, 'utf8'))
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const parent = new Map()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)

// Self time per node, from the samples and their time deltas (µs).
const self = new Map()
let total = 0
for (let i = 0; i < profile.samples.length; i++) {
  const dt = profile.timeDeltas[i] ?? 0
  total += dt
  self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + dt)
}

function area(frame) {
  const url = frame.url ?? ''
  if (url === '') return frame.functionName.startsWith('(') ? frame.functionName : '(native/V8 builtins)'
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (nm !== null) return nm[1]
  if (url.startsWith('node:')) return 'node: ' + url.slice(5).split('/')[0] + (url.includes('internal/') ? ' (internal)' : '')
  if (/\/dist\//.test(url) || /\.bench-tmp\/dist/.test(url)) return 'grantkit (dist)'
  if (/\/bench\//.test(url)) return 'bench script'
  return url.replace(/^file:\/\//, '')
}
const key = (f) => `${f.functionName || '(anonymous)'}  ${(f.url ?? '').replace(/^file:\/\/.*?\/(node_modules|dist|bench)\//, '$1/').replace(/^file:\/\//, '')}:${f.lineNumber + 1}`

const areas = new Map()
const selfByFn = new Map()
for (const [id, t] of self) {
  const f = byId.get(id).callFrame
  areas.set(area(f), (areas.get(area(f)) ?? 0) + t)
  selfByFn.set(key(f), (selfByFn.get(key(f)) ?? 0) + t)
}

// Inclusive time per function: each sample counts once for every distinct function on its stack.
const inclusive = new Map()
for (const [id, t] of self) {
  const seen = new Set()
  for (let n = id; n !== undefined; n = parent.get(n)) {
    const k = key(byId.get(n).callFrame)
    if (seen.has(k)) continue
    seen.add(k)
    inclusive.set(k, (inclusive.get(k) ?? 0) + t)
  }
}

const pct = (t) => `${((t / total) * 100).toFixed(1).padStart(5)}%`
const print = (title, map, n) => {
  console.log(`\n${title}`)
  for (const [k, t] of [...map].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`  ${pct(t)}  ${k}`)
}
console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled`)
print('by area (self time)', areas, 20)
print(`top ${TOP} functions by self time`, selfByFn, TOP)
print(`top ${TOP} functions by inclusive time`, inclusive, TOP)
