import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import {
  createAuthorizationServer,
  StaticUserSource,
  type AuthorizationServer,
  type AuthorizationServerOptions,
  type ClientMetadata,
  type KeyStore,
  type Logger,
  type PrivateJwk,
  type StaticUser,
  type Storage,
  type TrustOptions,
  type UserSource,
} from '../index.js'
import { unknownName } from '../config/did-you-mean.js'
import { optionSchema, type OptionEntry, type OptionName, type OptionSchema } from '../config/schema.js'
import type { ServeArgs } from './args.js'
import { demoConfig } from './demo-config.js'
import { CliError } from './errors.js'

/** Library options that a config file may set, under the same names: every JSON-configurable entry of the option schema. */
export type FileOptionName = { [K in OptionName]: OptionSchema[K] extends { json: true } ? K : never }[OptionName]

/**
 * A `grantkit serve` config file after its shape has been checked: the
 * library's options as JSON, under the same names, plus the CLI's own fields
 * (`FILE_ONLY_FIELDS`). Content is checked by `createAuthorizationServer`,
 * which names the field in its TypeErrors. Durations are seconds.
 */
export type ServeConfig = Omit<Pick<AuthorizationServerOptions, FileOptionName>, 'issuer' | 'clients' | 'users' | 'trust'> & {
  /** Where the config came from, for messages: the file path as given, or `demo config`. */
  source: string
  /** Absent: the issuer is `http://HOST:PORT` of the listening socket. */
  issuer?: string
  /** Set when `issuer` came from the command line or the environment (`--issuer`, `GRANTKIT_ISSUER`) rather than the file: messages name it. */
  issuerFrom?: string
  /** RFC 7591 client metadata, validated by the core. */
  clients: ClientMetadata[]
  /** People who sign in, validated (and their passwords hashed) by the core's `StaticUserSource`. */
  users?: StaticUser[]
  /** Issuers whose JWT and SAML assertions are accepted as grants, validated by the core. */
  trust?: TrustOptions
  /** Seconds a device client waits between polls (RFC 8628 §3.2 `interval`); the core's `deviceFlow.interval`. */
  devicePollInterval?: number
  /** Private signing JWKs, from the config or from the key file it names. Absent: a key is generated at start. */
  keys?: PrivateJwk[]
}

/** What `createServer` takes from the command line rather than from the config file. */
export interface ServerParts {
  /** Default: the core's in-memory storage. */
  storage?: Storage
  /**
   * The user source built once by `createUserSource`. Absent: the core builds
   * one from `config.users`, hashing every password again.
   */
  users?: UserSource
  /** Signing keys shared through the storage (several processes, one server). Overrides `keys` of the config. */
  keys?: KeyStore
  /** Cookie secrets shared by the processes of one server; `cookieSecrets` of the config wins. */
  cookieSecrets?: string[]
  /** Where the request log goes (`--log-level`); absent: nothing is logged. */
  logger?: Logger
  /** The event-loop delay in seconds (`eventLoopDelayMonitor`), the source of a file's `overload.maxEventLoopDelay`. */
  eventLoopDelay?: () => number
}

/**
 * The load-shedding bound `grantkit serve` sets unless the config file's
 * `overload` says otherwise (see docs/operations.md#overload): 4096 requests
 * in flight per process, the same as its HTTP server's connection cap
 * (`SERVE_HTTP_LIMITS.maxConnections`), so that under a flood of clients
 * serve queues what its connections carry and closes connections past the
 * cap, which costs no request parsing. A lower bound that the load reaches
 * costs more than it saves: the event loop spends its turns reading, parsing
 * and refusing new requests while the admitted ones wait for theirs. At twice
 * the load one process sustains over 2048 connections, a bound of 1024 kept
 * 0.21–0.31 of the sustained rate and 4096 keeps 0.52–0.73; over 6000
 * connections, past the cap, 0.47–0.55 (bench/RESULTS.md, the overload section). No
 * event-loop bound by default: measured on a machine whose CPUs other
 * processes also use (bench/RESULTS.md, issue 16), the loop lags for reasons
 * refusing requests does not remove, and a delay bound then refused nearly
 * every request. A file that sets `overload.maxEventLoopDelay` gets serve's
 * monitor as the delay source.
 */
export const SERVE_OVERLOAD = { maxRequestsInFlight: 4096 } as const

/** The file's `overload` over serve's bounds; anything but an object goes to the core as it is, to be refused there. */
function serveOverload(given: unknown, eventLoopDelay: (() => number) | undefined): unknown {
  if (given !== undefined && (typeof given !== 'object' || given === null || Array.isArray(given))) return given
  return {
    maxRequestsInFlight: SERVE_OVERLOAD.maxRequestsInFlight,
    ...(eventLoopDelay !== undefined && { eventLoopDelay }),
    ...(given as object | undefined),
  }
}

/** A field that only a config file has, and the library option it becomes. */
export interface FileOnlyField {
  /** One sentence for the reference (markdown). */
  readonly doc: string
  /** The option of `createAuthorizationServer` it sets. */
  readonly option: string
}

/**
 * The CLI's own fields: everything else in a config file is a library option
 * under its own name. Both are kept from 0.1 config files.
 */
export const FILE_ONLY_FIELDS = {
  devicePollInterval: {
    doc: 'Seconds a device waits between polls, a positive whole number; the same as `deviceFlow.interval`, of which a file gives at most one.',
    option: 'deviceFlow.interval',
  },
  keys: {
    doc: 'Private signing keys: a JWK Set `{"keys": [...]}`, or the path of a file holding one (relative to the config file). The last key signs access tokens; without an RS256 key, one is generated for ID tokens. Absent: keys are generated at start, or with shared storage kept in the database, sealed with GRANTKIT_KEY_ENCRYPTION_KEY.',
    option: 'keys.keys',
  },
} as const satisfies Record<string, FileOnlyField>

const FILE_OPTIONS = (Object.keys(optionSchema) as OptionName[]).filter((name) => optionSchema[name].json) as FileOptionName[]

/** Top-level fields of a config file, in the order of the reference; anything else is an error. */
export const CONFIG_FIELDS: readonly string[] = [...FILE_OPTIONS, ...Object.keys(FILE_ONLY_FIELDS)]

// Shape checks throw TypeError("path: what"), the convention of the core, so
// that `withSource` reports both kinds of failure the same way.
function fail(path: string, message: string): never {
  throw new TypeError(`${path}: ${message}`)
}

type JsonObject = Record<string, unknown>

/** The longest life `grantkit serve` gives a PAR request_uri, as its contract promises (the library allows up to 600). */
const SERVE_MAX_REQUEST_URI_TTL = 60

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value)

function object(value: unknown, path: string): JsonObject {
  if (!isObject(value)) fail(path, 'must be an object')
  return value
}

function array(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) fail(path, 'must be an array')
  return value
}

function nonEmptyString(value: unknown, path: string): string {
  if (typeof value !== 'string' || value === '') fail(path, value === undefined ? 'is required (a non-empty string)' : 'must be a non-empty string')
  return value
}

function readKeys(value: unknown, baseDir: string): PrivateJwk[] {
  let set: unknown = value
  if (typeof value === 'string') {
    // A key file lets several processes share one signing key without copying it into every config.
    const text = readText(resolve(baseDir, value), `keys: cannot read "${value}"`)
    try {
      set = JSON.parse(stripBom(text))
    } catch (error) {
      fail('keys', `"${value}" is not valid JSON (${describeJsonError(error, text)})`)
    }
  } else if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail('keys', 'must be a JWK Set {"keys": [private JWKs]} or the path of a file holding one')
  }
  const keys = array(object(set, 'keys').keys, 'keys.keys')
  // The core imports each key and names what is wrong with it.
  return keys as PrivateJwk[]
}

/** Refuses a name that is neither a library option a file may set nor one of the CLI's own. */
function checkFieldNames(top: JsonObject): void {
  for (const name of Object.keys(top)) {
    if (CONFIG_FIELDS.includes(name)) continue
    if (Object.hasOwn(optionSchema, name)) {
      fail(name, `is an option that only code can set (${optionSchema[name as OptionName].type}), not a config file`)
    }
    throw unknownName(name, '', CONFIG_FIELDS, 'field')
  }
}

/**
 * Checks the shape of a parsed config file and returns it typed: the names
 * of every field, nested ones included (`ttl.accessToken`,
 * `trust.jwtIssuers[0].subjects`), with the closest known name for a
 * misspelt one. Content the core understands (client metadata, users, trust,
 * lifetimes, scopes, keys) is checked later, by `createUserSource` and
 * `createServer`, with the core's own rules.
 *
 * @param data the parsed JSON
 * @param source how messages name the file
 * @param baseDir directory that a relative key file path is resolved against
 * @throws CliError `source: field.path: what is wrong`
 * @example
 * const config = parseConfig({ clients: [] }, 'grantkit.json', process.cwd())
 */
export function parseConfig(data: unknown, source: string, baseDir: string): ServeConfig {
  return withSource(source, () => {
    if (!isObject(data)) fail('(top level)', `must be a JSON object with the fields ${CONFIG_FIELDS.join(', ')}`)
    const top = data
    checkFieldNames(top)
    if (top.clients === undefined) fail('clients', 'is required: an array of RFC 7591 client metadata')
    array(top.clients, 'clients')
    if (top.issuer !== undefined) nonEmptyString(top.issuer, 'issuer')
    for (const name of FILE_OPTIONS) {
      if (top[name] !== undefined) (optionSchema[name] as OptionEntry<unknown>).shape?.(top[name], name, 'field')
    }
    if (top.devicePollInterval !== undefined) {
      // Checked here: the core would name its own option, deviceFlow.interval, which the file does not have.
      const v = top.devicePollInterval
      if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) fail('devicePollInterval', 'must be a positive whole number of seconds')
      if (isObject(top.deviceFlow) && top.deviceFlow.interval !== undefined) fail('devicePollInterval', 'give it or deviceFlow.interval, not both')
    }
    // The serve contract ("Newer standards"): a pushed request's request_uri lives at most 60 seconds.
    const ttl = top.ttl
    if (isObject(ttl) && typeof ttl.pushedAuthorizationRequest === 'number' && ttl.pushedAuthorizationRequest > SERVE_MAX_REQUEST_URI_TTL) {
      fail('ttl.pushedAuthorizationRequest', `must be at most ${SERVE_MAX_REQUEST_URI_TTL} seconds in grantkit serve`)
    }
    const { keys, ...rest } = top
    const config = { ...rest, source } as ServeConfig
    if (keys !== undefined) config.keys = readKeys(keys, baseDir)
    return config
  })
}

/**
 * Reads and shape-checks a config file (JSON). Relative key file paths are
 * resolved against the config file's directory.
 *
 * @throws CliError naming the file: unreadable, invalid JSON (with line and column), or a bad field
 * @example
 * const config = loadConfigFile('grantkit.json')
 */
export function loadConfigFile(file: string): ServeConfig {
  const text = withSource(file, () => readText(file, 'cannot read the config file'))
  let data: unknown
  try {
    data = JSON.parse(stripBom(text))
  } catch (error) {
    throw new CliError(`${file}: invalid JSON: ${describeJsonError(error, text)}`)
  }
  return parseConfig(data, file, dirname(resolve(file)))
}

/**
 * Builds the user source of a config: the core's `StaticUserSource`, which
 * checks every entry and hashes each password with Argon2id at the config's
 * `passwordHashing` cost (tens of milliseconds each). Build it once and give
 * it to every `createServer` call.
 *
 * @returns undefined when the config has no `users`
 * @throws CliError `source: users[i].field: what is wrong`
 * @example
 * const users = createUserSource(config)
 * const server = createServer(config, 'http://127.0.0.1:4000', { users })
 */
export function createUserSource(config: ServeConfig): UserSource | undefined {
  if (config.users === undefined) return undefined
  const users = config.users
  const hashing = config.passwordHashing ?? {}
  return withSource(config.source, () => {
    // The cost as the core checks it (bounds, OWASP's minimum), before any password is hashed with it.
    const { memoryCost, timeCost, parallelism, allowWeak } = optionSchema.passwordHashing.check(hashing, 'passwordHashing', { input: config })
    return new StaticUserSource(users, { path: 'users', cost: { memoryCost, timeCost, parallelism }, allowWeak })
  })
}

/**
 * The options of `createAuthorizationServer` for a config: its library
 * options as they are, its own fields turned into the options they stand for,
 * and what does not come from the file: the issuer (when the config has none),
 * the storage and the user source it built once.
 *
 * @example
 * const options = toServerOptions(config, 'http://127.0.0.1:4000', { storage: createMemoryStorage() })
 */
export function toServerOptions(config: ServeConfig, issuer: string, parts: ServerParts = {}): AuthorizationServerOptions {
  const { source: _source, issuerFrom: _issuerFrom, devicePollInterval, keys, users: fileUsers, ...options } = config
  const users = parts.users ?? fileUsers
  return {
    // Every library option of the file goes through as it is.
    ...options,
    issuer: config.issuer ?? issuer,
    ...(devicePollInterval !== undefined && { deviceFlow: { ...config.deviceFlow, interval: devicePollInterval } }),
    ...(parts.storage !== undefined && { storage: parts.storage }),
    ...(users !== undefined && { users }),
    ...(options.cookieSecrets === undefined && parts.cookieSecrets !== undefined && { cookieSecrets: parts.cookieSecrets }),
    ...(parts.keys !== undefined ? { keys: parts.keys } : keys !== undefined ? { keys: { keys } } : {}),
    ...(parts.logger !== undefined && { logger: parts.logger }),
    overload: serveOverload(config.overload, parts.eventLoopDelay) as AuthorizationServerOptions['overload'],
  }
}

/**
 * Builds the authorization server for a config, with the core doing all content
 * validation. Its TypeErrors already name the field; this adds the file name.
 *
 * @param issuer used when the config has no `issuer`
 * @throws CliError `source: field.path: what is wrong`
 * @example
 * const config = loadConfigFile('grantkit.json')
 * const server = createServer(config, 'http://127.0.0.1:4000', { users: createUserSource(config) })
 */
export function createServer(config: ServeConfig, issuer: string, parts: ServerParts = {}): AuthorizationServer {
  try {
    return withSource(config.source, () => createAuthorizationServer(toServerOptions(config, issuer, parts)))
  } catch (error) {
    // The file is not at fault for an issuer it did not give: name where it came from.
    const prefix = `${config.source}: issuer: `
    if (config.issuerFrom !== undefined && error instanceof CliError && error.message.startsWith(prefix)) {
      throw new CliError(`${config.issuerFrom}: ${error.message.slice(prefix.length)}`)
    }
    throw error
  }
}

/**
 * The configuration `grantkit serve` runs: the config file (or the demo
 * configuration), with the issuer of `--issuer` or `GRANTKIT_ISSUER` over the
 * file's (flags and the environment win over the file).
 *
 * @throws CliError naming the file, as `loadConfigFile`
 * @example
 * const config = loadServeConfig({ config: 'grantkit.json', issuer: 'https://auth.example.com', sources: { issuer: 'GRANTKIT_ISSUER' } })
 */
export function loadServeConfig(args: Pick<ServeArgs, 'config' | 'issuer' | 'sources'>): ServeConfig {
  const config = args.config === undefined ? demoConfig : loadConfigFile(args.config)
  if (args.issuer === undefined) return config
  return { ...config, issuer: args.issuer, issuerFrom: args.sources?.issuer ?? '--issuer' }
}

function withSource<T>(source: string, fn: () => T): T {
  try {
    return fn()
  } catch (error) {
    if (error instanceof TypeError) throw new CliError(`${source}: ${error.message}`)
    throw error
  }
}

const READ_ERRORS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a part of the path is not a directory',
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'EIO'
    throw new TypeError(`${what}: ${READ_ERRORS[code] ?? 'read failed'} (${code})`)
  }
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
}

/**
 * What is wrong with a JSON text, with line and column when they can be found.
 * V8 quotes pieces of the text in some messages; those are dropped, because a
 * config file holds secrets.
 */
export function describeJsonError(error: unknown, text: string): string {
  const message = error instanceof Error ? error.message : String(error)
  let position: number | undefined
  const at = /in JSON at position (\d+)/.exec(message)
  if (at !== null) position = Number(at[1])
  else if (/Unexpected end of JSON input/.test(message)) position = text.length
  else {
    // `Unexpected token 'x', ..."ten chars[x]ten chars"... is not valid JSON`: the quoted
    // context starts 10 characters before the error when it is cut at the front.
    const context = /, \.\.\."([\s\S]*)"(?:\.\.\.)? is not valid JSON$/.exec(message)
    const index = context === null ? -1 : text.indexOf(context[1]!)
    if (index !== -1) position = index + 10
  }
  const reason = message
    .replace(/, (?:\.\.\.)?"[\s\S]*"(?:\.\.\.)? is not valid JSON$/, '')
    .replace(/ in JSON at position \d+.*$/, '')
    .replace(/ \(line \d+ column \d+\)$/, '')
  if (position === undefined) return reason
  const before = text.slice(0, position).split('\n')
  return `line ${before.length}, column ${before[before.length - 1]!.length + 1}: ${reason}`
}
