import { closestName } from '../config/did-you-mean.js'
import { ENV, envValue, PLATFORM_PORT_ENV, type Env } from './env.js'
import { CliError, EXIT_USAGE } from './errors.js'
import { parseClients, type ClientsCommand } from './clients.js'
import { parseGrants, type GrantsCommand } from './grants.js'

/** Default address `grantkit serve` binds to: loopback only, so a demo is never exposed by accident. */
export const DEFAULT_HOST = '127.0.0.1'

/** Default port of `grantkit serve`. */
export const DEFAULT_PORT = 4000

/** HTTP adapters the contract names. express and hono need those packages installed. */
export const ADAPTERS = ['node', 'express', 'hono'] as const

/** An HTTP adapter name accepted by `--adapter`. */
export type AdapterName = (typeof ADAPTERS)[number]

/** Log levels of `--log-level` and `GRANTKIT_LOG_LEVEL`, pino's names; `silent` logs nothing. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const

/** A level accepted by `--log-level`. */
export type LogLevel = (typeof LOG_LEVELS)[number]

/** Commands with a help page of their own: `grantkit help TOPIC` or `grantkit TOPIC --help`. */
export const HELP_TOPICS = ['serve', 'migrate', 'cleanup', 'keys', 'clients', 'grants'] as const

/** A command `grantkit help` explains. */
export type HelpTopic = (typeof HELP_TOPICS)[number]

/** What `grantkit serve` was asked to do, after parsing the command line and the environment. */
export interface ServeArgs {
  /** Path of the JSON config file; absent means the demo configuration. */
  config?: string
  /** The issuer, over the config file's `issuer`; absent: the file's, else `http://HOST:PORT`. */
  issuer?: string
  /** Address to bind. Default `127.0.0.1`. */
  host: string
  /** TCP port; 0 picks a free one. Default 4000. */
  port: number
  /** Default `node`. */
  adapter: AdapterName
  /** `memory` (default), `postgres://…` or `redis://…`. */
  storage: string
  /** Absent: the logger's own default. */
  logLevel?: LogLevel
  /** Where each setting came from, for messages; absent settings are defaults. */
  sources?: SettingSources
}

/** A setting of `grantkit serve` that a flag or a variable can give. */
export type ServeSetting = 'config' | 'issuer' | 'host' | 'port' | 'adapter' | 'storage' | 'logLevel'

/** Where each setting that is not a default came from: the flag (`--port`) or the variable (`GRANTKIT_PORT`). */
export type SettingSources = Partial<Record<ServeSetting, string>>

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

/** `grantkit serve`: its settings, where they came from, and whether only to print them. */
export type ServeCommand = { command: 'serve'; sources: SettingSources; printConfig?: true } & ServeArgs

/** A parsed command line. */
export type Command =
  /** The overview, or one command's help page. */
  | { command: 'help'; topic?: HelpTopic }
  | { command: 'version' }
  | ServeCommand
  | ({ command: 'migrate' } & MigrateArgs)
  /** `grantkit cleanup --storage URL`: the same one flag as migrate. */
  | ({ command: 'cleanup' } & MigrateArgs)
  | ({ command: 'keys-seal' } & KeysSealArgs)
  | ClientsCommand
  | GrantsCommand

function usageError(message: string): CliError {
  return new CliError(message, EXIT_USAGE)
}

/**
 * One setting: its flag, its variables in order of precedence, and how a
 * value is checked. `name` in messages is the flag or the variable the value
 * came from, so a bad variable is named as precisely as a bad flag.
 */
interface Setting<T> {
  readonly flag: string
  readonly env: readonly string[]
  parse(value: string, name: string): T
}

const text = (value: string): string => value

function parsePort(value: string, name: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65_535) throw usageError(`${name}: "${value}" is not a port number (0 to 65535)`)
  return Number(value)
}

function parseAdapter(value: string, name: string): AdapterName {
  if (!(ADAPTERS as readonly string[]).includes(value)) throw usageError(`${name}: "${value}" is not one of ${ADAPTERS.join(', ')}`)
  return value as AdapterName
}

function parseLogLevel(value: string, name: string): LogLevel {
  // Environments often spell levels in capitals (LOG_LEVEL=INFO); pino's names are lower case.
  const level = value.toLowerCase()
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw usageError(`${name}: "${value}" is not one of ${LOG_LEVELS.join(', ')}`)
  return level as LogLevel
}

function parseIssuer(value: string, name: string): string {
  // The core checks the rest (https, loopback, trailing slash) with the config's
  // allowHttpIssuer, and names this variable then; here only what no config can fix.
  let url: URL | undefined
  try {
    url = new URL(value)
  } catch {
    url = undefined
  }
  if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:')) throw usageError(`${name}: "${value}" is not an http(s) URL`)
  return value
}

const STORAGE_KINDS = /^(memory$|postgres(ql)?:\/\/|rediss?(\+cluster)?:\/\/)/i

function parseStorage(value: string, name: string): string {
  // SECURITY: never echo the value: a storage URL may hold a password.
  if (!STORAGE_KINDS.test(value)) throw usageError(`${name}: must be "memory", "postgres://…" or "redis://…"`)
  return value
}

const SERVE_SETTINGS = {
  config: { flag: '--config', env: [ENV.config], parse: text },
  issuer: { flag: '--issuer', env: [ENV.issuer], parse: parseIssuer },
  host: { flag: '--host', env: [ENV.host], parse: text },
  port: { flag: '--port', env: [ENV.port, PLATFORM_PORT_ENV], parse: parsePort },
  adapter: { flag: '--adapter', env: [ENV.adapter], parse: parseAdapter },
  storage: { flag: '--storage', env: [ENV.storage], parse: parseStorage },
  logLevel: { flag: '--log-level', env: [ENV.logLevel], parse: parseLogLevel },
} as const satisfies { [K in ServeSetting]-?: Setting<NonNullable<ServeArgs[K]>> }

const PRINT_CONFIG = '--print-config'
const COMMANDS = ['serve', 'migrate', 'cleanup', 'keys', 'clients', 'grants', 'help'] as const

function unknownCommand(command: string): CliError {
  const guess = closestName(command, COMMANDS)
  const hint = guess !== undefined ? `did you mean "${guess}"?` : 'the commands are "serve", "migrate", "cleanup", "keys seal", "clients", "grants" and "help"'
  return usageError(`unknown command "${command}"; ${hint}`)
}

function helpTopic(topic: string): HelpTopic {
  if ((HELP_TOPICS as readonly string[]).includes(topic)) return topic as HelpTopic
  throw unknownCommand(topic)
}

/** Reads `--flag value` and `--flag=value` pairs of the flags `known`, each at most once, and the boolean flags `switches`. */
function readFlags(rest: readonly string[], known: readonly string[], switches: readonly string[] = []): Map<string, string> {
  const values = new Map<string, string>()
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!
    const eq = arg.indexOf('=')
    const name = eq === -1 ? arg : arg.slice(0, eq)
    if (switches.includes(name)) {
      if (eq !== -1) throw usageError(`${name}: takes no value`)
      if (values.has(name)) throw usageError(`${name}: given more than once`)
      values.set(name, '')
      continue
    }
    if (!known.includes(name)) {
      if (!arg.startsWith('-')) throw usageError(`unexpected argument "${arg}"`)
      const guess = closestName(name.replace(/^-+/, ''), [...known, ...switches].map((f) => f.slice(2)))
      throw usageError(`unknown option "${name}"${guess === undefined ? '' : `; did you mean "--${guess}"?`}`)
    }
    if (values.has(name)) throw usageError(`${name}: given more than once`)
    let value: string | undefined
    if (eq !== -1) value = arg.slice(eq + 1)
    else {
      value = rest[i + 1]
      // A flag directly after a flag means the value was forgotten, not that it starts with "--".
      if (value === undefined || value.startsWith('--')) throw usageError(`${name}: needs a value`)
      i++
    }
    if (value === '') throw usageError(`${name}: needs a value`)
    values.set(name, value)
  }
  return values
}

/** A setting's value and where it came from: the flag, else the first variable set, else none. */
function resolveSetting<T>(setting: Setting<T>, flags: Map<string, string>, env: Env): { value: T; from: string } | undefined {
  const given = flags.get(setting.flag)
  if (given !== undefined) return { value: setting.parse(given, setting.flag), from: setting.flag }
  for (const name of setting.env) {
    const value = envValue(env, name)
    if (value !== undefined) return { value: setting.parse(value, name), from: name }
  }
  return undefined
}

/** `--storage` of the one-off storage commands, or `GRANTKIT_STORAGE`; required. */
function storageOf(label: string, flags: Map<string, string>, env: Env): string {
  const storage = resolveSetting(SERVE_SETTINGS.storage, flags, env)
  if (storage === undefined) throw usageError(`${label}: --storage is required (postgres://... or redis://...; or set ${ENV.storage})`)
  return storage.value
}

function parseServe(rest: readonly string[], env: Env): ServeCommand {
  const settings = Object.values(SERVE_SETTINGS) as Array<Setting<unknown>>
  const flags = readFlags(
    rest,
    settings.map((s) => s.flag),
    [PRINT_CONFIG],
  )
  const sources: SettingSources = {}
  const resolved: Partial<Record<ServeSetting, unknown>> = {}
  for (const [name, setting] of Object.entries(SERVE_SETTINGS) as Array<[ServeSetting, Setting<unknown>]>) {
    const found = resolveSetting(setting, flags, env)
    if (found === undefined) continue
    resolved[name] = found.value
    sources[name] = found.from
  }
  const { config, issuer, logLevel } = resolved as Partial<ServeArgs>
  return {
    command: 'serve',
    ...(config !== undefined && { config }),
    ...(issuer !== undefined && { issuer }),
    host: (resolved.host as string | undefined) ?? DEFAULT_HOST,
    port: (resolved.port as number | undefined) ?? DEFAULT_PORT,
    adapter: (resolved.adapter as AdapterName | undefined) ?? 'node',
    storage: (resolved.storage as string | undefined) ?? 'memory',
    ...(logLevel !== undefined && { logLevel }),
    sources,
    ...(flags.has(PRINT_CONFIG) && { printConfig: true as const }),
  }
}

/**
 * Parses the arguments after `node grantkit.js`, with the environment for the
 * settings a flag could have given: a flag wins over its variable
 * (`GRANTKIT_PORT`), and a variable over the config file (which only `serve`
 * reads, later). Accepts `--flag value` and `--flag=value`; each flag at most
 * once. Pure: the caller passes `process.env`.
 *
 * @param env the environment; blank variables count as unset
 * @throws CliError with exit code 2 for an unknown command, flag or value, naming the flag or variable at fault
 * @example
 * parseArgs(['serve', '--port', '0'], { GRANTKIT_HOST: '0.0.0.0' }) // { command: 'serve', host: '0.0.0.0', port: 0, ... }
 */
export function parseArgs(argv: readonly string[], env: Env = {}): Command {
  const [first, ...after] = argv
  if (first === undefined) throw usageError('no command given (did you mean "grantkit serve"?)')
  if (first === '--version' || first === '-v') {
    if (after.length > 0) throw usageError(`${first}: takes nothing after it`)
    return { command: 'version' }
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    const [topic, ...extra] = after
    if (extra.length > 0) throw usageError(`unexpected argument "${extra[0]}"`)
    return topic === undefined || topic.startsWith('-') ? { command: 'help' } : { command: 'help', topic: helpTopic(topic) }
  }
  let command: string = first
  let rest = after
  if (command === 'keys') {
    const [sub, ...tail] = rest
    if (sub === '--help' || sub === '-h') return { command: 'help', topic: 'keys' }
    if (sub !== 'seal') throw usageError(sub === undefined ? 'keys: which? (the only one is "grantkit keys seal --storage URL")' : `unknown command "keys ${sub}" (the only one is "keys seal")`)
    command = 'keys-seal'
    rest = tail
  }
  if (command === 'clients' || command === 'grants') {
    if (rest.includes('--help') || rest.includes('-h')) return { command: 'help', topic: command }
    return command === 'clients' ? parseClients(rest, env) : parseGrants(rest, env)
  }
  if (command !== 'serve' && command !== 'migrate' && command !== 'cleanup' && command !== 'keys-seal') throw unknownCommand(command)
  if (rest.includes('--help') || rest.includes('-h')) return { command: 'help', topic: command === 'keys-seal' ? 'keys' : command }

  if (command === 'serve') return parseServe(rest, env)
  const flags = readFlags(rest, ['--storage'])
  if (command === 'keys-seal') return { command, storage: storageOf('keys seal', flags, env) }
  return { command, storage: storageOf(command, flags, env) }
}
