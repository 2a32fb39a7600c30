/**
 * Where grantkit writes its log lines: the level methods of pino, which most
 * structured loggers share (fields first, then a message). A pino logger is
 * one as it is; so is a child logger, or four functions of your own.
 *
 * @example
 * import pino from 'pino'
 * const server = createAuthorizationServer({ issuer, clients, logger: pino() })
 * @example
 * const logger: Logger = { debug() {}, info: (o, m) => console.log(m, o), warn: (o, m) => console.warn(m, o), error: (o, m) => console.error(m, o) }
 */
export interface Logger {
  debug(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

/** A level grantkit writes at. */
export type LogLevel = keyof Logger

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error']

/**
 * The `logger` option, checked: an object with the four level methods.
 *
 * @throws TypeError naming the first method that is missing
 */
export function checkLogger(value: unknown, path: string): Logger {
  if (typeof value !== 'object' || value === null) throw new TypeError(`${path}: must be a logger with debug, info, warn and error methods (pino's, for one)`)
  for (const level of LEVELS) {
    if (typeof (value as Record<string, unknown>)[level] !== 'function') throw new TypeError(`${path}.${level}: must be a function (obj, msg) like pino's`)
  }
  return value as Logger
}

/** Writes one line; a logger that throws is ignored, as an event listener that throws is: it cannot fail a request. */
export function writeLog(logger: Logger, level: LogLevel, obj: object, msg: string): void {
  try {
    logger[level](obj, msg)
  } catch {
    // The request goes on without its line.
  }
}
