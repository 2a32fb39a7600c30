/** A value of the YAML subset below. */
export type YamlValue = string | YamlValue[] | { [key: string]: YamlValue } | null

interface Line {
  indent: number
  text: string
  number: number
}

/** Drops a ` # comment` that is not inside quotes. */
function stripComment(text: string): string {
  let quote: string | undefined
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (quote !== undefined) {
      if (c === quote) quote = undefined
    } else if (c === '"' || c === "'") quote = c
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) return text.slice(0, i).trimEnd()
  }
  return text.trimEnd()
}

function scalar(text: string, line: number): YamlValue {
  if (text === '' || text === '~' || text === 'null') return null
  // Flow sequences and double-quoted strings of compose files are JSON.
  if (text.startsWith('[') || text.startsWith('{') || text.startsWith('"')) {
    try {
      return JSON.parse(text) as YamlValue
    } catch {
      throw new Error(`line ${line}: not in the YAML subset this check reads: ${text}`)
    }
  }
  if (text.startsWith("'")) {
    if (!text.endsWith("'")) throw new Error(`line ${line}: unterminated '${text}'`)
    return text.slice(1, -1).replaceAll("''", "'")
  }
  return text
}

function parseBlock(lines: Line[], at: { i: number }, indent: number): YamlValue {
  const first = lines[at.i]!
  if (first.text.startsWith('- ') || first.text === '-') {
    const list: YamlValue[] = []
    while (at.i < lines.length && lines[at.i]!.indent === indent && lines[at.i]!.text.startsWith('-')) {
      const item = lines[at.i]!
      const value = item.text.slice(1).trim()
      if (/^[\w.-]+:(\s|$)/.test(value)) throw new Error(`line ${item.number}: mappings inside sequences are not in the YAML subset this check reads`)
      list.push(scalar(value, item.number))
      at.i++
    }
    return list
  }
  const map: Record<string, YamlValue> = {}
  while (at.i < lines.length && lines[at.i]!.indent === indent) {
    const entry = lines[at.i]!
    const m = /^([\w.-]+|"[^"]+"):(?:\s+(.*))?$/.exec(entry.text)
    if (m === null) throw new Error(`line ${entry.number}: expected "key: value", got "${entry.text}"`)
    const key = m[1]!.replace(/^"(.*)"$/, '$1')
    if (Object.hasOwn(map, key)) throw new Error(`line ${entry.number}: "${key}" given twice`)
    at.i++
    const next = lines[at.i]
    if ((m[2] ?? '') === '' && next !== undefined && next.indent > indent) map[key] = parseBlock(lines, at, next.indent)
    else map[key] = scalar(m[2] ?? '', entry.number)
  }
  if (at.i < lines.length && lines[at.i]!.indent > indent) throw new Error(`line ${lines[at.i]!.number}: unexpected indentation`)
  return map
}

/**
 * Reads the YAML that compose.yaml uses: block mappings, block sequences of
 * scalars, flow sequences and quoted scalars in JSON syntax, comments. Anything
 * else (anchors, multi-line strings, tabs) is an error rather than a guess, so
 * the check cannot pass on a file it misread.
 *
 * @example
 * parseYamlSubset('services:\n  a:\n    image: x\n') // { services: { a: { image: 'x' } } }
 */
export function parseYamlSubset(source: string): YamlValue {
  const lines: Line[] = []
  source.split('\n').forEach((raw, i) => {
    if (raw.includes('\t')) throw new Error(`line ${i + 1}: tabs are not allowed in YAML indentation`)
    const text = stripComment(raw)
    if (text.trim() === '') return
    if (/^\s*[&*!|>]|:\s*[&*!|>]/.test(text)) throw new Error(`line ${i + 1}: anchors, tags and block scalars are not in the YAML subset this check reads`)
    lines.push({ indent: text.length - text.trimStart().length, text: text.trim(), number: i + 1 })
  })
  if (lines.length === 0) return null
  const at = { i: 0 }
  const value = parseBlock(lines, at, lines[0]!.indent)
  if (at.i < lines.length) throw new Error(`line ${lines[at.i]!.number}: unexpected outdent`)
  return value
}
