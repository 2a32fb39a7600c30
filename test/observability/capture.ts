import type { Logger, LogLevel } from '../../src/index.js'

/** One line a capturing logger received. */
export interface Line {
  level: LogLevel
  obj: Record<string, unknown>
  msg: string | undefined
}

/** A logger that keeps its lines, with the JSON a real one would write. */
export function captureLogger(): Logger & { lines: Line[]; text(): string } {
  const lines: Line[] = []
  const at = (level: LogLevel) => (obj: object, msg?: string) => void lines.push({ level, obj: JSON.parse(JSON.stringify(obj)) as Record<string, unknown>, msg })
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    text: () => lines.map((l) => JSON.stringify({ level: l.level, ...l.obj, msg: l.msg })).join('\n'),
  }
}
