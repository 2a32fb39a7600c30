import { CliError, EXIT_USAGE } from './errors.js'

/** Default address `grantkit serve` binds to: loopback only, so a demo is never exposed by accident. */
export const DEFAULT_HOST = '127.0.0.1'

/** Default port of `grantkit serve`. */
export const DEFAULT_PORT = 4000

/** HTTP adapters the contract names. express and hono need those packages installed. */
export const ADAPTERS = ['node', 'express', 'hono'] as const

/** An HTTP adapter name accepted by `--adapter`. */
export type AdapterName = (typeof ADAPTERS)[number]

/** What `grantkit serve` was asked to do, after parsing the command line. */
export interface ServeArgs {
  /** Path of the JSON config file; absent means the demo configuration. */
  config?: string
  /** Address to bind. Default `127.0.0.1`. */
  host: string
  /** TCP port; 0 picks a free one. Default 4000. */
  port: number
  /** Default `node`. */
  adapter: AdapterName
  /** `memory` (default), `postgres://…` or `redis://…`, checked when serving. */
  storage: string
  /** `--log-level`: debug, info, warn, error or silent, checked when serving (it wins over GRANTKIT_LOG_LEVEL). */
  logLevel?: string
}

/** What `grantkit migrate` was asked to do. */
export interface MigrateArgs {
  /** `postgres://…` or `redis://…`: the storage whose schema or key layout to bring up to date. */
  storage: string
}

/** What `grantkit keys seal` was asked to do. */
export interface KeysSealArgs {
  /** `postgres://…` or `redis://…`: the storage whose signing keys to seal. */
  storage: string
}

/** A parsed command line. */
export type Command =
  | { command: 'help' }
  | ({ command: 'serve' } & ServeArgs)
  | ({ command: 'migrate' } & MigrateArgs)
  /** `grantkit cleanup --storage URL`: the same one flag as migrate. */
  | ({ command: 'cleanup' } & MigrateArgs)
  | ({ command: 'keys-seal' } & KeysSealArgs)

/** The text of `grantkit --help`. */
export const USAGE = `Usage: grantkit serve [options]
       grantkit migrate --storage URL
       grantkit cleanup --storage URL
       grantkit keys seal --storage URL

Runs grantkit as a standalone OAuth 2.0 authorization server.

Options:
  --config FILE       JSON config file (issuer, clients, users, trust, ttl,
                      keys, ...).
                      Without it, a demo configuration is served and its
                      credentials are printed.
  --host HOST         Address to listen on. Default ${DEFAULT_HOST}.
  --port PORT         Port to listen on; 0 picks a free port. Default ${DEFAULT_PORT}.
  --adapter NAME      HTTP adapter: node (default), express or hono (these
                      need the express, or hono and @hono/node-server, packages).
  --storage URL       memory (default), postgres://... (tables created or
                      upgraded at start) or redis://...; processes sharing one database
                      act as one server and share the signing keys, sealed
                      with the key-encryption key of GRANTKIT_KEY_ENCRYPTION_KEY.
  --log-level LEVEL   debug, info (default), warn, error or silent: one line per
                      request on stdout, JSON (readable at a terminal). Also
                      GRANTKIT_LOG_LEVEL. GET /healthz and /readyz answer health.
  -h, --help          Show this help.

Without "issuer" in the config, the issuer is http://HOST:PORT with the real port.
Once it accepts connections, grantkit prints "listening on http://HOST:PORT".
SIGTERM or SIGINT stops accepting, finishes in-flight requests and exits 0.

grantkit migrate --storage postgres://... applies the schema migrations the
database lacks (one at a time, safe while other processes start) and prints
each; with redis://... it records the key layout version.

grantkit cleanup --storage postgres://... deletes expired rows once, in small
batches, and prints how many (grantkit serve does this every 10 minutes by
itself; use it from cron when embedding). Redis needs none: keys expire.

Environment, with --storage postgres://... or redis://...:
  GRANTKIT_KEY_ENCRYPTION_KEY       Required: 32 random bytes in base64url that seal
                                    the private signing keys kept in the database
                                    (AES-256-GCM); the same value in every process.
                                    Make one with: node -e "console.log(require('crypto')
                                    .randomBytes(32).toString('base64url'))"
  GRANTKIT_KEY_ENCRYPTION_KEY_FILE  Instead: a file holding that value.
  GRANTKIT_PREVIOUS_KEY_ENCRYPTION_KEYS
                                    Comma-separated older values: they still open the
                                    keys they sealed (rotation of the key-encryption key).

grantkit keys seal --storage URL seals, once, the signing keys a deployment of
grantkit 0.1 stored in clear, and re-seals keys sealed with a previous
key-encryption key with the current one. Running it again changes nothing.

Exit codes: 0 success, 1 bad config or runtime failure, 2 bad command line.
`

const VALUE_FLAGS = ['--config', '--host', '--port', '--adapter', '--storage', '--log-level'] as const
type ValueFlag = (typeof VALUE_FLAGS)[number]

function usageError(message: string): CliError {
  return new CliError(message, EXIT_USAGE)
}

function parsePort(text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65_535) {
    throw usageError(`--port: "${text}" is not a port number (0 to 65535)`)
  }
  return Number(text)
}

/**
 * Parses the arguments after `node grantkit.js`. Accepts `--flag value` and
 * `--flag=value`; each flag at most once.
 *
 * @throws CliError with exit code 2 for an unknown command, flag or value
 * @example
 * parseArgs(['serve', '--port', '0']) // { command: 'serve', port: 0, host: '127.0.0.1', ... }
 */
export function parseArgs(argv: readonly string[]): Command {
  if (argv.includes('--help') || argv.includes('-h') || argv[0] === 'help') return { command: 'help' }
  let [command, ...rest] = argv
  if (command === undefined) throw usageError('no command given (did you mean "grantkit serve"?)')
  if (command === 'keys') {
    const [sub, ...after] = rest
    if (sub !== 'seal') throw usageError(sub === undefined ? 'keys: which? (the only one is "grantkit keys seal --storage URL")' : `unknown command "keys ${sub}" (the only one is "keys seal")`)
    command = 'keys-seal'
    rest = after
  }
  if (command !== 'serve' && command !== 'migrate' && command !== 'cleanup' && command !== 'keys-seal') {
    throw usageError(`unknown command "${command}" (the commands are "serve", "migrate", "cleanup" and "keys seal")`)
  }

  const values = new Map<ValueFlag, string>()
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!
    const eq = arg.indexOf('=')
    const name = eq === -1 ? arg : arg.slice(0, eq)
    if (!(VALUE_FLAGS as readonly string[]).includes(name) || (command !== 'serve' && name !== '--storage')) {
      throw usageError(arg.startsWith('-') ? `unknown option "${name}"` : `unexpected argument "${arg}"`)
    }
    const flag = name as ValueFlag
    if (values.has(flag)) throw usageError(`${flag}: given more than once`)
    let value: string | undefined
    if (eq !== -1) value = arg.slice(eq + 1)
    else {
      value = rest[i + 1]
      // A flag directly after a flag means the value was forgotten, not that it starts with "--".
      if (value === undefined || value.startsWith('--')) throw usageError(`${flag}: needs a value`)
      i++
    }
    if (value === '') throw usageError(`${flag}: needs a value`)
    values.set(flag, value)
  }

  if (command === 'migrate' || command === 'cleanup') {
    const storage = values.get('--storage')
    if (storage === undefined) throw usageError(`${command}: --storage is required (postgres://... or redis://...)`)
    return { command, storage }
  }
  if (command === 'keys-seal') {
    const storage = values.get('--storage')
    if (storage === undefined) throw usageError('keys seal: --storage is required (postgres://... or redis://...)')
    return { command: 'keys-seal', storage }
  }

  const adapter = values.get('--adapter') ?? 'node'
  if (!(ADAPTERS as readonly string[]).includes(adapter)) {
    throw usageError(`--adapter: "${adapter}" is not one of ${ADAPTERS.join(', ')}`)
  }
  const config = values.get('--config')
  const port = values.get('--port')
  const logLevel = values.get('--log-level')
  return {
    ...(logLevel !== undefined && { logLevel }),
    command: 'serve',
    ...(config !== undefined && { config }),
    host: values.get('--host') ?? DEFAULT_HOST,
    port: port === undefined ? DEFAULT_PORT : parsePort(port),
    adapter: adapter as AdapterName,
    storage: values.get('--storage') ?? 'memory',
  }
}
