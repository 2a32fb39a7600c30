// How numbers are written in the tables and the progress lines.

export function fmt(n, digits = 0) {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a'
}

export function pct(n) {
  return Number.isFinite(n) ? `${n.toFixed(0)}%` : 'n/a'
}

/** Sub-millisecond latencies get three digits, the rest two. */
export function latencyDigits(ms) {
  return ms < 1 ? 3 : 2
}

/** The lowest and highest rate of a summary row. */
export function rangeText(s) {
  return Number.isFinite(s.min) ? `${fmt(s.min)}–${fmt(s.max)}` : 'n/a'
}
