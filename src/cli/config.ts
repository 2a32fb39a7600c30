import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import {
  createAuthorizationServer,
  StaticUserSource,
  type AuthorizationServer,
  type AuthorizationServerOptions,
  type ClientMetadata,
  type KeyStore,
  type PrivateJwk,
  type StaticUser,
  type Storage,
  type TrustOptions,
  type UserSource,
} from '../index.js'
import { CliError } from './errors.js'

/**
 * A `grantkit serve` config file after its shape has been checked. Every field
 * is passed to `createAuthorizationServer`, which checks its content and names
 * the field in its TypeErrors. Durations are seconds.
 */
export interface ServeConfig {
  /** Where the config came from, for messages: the file path as given, or `demo config`. */
  source: string
  /** Absent: the issuer is `http://HOST:PORT` of the listening socket. */
  issuer?: string
  accessTokenFormat?: AuthorizationServerOptions['accessTokenFormat']
  ttl?: AuthorizationServerOptions['ttl']
  /** Seconds a device client waits between polls (RFC 8628 §3.2 `interval`); the core's `deviceFlow.interval`. */
  devicePollInterval?: number
  scopes?: string[]
  /** RFC 7591 client metadata, validated by the core. */
  clients: ClientMetadata[]
  /** People who sign in, validated (and their passwords hashed) by the core's `StaticUserSource`. */
  users?: StaticUser[]
  /** Issuers whose JWT and SAML assertions are accepted as grants, validated by the core. */
  trust?: TrustOptions
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
}

/** Top-level fields of a config file; anything else is an error. */
export const CONFIG_FIELDS = [
  'issuer',
  'accessTokenFormat',
  'ttl',
  'devicePollInterval',
  'scopes',
  'clients',
  'users',
  'trust',
  'keys',
] as const

/** Fields of a `users` entry (the core's `StaticUser`). */
const USER_FIELDS = ['username', 'password', 'password_hash', 'claims'] as const
/** Fields of a `trust.jwtIssuers` entry (the core's `JwtIssuerTrust`). */
const JWT_ISSUER_FIELDS = ['issuer', 'jwks', 'subjects', 'scopes'] as const
/** Fields of a `trust.samlIdps` entry (the core's `SamlIdpTrust`). */
const SAML_IDP_FIELDS = ['entityId', 'certificate', 'subjects', 'scopes'] as const

// Shape checks throw TypeError("path: what"), the convention of the core, so
// that `withSource` reports both kinds of failure the same way.
function fail(path: string, message: string): never {
  throw new TypeError(`${path}: ${message}`)
}

type JsonObject = Record<string, unknown>

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

function onlyFields(obj: JsonObject, known: readonly string[], path: string): void {
  for (const name of Object.keys(obj)) {
    if (!known.includes(name)) fail(path === '' ? name : `${path}.${name}`, `unknown field; known fields: ${known.join(', ')}`)
  }
}

/**
 * Unknown fields of the entries of a list. The core reads the fields it knows
 * and ignores the rest, so a misspelt `subjects` would silently trust an
 * issuer for every user; everything else about the entries is the core's to check.
 */
function onlyFieldsInEntries(list: unknown, known: readonly string[], path: string): void {
  if (!Array.isArray(list)) return
  list.forEach((entry, i) => {
    if (isObject(entry)) onlyFields(entry, known, `${path}[${i}]`)
  })
}

function checkTrustShape(value: unknown): void {
  // The core takes an array for an empty trust list; in a file that is a mistake.
  const trust = object(value, 'trust')
  onlyFields(trust, ['jwtIssuers', 'samlIdps'], 'trust')
  onlyFieldsInEntries(trust.jwtIssuers, JWT_ISSUER_FIELDS, 'trust.jwtIssuers')
  onlyFieldsInEntries(trust.samlIdps, SAML_IDP_FIELDS, 'trust.samlIdps')
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

/**
 * Checks the shape of a parsed config file and returns it typed. Content the
 * core understands (client metadata, users, trust, ttl values, scopes, keys)
 * is checked later, by `createUserSource` and `createServer`, with the core's
 * own rules.
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
    onlyFields(top, CONFIG_FIELDS, '')
    if (top.clients === undefined) fail('clients', 'is required: an array of RFC 7591 client metadata')
    const config: ServeConfig = { source, clients: array(top.clients, 'clients') as ClientMetadata[] }
    if (top.issuer !== undefined) config.issuer = nonEmptyString(top.issuer, 'issuer')
    if (top.accessTokenFormat !== undefined) config.accessTokenFormat = top.accessTokenFormat as ServeConfig['accessTokenFormat']
    // Each lifetime is checked by the core; it reads a null `ttl` as no lifetimes at all.
    if (top.ttl !== undefined) config.ttl = object(top.ttl, 'ttl')
    if (top.devicePollInterval !== undefined) {
      // Checked here: the core would name its own option, deviceFlow.interval, which the file does not have.
      const v = top.devicePollInterval
      if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) fail('devicePollInterval', 'must be a positive whole number of seconds')
      config.devicePollInterval = v
    }
    if (top.scopes !== undefined) config.scopes = top.scopes as string[]
    if (top.users !== undefined) {
      onlyFieldsInEntries(top.users, USER_FIELDS, 'users')
      config.users = top.users as StaticUser[]
    }
    if (top.trust !== undefined) {
      checkTrustShape(top.trust)
      config.trust = top.trust as TrustOptions
    }
    if (top.keys !== undefined) config.keys = readKeys(top.keys, baseDir)
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
 * checks every entry and hashes each password with scrypt (tens of
 * milliseconds each). Build it once and give it to every `createServer` call.
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
  return withSource(config.source, () => new StaticUserSource(users, { path: 'users' }))
}

/**
 * The options of `createAuthorizationServer` for a config. The CLI adds only
 * what does not come from the file: the issuer (when the config has none), the
 * storage and the user source it built once.
 *
 * @example
 * const options = toServerOptions(config, 'http://127.0.0.1:4000', { storage: createMemoryStorage() })
 */
export function toServerOptions(config: ServeConfig, issuer: string, parts: ServerParts = {}): AuthorizationServerOptions {
  const users = parts.users ?? config.users
  return {
    issuer: config.issuer ?? issuer,
    clients: config.clients,
    ...(parts.storage !== undefined && { storage: parts.storage }),
    ...(users !== undefined && { users }),
    ...(config.trust !== undefined && { trust: config.trust }),
    ...(config.accessTokenFormat !== undefined && { accessTokenFormat: config.accessTokenFormat }),
    ...(config.ttl !== undefined && { ttl: config.ttl }),
    ...(config.devicePollInterval !== undefined && { deviceFlow: { interval: config.devicePollInterval } }),
    ...(config.scopes !== undefined && { scopes: config.scopes }),
    ...(parts.keys !== undefined ? { keys: parts.keys } : config.keys !== undefined ? { keys: { keys: config.keys } } : {}),
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
  return withSource(config.source, () => createAuthorizationServer(toServerOptions(config, issuer, parts)))
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
