import pino from 'pino'
import type { Logger } from '../index.js'
import type { LogLevel } from './args.js'

/** The level when neither `--log-level` nor `GRANTKIT_LOG_LEVEL` names one (args.ts parses both). */
export const DEFAULT_LOG_LEVEL: LogLevel = 'info'

/** Where the lines go: one whole line per call. */
export type LineSink = (line: string) => void

/**
 * `grantkit serve`'s logger: pino, one JSON object per line (`level` as a
 * word, `time` in ISO 8601), or with `readable` a one-line form for a person
 * at a terminal. Every line goes to `sink` in one call, so lines never mix
 * with the other output of serve.
 *
 * @example
 * const logger = createCliLogger('info', (line) => process.stdout.write(line), process.stdout.isTTY === true)
 */
export function createCliLogger(level: LogLevel, sink: LineSink, readable = false): Logger {
  return pino(
    {
      level,
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
      // The library hands `err` over as { name, message, code } already; pino's serializer would add an empty stack.
      serializers: { err: (value: unknown) => value },
    },
    { write: readable ? (json: string) => sink(readableLine(json)) : sink },
  )
}

/** Fields a readable line leaves out: pid and hostname say nothing at a terminal; the request's message already says method, endpoint and status. */
const OMITTED = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'durationMs', 'requestId'])
const IN_REQUEST_MESSAGE = new Set(['method', 'endpoint', 'status'])

/**
 * One JSON line of pino as a person reads it:
 * `14:03:07.123 INFO  POST token 401 error=invalid_client reason="client is registered for client_secret_basic" clientId=svc 0.3ms id=7f0c…`.
 * Values with spaces or quotes are JSON-quoted, so control characters of a
 * client's input stay escaped.
 *
 * @example
 * readableLine('{"level":"warn","time":"2026-01-01T10:00:00.000Z","msg":"health check failed: storage","check":"storage"}\n')
 * // '10:00:00.000 WARN  health check failed: storage check=storage\n'
 */
export function readableLine(json: string): string {
  let entry: Record<string, unknown>
  try {
    entry = JSON.parse(json) as Record<string, unknown>
  } catch {
    return json
  }
  const msg = String(entry.msg ?? '')
  const requestLine = msg === `${String(entry.method)} ${String(entry.endpoint)} ${String(entry.status)}`
  const parts = [typeof entry.time === 'string' ? entry.time.slice(11, 23) : '', String(entry.level ?? '').toUpperCase().padEnd(5), msg]
  for (const [key, value] of Object.entries(entry)) {
    if (value === undefined || OMITTED.has(key) || (requestLine && IN_REQUEST_MESSAGE.has(key))) continue
    parts.push(`${key}=${readableValue(value)}`)
  }
  if (typeof entry.durationMs === 'number') parts.push(`${entry.durationMs}ms`)
  if (entry.requestId !== undefined) parts.push(`id=${readableValue(entry.requestId)}`)
  return `${parts.filter((part) => part !== '').join(' ')}\n`
}

function readableValue(value: unknown): string {
  if (typeof value === 'string') return /^[\w.:/@+-]+$/.test(value) ? value : JSON.stringify(value)
  return JSON.stringify(value)
}
