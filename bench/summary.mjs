// From the measurements of every repetition to one summary per row: medians, spread, the ratio to the
// raw ceiling, and PASS / MISS / INVALID against the row's target.

export function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (v.length === 0) return NaN
  const mid = v.length >> 1
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2
}

export function maxOf(values) {
  const v = values.filter(Number.isFinite)
  return v.length === 0 ? NaN : Math.max(...v)
}

/** One summary per measured row (`targets`, in their order), from `samples`: row id → results per repetition. */
export function summarize(samples, targets) {
  const ceilingRuns = samples.get('http-raw')
  const ceilingValid = ceilingRuns.every((r) => r.valid)
  const ceiling = median(ceilingRuns.map((r) => r.perSecond))
  return targets.map((t) => {
    const runs = samples.get(t.id)
    const valid = runs.every((r) => r.valid)
    const perSecond = median(runs.map((r) => r.perSecond))
    const requestsPerSecond = median(runs.map((r) => r.requestsPerSecond))
    // For flows, the HTTP requests they made; for everything else that is the same number.
    const ratio = ceilingValid ? requestsPerSecond / ceiling : NaN
    let verdict = ''
    if (t.target !== undefined) verdict = !valid || !ceilingValid ? 'INVALID' : ratio >= t.target ? 'PASS' : 'MISS'
    else if (!valid) verdict = 'INVALID'
    const rates = runs.map((r) => r.perSecond).filter(Number.isFinite)
    return {
      t,
      valid,
      perSecond,
      requestsPerSecond,
      p50: median(runs.map((r) => r.p50)),
      p99: median(runs.map((r) => r.p99)),
      ratio,
      verdict,
      min: Math.min(...rates),
      max: Math.max(...rates),
      serverCpu: median(runs.map((r) => r.serverCpu)),
      genCpu: median(runs.map((r) => r.genCpu)),
      dbCpu: median(runs.map((r) => r.dbCpu)),
      // Rate per second of the server's own CPU time: steadier than the rate when other processes take the core.
      perCpuSecond: median(runs.map((r) => r.perSecond / (r.serverCpu / 100))),
      peakRss: median(runs.map((r) => r.peakRssMiB)),
      peakRssMax: maxOf(runs.map((r) => r.peakRssMiB)),
      startupMs: median(runs.map((r) => r.startupMs)),
      other: maxOf(runs.map((r) => r.other)),
      problems: [...new Set(runs.flatMap((r) => r.problems))],
    }
  })
}
