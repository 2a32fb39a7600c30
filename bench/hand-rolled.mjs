// grantkit against hand-rolled node:http endpoints that do the same cryptography and nothing else
// (rows with `handRolled` in rows.mjs): the rate ratio and the p99 ratio, with PASS / MISS / INVALID.
import { fmt, latencyDigits } from './format.mjs'
import { HAND_ROLLED_TARGET } from './rows.mjs'

export const HAND_ROLLED_HEAD = ['grantkit row', 'hand-rolled reference', 'grantkit req/s', 'reference req/s', 'rate ratio', 'ratio per server CPU-second', 'grantkit p99 ms', 'reference p99 ms', 'p99 ratio', 'target', 'result']

/** Table rows and verdict lines of every measured grantkit row whose reference was measured too. */
export function handRolledRows(summary) {
  const rows = []
  const verdicts = []
  for (const s of summary) {
    if (s.t.handRolled === undefined) continue
    const ref = summary.find((r) => r.t.id === s.t.handRolled)
    if (ref === undefined) continue
    const rate = s.perSecond / ref.perSecond
    const p99 = s.p99 / ref.p99
    const valid = s.valid && ref.valid
    const verdict = !valid ? 'INVALID' : rate >= HAND_ROLLED_TARGET.rate && p99 <= HAND_ROLLED_TARGET.p99 ? 'PASS' : 'MISS'
    const target = `rate ≥ ${HAND_ROLLED_TARGET.rate}, p99 ≤ ${HAND_ROLLED_TARGET.p99}×`
    rows.push([s.t.label, ref.t.label, fmt(s.perSecond), fmt(ref.perSecond), fmt(rate, 2), fmt(s.perCpuSecond / ref.perCpuSecond, 2), fmt(s.p99, latencyDigits(s.p99)), fmt(ref.p99, latencyDigits(ref.p99)), `${fmt(p99, 2)}×`, target, verdict])
    verdicts.push({ verdict, text: `${s.t.label}: ${fmt(rate, 3)} of ${ref.t.label}'s rate, p99 ${fmt(p99, 2)}× its p99 (target ${target})` })
  }
  return { rows, verdicts }
}
