import { createServer as createHttpServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { defaults, type AuthorizationServer, type Logger } from '../index.js'
import { eventLoopDelayMonitor } from '../../adapters/event-loop.js'
import { checkAdapterPackages, listenerFor } from './adapters.js'
import type { ServeArgs } from './args.js'
import { createServer, createUserSource, loadServeConfig, type ServeConfig, type ServerParts } from './config.js'
import { describeDemo, readDemoMetadata } from './demo-config.js'
import { CliError } from './errors.js'
import { healthEndpoints } from './health.js'
import { cookieSecretsFromEnv } from './keys.js'
import { createCliLogger, DEFAULT_LOG_LEVEL } from './log.js'
import { openStorage } from './storage.js'
import { closingTelemetry, startTelemetry } from './telemetry.js'

/** Where the CLI writes; the process streams unless a caller captures them. */
export interface Output {
  stdout(text: string): void
  stderr(text: string): void
}

const processOutput: Output = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
}

/** How `serve` reports and reacts. */
export interface ServeOptions {
  /** Default: the process's stdout and stderr. Log lines go to `stdout`, as JSON unless it is the process's own and a terminal. */
  out?: Output
  /** Install SIGTERM/SIGINT handlers (`stopOnSignals`) before announcing that it listens. Default false. */
  handleSignals?: boolean
}

/** Seconds that in-flight requests get after SIGTERM/SIGINT before their connections are cut. */
export const SHUTDOWN_GRACE_SECONDS = 10

/**
 * Limits of the HTTP server `serve` runs, so that a flood of connections or
 * slow clients cannot grow memory without bound (issue 16): past
 * `maxConnections` a new connection is closed at once; a client gets
 * `headersTimeout` ms to send its headers and `requestTimeout` ms for the
 * whole request (408 past either); an idle keep-alive connection is closed
 * after `keepAliveTimeout` ms.
 */
export const SERVE_HTTP_LIMITS = { maxConnections: 4096, headersTimeout: 10_000, requestTimeout: 30_000, keepAliveTimeout: 5_000 } as const

/** A server that `serve` started. */
export interface RunningServer {
  /** `http://HOST:PORT` with the real port: the issuer unless the config sets one. */
  readonly url: string
  readonly server: AuthorizationServer
  readonly http: Server
  /**
   * Stops accepting, lets in-flight requests finish, then resolves. After
   * `SHUTDOWN_GRACE_SECONDS` the remaining connections are cut and it resolves
   * with `false`.
   */
  close(): Promise<boolean>
}

/**
 * `HOST` as it appears in a URL: IPv6 literals in brackets.
 *
 * @example
 * urlHost('::1') // '[::1]'
 */
export function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
}

function listen(http: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      const reasons: Record<string, string> = {
        EADDRINUSE: 'the address is already in use',
        EACCES: 'permission denied',
        EADDRNOTAVAIL: 'the address is not available on this machine',
        ENOTFOUND: 'unknown host',
      }
      reject(new CliError(`cannot listen on ${urlHost(host)}:${port}: ${reasons[error.code ?? ''] ?? error.code ?? error.message}`))
    }
    http.once('error', onError)
    http.listen(port, host.replace(/^\[(.*)\]$/, '$1'), () => {
      http.off('error', onError)
      resolve((http.address() as AddressInfo).port)
    })
  })
}

/**
 * Checks the config as the core will use it, before anything listens. Without
 * an `issuer` in the config, the one derived from `--host` is checked too.
 *
 * @throws CliError naming the file and field, or the host whose issuer is refused
 * @example
 * validate(loadServeConfig(args), args, { users: createUserSource(config) })
 */
export function validate(config: ServeConfig, args: ServeArgs, parts: ServerParts): AuthorizationServer {
  const derived = `http://${urlHost(args.host)}:${args.port}`
  try {
    return createServer(config, derived, parts)
  } catch (error) {
    const prefix = `${config.source}: issuer: `
    if (config.issuer === undefined && error instanceof CliError && error.message.startsWith(prefix)) {
      throw new CliError(
        `--host ${args.host}: the issuer would be ${derived}, which is refused (${error.message.slice(prefix.length)}); ` +
          'set --issuer (or GRANTKIT_ISSUER, or "issuer" in a config file) to the URL clients use',
      )
    }
    throw error
  }
}

/**
 * Runs `grantkit serve`: reads and validates the config (or takes the demo
 * one), listens, builds the authorization server with the issuer
 * `http://HOST:REALPORT` when the config has none, and prints
 * `listening on http://HOST:PORT`. Everything protocol-related is the core's.
 *
 * @throws CliError for a bad config, an unavailable adapter or storage, or a port that cannot be bound; nothing listens then
 * @example
 * const running = await serve({ host: '127.0.0.1', port: 0, adapter: 'node', storage: 'memory' }, { handleSignals: true })
 * await running.close()
 */
export async function serve(args: ServeArgs, options: ServeOptions = {}): Promise<RunningServer> {
  const out = options.out ?? processOutput
  const log = requestLogger(args, options, out)
  await checkAdapterPackages(args.adapter)
  const config = loadServeConfig(args)
  // StaticUserSource hashes every password with Argon2id: built once, for the
  // check before listening and for the server that listens.
  const users = createUserSource(config)
  // Measured from now on, so that the first requests are judged by a real window; stopped at close.
  const loop = eventLoopDelayMonitor()
  // A bad config is refused before any database is touched.
  try {
    validate(config, args, { users, eventLoopDelay: loop.delay })
  } catch (error) {
    loop.stop()
    throw error
  }
  // OTLP export when OTEL_* asks for it: started before the servers below are built, since they instrument only what is registered then.
  const telemetry = await startTelemetry(process.env, out)
  const opened = await closingTelemetry(telemetry, openStorage(args.storage, { sharedKeys: config.keys === undefined })).catch((error: unknown) => {
    loop.stop()
    throw error
  })
  if (config.keys !== undefined && args.storage !== 'memory' && !config.keys.some((k) => k.alg === 'RS256' || (k.alg === undefined && k.kty === 'RSA'))) {
    // OIDC Core §3.1.3.7: ID tokens default to RS256; a key generated per process would not verify at the others.
    out.stderr(`grantkit: warning: ${config.source}: keys: no RS256 key, so each process generates its own for ID tokens and the other processes cannot verify them; add an RS256 key to the key file\n`)
  }
  // Processes on one database must agree on cookie signatures (known-device and
  // device-page cookies): derived from the key-encryption key they already share.
  const cookieSecrets = args.storage === 'memory' ? undefined : cookieSecretsFromEnv(process.env)
  if (args.storage !== 'memory' && cookieSecrets === undefined && config.cookieSecrets === undefined) {
    out.stderr(`grantkit: warning: ${config.source}: no cookieSecrets and no GRANTKIT_KEY_ENCRYPTION_KEY, so each process signs cookies with its own secret; set one of them\n`)
  }
  const parts: ServerParts = {
    storage: opened.storage,
    users,
    eventLoopDelay: loop.delay,
    ...(opened.keys !== undefined && { keys: opened.keys }),
    ...(cookieSecrets !== undefined && { cookieSecrets }),
    ...(log !== undefined && { logger: log.logger }),
  }
  let validated: AuthorizationServer
  try {
    validated = validate(config, args, parts)
  } catch (error) {
    loop.stop()
    await opened.close()
    throw error
  }

  const http = createHttpServer({ headersTimeout: SERVE_HTTP_LIMITS.headersTimeout, requestTimeout: SERVE_HTTP_LIMITS.requestTimeout, keepAliveTimeout: SERVE_HTTP_LIMITS.keepAliveTimeout })
  http.maxConnections = SERVE_HTTP_LIMITS.maxConnections
  const port = await listen(http, args.host, args.port)
  const url = `http://${urlHost(args.host)}:${port}`
  let server: AuthorizationServer
  try {
    // The issuer can name the real port only now that the socket is bound.
    server = config.issuer === undefined ? createServer(config, url, parts) : validated
  } catch (error) {
    http.close()
    loop.stop()
    await opened.close()
    throw error
  }
  let demoText: string | undefined
  if (args.config === undefined) {
    try {
      // From the discovery document the server serves, so the examples cannot name what it does not offer.
      demoText = describeDemo(config, await readDemoMetadata(server, config.issuer ?? url), config.ttl?.authorizationCode ?? defaults.ttl.authorizationCode)
    } catch (error) {
      http.close()
      loop.stop()
      await opened.close()
      throw error
    }
  }
  if (log !== undefined) {
    // The request's line has the message at error level; where it came from is for whoever turns on debug.
    server.on('server.error', (event) => {
      if (event.error instanceof Error && event.error.stack !== undefined) log.logger.debug({ requestId: event.requestId, endpoint: event.endpoint, stack: event.error.stack }, 'internal error stack')
    })
  }
  // Once closing, every response ends its connection: a keep-alive client
  // would otherwise hold the process open until its idle timeout.
  let closing: Promise<boolean> | undefined
  const inFlight = new Set<ServerResponse>()
  http.on('request', (_req, res: ServerResponse) => {
    if (closing !== undefined) res.shouldKeepAlive = false
    inFlight.add(res)
    res.on('close', () => inFlight.delete(res))
  })
  const app = await listenerFor(args.adapter, server, server.maxBodyBytes)
  const health = healthEndpoints(server, () => closing !== undefined)
  http.on('request', (req, res) => void (health(req, res) || app(req, res)))

  const running: RunningServer = {
    url,
    server,
    http,
    close() {
      closing ??= new Promise((resolve) => {
        let forced = false
        const timer = setTimeout(() => {
          forced = true
          http.closeAllConnections()
        }, SHUTDOWN_GRACE_SECONDS * 1000)
        timer.unref()
        http.close(() => {
          clearTimeout(timer)
          // In-flight requests are done: now the database connections can go.
          loop.stop()
          void opened.close().then(
            () => resolve(!forced),
            () => resolve(!forced),
          )
        })
        http.closeIdleConnections()
        for (const res of inFlight) if (!res.headersSent) res.shouldKeepAlive = false
      })
      return closing
    },
  }
  // Before the announcement: whoever reads it may signal at once.
  if (options.handleSignals === true) stopOnSignals(running, out)
  if (demoText !== undefined) {
    out.stdout(demoText)
  } else {
    const users = config.users === undefined ? '' : `, ${config.users.length} user(s)`
    out.stdout(`grantkit: ${config.source}: ${config.clients.length} client(s)${users}, issuer ${server.issuer}\n`)
  }
  out.stdout(`grantkit: listening on ${url}\n`)
  // Requests serve made itself (the demo's discovery read) are not the log's.
  log?.open()
  return running
}

/** The library's logger for `--log-level`, writing nothing until `open()`; undefined for `silent`. */
function requestLogger(args: ServeArgs, options: ServeOptions, out: Output): { logger: Logger; open(): void } | undefined {
  const level = args.logLevel ?? DEFAULT_LOG_LEVEL
  if (level === 'silent') return undefined
  const readable = options.out === undefined && process.stdout.isTTY === true
  const pino = createCliLogger(level, (line) => out.stdout(line), readable)
  let listening = false
  const gated = (write: Logger['info']): Logger['info'] => (obj, msg) => {
    if (listening) write(obj, msg)
  }
  return {
    logger: { debug: gated(pino.debug.bind(pino)), info: gated(pino.info.bind(pino)), warn: gated(pino.warn.bind(pino)), error: gated(pino.error.bind(pino)) },
    open: () => void (listening = true),
  }
}

/**
 * On the first SIGTERM or SIGINT, closes gracefully and sets exit code 0 (1 if
 * connections had to be cut after the grace period); a second signal cuts
 * every connection at once.
 *
 * @example
 * stopOnSignals(await serve(args, { out }), out)
 */
export function stopOnSignals(running: RunningServer, out: Output = processOutput): void {
  let stopping = false
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      out.stderr(`grantkit: ${signal} again: closing every connection now\n`)
      process.exitCode = 1
      running.http.closeAllConnections()
      return
    }
    stopping = true
    out.stderr(`grantkit: ${signal}: no longer accepting connections; finishing in-flight requests\n`)
    void running.close().then((clean) => {
      if (!clean) out.stderr(`grantkit: requests still open after ${SHUTDOWN_GRACE_SECONDS}s were cut\n`)
      process.exitCode ??= clean ? 0 : 1
    })
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
}
