// SVG bar charts of the ratios in RESULTS.md, drawn from the same table rows (no chart library: bars, labels, a
// target line). writeResults calls writeCharts with the rows it has just formatted; `node bench/charts.mjs FILE.md`
// draws them again from a results file's tables (e.g. after editing the chart code, without a new run).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

/** A number from a formatted cell ("2.76×", "5277 req/s", "0.59"); NaN when there is none. */
export function cellNumber(cell) {
  const m = /-?\d+(?:\.\d+)?/.exec(String(cell ?? ''))
  return m === null ? NaN : Number(m[0])
}

const ROW_H = 22
const BAR_W = 380
const PAD = 12
/** Width of a 12 px sans-serif label, generously: the SVG is drawn without measuring text. */
const textWidth = (s) => Math.ceil(String(s).length * 6.8)

/**
 * One horizontal bar chart: `bars` ({ label, value, group? }) on a linear axis from 0, a dashed line at each
 * `targets` value ({ value, label }), the value printed at each bar's end. Bars of one group share a colour;
 * a bar below its target is drawn in the MISS colour when `passAt` says so.
 */
export function barChart({ title, subtitle, bars, targets = [], format = (v) => v.toFixed(2), fail }) {
  const shown = bars.filter((b) => Number.isFinite(b.value))
  const LABEL_W = PAD + Math.max(120, ...shown.map((b) => textWidth(b.label))) + 6
  const max = Math.max(1, ...shown.map((b) => b.value), ...targets.map((t) => t.value)) * 1.08
  const x = (v) => LABEL_W + (v / max) * BAR_W
  const top = PAD + 40
  const height = top + shown.length * ROW_H + PAD + 18
  const width = Math.max(LABEL_W + BAR_W + 90, PAD * 2 + textWidth(title) * 1.2, PAD * 2 + textWidth(subtitle ?? ''))
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${PAD}" y="${PAD + 12}" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ]
  if (subtitle) out.push(`<text x="${PAD}" y="${PAD + 30}" fill="#555">${esc(subtitle)}</text>`)
  let previous
  shown.forEach((b, i) => {
    const y = top + i * ROW_H
    if (b.group !== undefined && b.group !== previous && i > 0) out.push(`<line x1="${PAD}" x2="${width - PAD}" y1="${y - 1}" y2="${y - 1}" stroke="#ddd"/>`)
    previous = b.group
    const missed = fail !== undefined && fail(b)
    const colour = b.reference ? '#9aa5b1' : missed ? '#d9534f' : '#2e7bcf'
    out.push(`<text x="${LABEL_W - 6}" y="${y + 15}" text-anchor="end">${esc(b.label)}</text>`)
    out.push(`<rect x="${LABEL_W}" y="${y + 3}" width="${Math.max(1, x(b.value) - LABEL_W).toFixed(1)}" height="${ROW_H - 6}" fill="${colour}"/>`)
    out.push(`<text x="${(x(b.value) + 4).toFixed(1)}" y="${y + 15}">${esc(format(b.value))}${missed ? ' MISS' : ''}</text>`)
  })
  const bottom = top + shown.length * ROW_H
  out.push(`<line x1="${LABEL_W}" x2="${LABEL_W}" y1="${top}" y2="${bottom}" stroke="#333"/>`)
  for (const t of targets) {
    out.push(`<line x1="${x(t.value).toFixed(1)}" x2="${x(t.value).toFixed(1)}" y1="${top - 4}" y2="${bottom}" stroke="#333" stroke-dasharray="4 3"/>`)
    out.push(`<text x="${x(t.value).toFixed(1)}" y="${bottom + 14}" text-anchor="middle" fill="#333">${esc(t.label)}</text>`)
  }
  out.push('</svg>')
  return out.join('\n') + '\n'
}

const col = (head, name) => head.indexOf(name)

/** The charts of one results file, from its tables ({ head, rows } each; undefined when not measured). */
export function chartsFrom({ peers, handRolled, storage }) {
  const charts = []
  if (peers !== undefined && peers.rows.length > 0) {
    const w = col(peers.head, 'workload')
    const s = col(peers.head, 'server')
    const r = col(peers.head, 'ratio to best peer')
    charts.push({
      file: 'peers.svg',
      alt: 'rate relative to the best peer, per workload',
      svg: barChart({
        title: 'Rate relative to the best peer',
        subtitle: 'median req/s ÷ that of the best of node-oidc-provider and @node-oauth/oauth2-server, same workload, same core',
        bars: peers.rows.map((row) => ({ label: `${row[w]}: ${row[s]}`, group: row[w], value: cellNumber(row[r]), reference: !String(row[s]).startsWith('grantkit') })),
        targets: [{ value: 1, label: 'best peer' }],
        format: (v) => `${v.toFixed(2)}×`,
      }),
    })
  }
  if (handRolled !== undefined && handRolled.rows.length > 0) {
    const g = col(handRolled.head, 'grantkit row')
    const rate = col(handRolled.head, 'rate ratio')
    const cpu = col(handRolled.head, 'ratio per server CPU-second')
    const bars = []
    for (const row of handRolled.rows) {
      bars.push({ label: `${row[g]}: rate`, group: row[g], value: cellNumber(row[rate]) })
      bars.push({ label: `${row[g]}: per CPU-second`, group: row[g], value: cellNumber(row[cpu]) })
    }
    charts.push({
      file: 'hand-rolled.svg',
      alt: 'grantkit relative to the hand-rolled endpoint doing the same cryptography',
      svg: barChart({
        title: 'grantkit relative to a hand-rolled endpoint',
        subtitle: 'grantkit ÷ a node:http endpoint doing the same cryptography by hand (1.00 = as fast); target ≥ 0.90 of the rate',
        bars,
        targets: [{ value: 0.9, label: 'target 0.90' }, { value: 1, label: '' }],
        fail: (b) => b.label.endsWith(': rate') && b.value < 0.9,
      }),
    })
  }
  if (storage !== undefined && storage.rows.length > 0) {
    const w = col(storage.head, 'workload')
    const s = col(storage.head, 'storage')
    const r = col(storage.head, 'ratio to memory')
    const t = col(storage.head, 'target')
    const bars = storage.rows.map((row) => ({ label: `${row[w].replace(/, opaque access token|of a valid opaque token/, '').trim()}: ${row[s]}`, group: row[w], value: cellNumber(row[r]), target: cellNumber(row[t]), reference: row[s] === 'memory' }))
    const targets = [...new Set(bars.filter((b) => Number.isFinite(b.target)).map((b) => b.target))].map((v) => ({ value: v, label: `≥ ${v}` }))
    charts.push({
      file: 'storage.svg',
      alt: 'PostgreSQL and Redis storage relative to memory storage',
      svg: barChart({
        title: 'Durable storage relative to memory storage',
        subtitle: 'req/s with PostgreSQL or Redis ÷ req/s with memory, same workload, same run; red: below its target',
        bars,
        targets,
        fail: (b) => Number.isFinite(b.target) && b.value < b.target,
      }),
    })
  }
  return charts
}

/** Writes the charts as `charts/*.svg` beside `resultsFile`; returns the Markdown that embeds them. */
export function writeCharts(resultsFile, tables) {
  const charts = chartsFrom(tables)
  if (charts.length === 0) return ''
  const dir = join(dirname(resultsFile), 'charts')
  mkdirSync(dir, { recursive: true })
  // RESULTS.md's charts are charts/<name>.svg; another results file's (RESULTS.partial.md, …) get its name in front, so none overwrites another's.
  const base = basename(resultsFile, '.md')
  const name = (file) => (base === 'RESULTS' ? file : `${base}-${file}`)
  for (const c of charts) writeFileSync(join(dir, name(c.file)), c.svg)
  return charts.map((c) => `![${c.alt}](${relative(dirname(resultsFile), join(dir, name(c.file)))})`).join('\n\n')
}

/** The Markdown tables of a results file whose header row starts with `firstCells`. */
function tableOf(md, firstCells) {
  const lines = md.split('\n')
  const split = (line) => line.replace(/^\|\s*|\s*\|$/g, '').split(/\s*\|\s*/)
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].startsWith('|')) continue
    const head = split(lines[i])
    if (!firstCells.every((c, k) => head[k] === c)) continue
    const rows = []
    for (let j = i + 2; j < lines.length && lines[j].startsWith('|'); j++) rows.push(split(lines[j]))
    return { head, rows }
  }
  return undefined
}

/** The tables the charts draw, read back from a results file. */
export function tablesFromMarkdown(md) {
  return {
    peers: tableOf(md, ['workload', 'server', 'rate (median)']),
    handRolled: tableOf(md, ['grantkit row', 'hand-rolled reference']),
    storage: tableOf(md, ['workload', 'storage']),
  }
}

/** The "## Charts" section run.mjs writes after the settings; `embed` replaces one already there, or adds it before the first table section. */
export function chartsSection(embed) {
  return embed === '' ? '' : `## Charts\n\nThe ratios of the tables below as bars (files in \`charts/\`, written by \`bench/charts.mjs\` from the same rows).\n\n${embed}\n`
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // node bench/charts.mjs [FILE.md] [--embed]: redraws the charts of a results file; --embed also puts their section in it.
  const args = process.argv.slice(2)
  const file = args.find((a) => a !== '--embed') ?? fileURLToPath(new URL('RESULTS.md', import.meta.url))
  const md = readFileSync(file, 'utf8')
  const embed = writeCharts(file, tablesFromMarkdown(md))
  if (embed === '') console.log(`no chartable tables in ${file}`)
  else if (!args.includes('--embed')) console.log(embed)
  else {
    const section = chartsSection(embed)
    const at = md.indexOf('\n## Charts\n')
    const next = at < 0 ? -1 : md.indexOf('\n## ', at + 1)
    const out = at >= 0 ? md.slice(0, at + 1) + section + md.slice(next) : md.replace(/\n## /, `\n${section}\n## `)
    writeFileSync(file, out)
    console.log(`charts embedded in ${file}`)
  }
}
