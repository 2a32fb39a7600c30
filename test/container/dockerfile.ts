/** One instruction of a Dockerfile, continuation lines joined. */
export interface Instruction {
  /** Upper case: `FROM`, `RUN`, `COPY`, … */
  keyword: string
  /** `--from=build` → `{ from: 'build' }`. */
  flags: Record<string, string>
  /** What follows the keyword and its flags, as written (shell form) … */
  text: string
  /** … or parsed, when it is a JSON array (exec form). */
  exec?: string[]
  /** 1-based line where it starts, for messages. */
  line: number
}

/** A build stage: `FROM image [AS name]` and what follows until the next FROM. */
export interface Stage {
  image: string
  name?: string
  instructions: Instruction[]
}

/**
 * Parses the parts of the Dockerfile syntax the project's Dockerfile uses:
 * comments, `\` continuations (joined before anything else, also inside quotes,
 * as Docker does), `--flag=value` options, and exec-form JSON arrays.
 *
 * @example
 * parseDockerfile('FROM node:20-slim AS build\nRUN npm ci')[0].instructions[0].text // 'npm ci'
 */
export function parseDockerfile(source: string): Stage[] {
  const stages: Stage[] = []
  const lines = source.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const start = i
    let logical = lines[i]!
    if (/^\s*(#|$)/.test(logical)) continue
    while (/\\\s*$/.test(logical) && i + 1 < lines.length) {
      i++
      const next = lines[i]!
      // Docker drops comment lines inside a continued instruction.
      if (/^\s*#/.test(next)) continue
      logical = logical.replace(/\\\s*$/, '') + next
    }
    const m = /^\s*([A-Za-z]+)\s+(.*)$/s.exec(logical)
    if (m === null) throw new Error(`Dockerfile line ${start + 1}: cannot read "${logical}"`)
    const keyword = m[1]!.toUpperCase()
    let rest = m[2]!.trim()
    const flags: Record<string, string> = {}
    for (let f = /^--([a-z-]+)=(\S+)\s+/.exec(rest); f !== null; f = /^--([a-z-]+)=(\S+)\s+/.exec(rest)) {
      flags[f[1]!] = f[2]!
      rest = rest.slice(f[0].length)
    }
    const instruction: Instruction = { keyword, flags, text: rest, line: start + 1 }
    if (rest.startsWith('[')) instruction.exec = JSON.parse(rest) as string[]
    if (keyword === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest)
      if (from === null) throw new Error(`Dockerfile line ${start + 1}: cannot read FROM ${rest}`)
      stages.push({ image: from[1]!, ...(from[2] !== undefined && { name: from[2] }), instructions: [] })
      continue
    }
    const stage = stages[stages.length - 1]
    if (stage === undefined) throw new Error(`Dockerfile line ${start + 1}: ${keyword} before FROM`)
    stage.instructions.push(instruction)
  }
  return stages
}

/**
 * `ENV A=1 B="two words"` (and the old `ENV A 1`) as pairs.
 *
 * @example
 * envPairs('NODE_ENV=production') // { NODE_ENV: 'production' }
 */
export function envPairs(text: string): Record<string, string> {
  const pairs: Record<string, string> = {}
  const old = /^([A-Za-z_][A-Za-z0-9_]*)\s+([^=]*)$/.exec(text)
  if (old !== null) return { [old[1]!]: old[2]!.trim() }
  for (const m of text.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    pairs[m[1]!] = m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!
  }
  return pairs
}

/** The instructions of a stage with this keyword. */
export function instructionsOf(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((i) => i.keyword === keyword)
}

/** The last instruction with this keyword (ENTRYPOINT, CMD, USER, HEALTHCHECK take effect last-wins). */
export function lastOf(stage: Stage, keyword: string): Instruction | undefined {
  return instructionsOf(stage, keyword).at(-1)
}
