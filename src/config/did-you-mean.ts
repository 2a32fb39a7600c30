/**
 * Edit distance between two names (optimal string alignment: insert, delete,
 * substitute, or swap two neighbours, each costing 1), ignoring case, because
 * the usual slips in an option name are a missing, doubled or swapped letter
 * and a wrong capital.
 *
 * @example
 * editDistance('accesTokenFormat', 'accessTokenFormat') // 1
 */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase()
  const t = b.toLowerCase()
  // Three rolling rows are enough: the swap looks two rows back.
  let before = new Array<number>(t.length + 1).fill(0)
  let previous = Array.from({ length: t.length + 1 }, (_, j) => j)
  for (let i = 1; i <= s.length; i++) {
    const current = [i]
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1
      let d = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost)
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) d = Math.min(d, before[j - 2]! + 1)
      current.push(d)
    }
    before = previous
    previous = current
  }
  return previous[t.length]!
}

/**
 * The known name closest to `name`, or undefined when none is close enough to
 * be a likely slip: one edit per three letters of `name`, rounded up (so
 * `clent` finds `clients`, and `x` finds no `ttl`). Ties go to the name listed first.
 *
 * @example
 * closestName('ttl', ['ttl', 'trust']) // 'ttl'
 * closestName('colour', ['issuer', 'clients']) // undefined
 */
export function closestName(name: string, known: readonly string[]): string | undefined {
  const limit = Math.ceil(name.length / 3)
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of known) {
    const d = editDistance(name, candidate)
    if (d <= limit && d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return best
}

/**
 * The TypeError for a name that is not known at `path`: with the closest known
 * name when there is one, otherwise with the list of known names.
 *
 * @param path where the unknown name sits, including it (`ttl.acessToken`)
 * @param prefix the path of the object holding it, `''` at the top level
 * @param noun what a name is called in messages: `option`, `lifetime`, `field`, …
 * @example
 * unknownName('accesTokenFormat', '', ['accessTokenFormat'], 'option').message
 * // 'accesTokenFormat: unknown option; did you mean accessTokenFormat?'
 */
export function unknownName(name: string, prefix: string, known: readonly string[], noun: string): TypeError {
  const path = prefix === '' ? name : `${prefix}.${name}`
  const guess = closestName(name, known)
  const hint = guess !== undefined ? `did you mean ${prefix === '' ? guess : `${prefix}.${guess}`}?` : `known ${noun}s: ${known.join(', ')}`
  return new TypeError(`${path}: unknown ${noun}; ${hint}`)
}

/**
 * Refuses every own key of `value` that is not in `known`, naming the closest
 * known one. A misspelt option would otherwise be ignored and its default used
 * without a word, which for a security limit is the worst kind of failure.
 *
 * @throws TypeError from `unknownName`
 * @example
 * refuseUnknownNames({ ttl: {} }, ['ttl'], '', 'option') // passes
 */
export function refuseUnknownNames(value: object, known: readonly string[], prefix: string, noun: string): void {
  for (const name of Object.keys(value)) {
    if (!known.includes(name)) throw unknownName(name, prefix, known, noun)
  }
}
