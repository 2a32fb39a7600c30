import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import {
  createAuthorizationServer,
  type AuthorizationServer,
  type AuthorizationServerOptions,
  type ClientMetadata,
  type PrivateJwk,
  type Storage,
} from '../index.js'
import { CliError } from './errors.js'

/** A user that will sign in at the login page and through the password grant. */
export interface UserConfig {
  username: string
  /** Plain text: the config file is for development and testing. */
  password: string
  /** Claims released about the user (OIDC Core §5.1); `sub` defaults to the username. */
  claims: Record<string, unknown>
}

/** A public JWK as a config file holds it. */
export interface PublicJwkConfig {
  kty: string
  [member: string]: unknown
}

/** An issuer whose JWT assertions the jwt-bearer grant accepts (RFC 7523). */
export interface JwtIssuerTrust {
  /** Must equal the assertion's `iss`. */
  issuer: string
  /** Its public keys. */
  jwks: { keys: PublicJwkConfig[] }
}

/** A SAML identity provider whose assertions the saml2-bearer grant accepts (RFC 7522). */
export interface SamlIdpTrust {
  /** Must equal the assertion's Issuer. */
  entityId: string
  /** Its signing certificate, PEM or base64 DER. */
  certificate: string
}

/**
 * A `grantkit serve` config file after its shape has been checked. Fields the
 * core already understands are passed to `createAuthorizationServer`, which
 * checks their content; the others (see `PENDING_FIELDS`) are kept here, typed,
 * for the features that arrive later. Durations are seconds.
 */
export interface ServeConfig {
  /** Where the config came from, for messages: the file path as given, or `demo config`. */
  source: string
  /** Absent: the issuer is `http://HOST:PORT` of the listening socket. */
  issuer?: string
  accessTokenFormat?: AuthorizationServerOptions['accessTokenFormat']
  ttl?: AuthorizationServerOptions['ttl']
  /** Seconds a device client waits between polls (RFC 8628 §3.2 `interval`). */
  devicePollInterval?: number
  scopes?: string[]
  /** RFC 7591 client metadata, validated by the core. */
  clients: ClientMetadata[]
  users: UserConfig[]
  trust: { jwtIssuers: JwtIssuerTrust[]; samlIdps: SamlIdpTrust[] }
  /** Private signing JWKs, from the config or from the key file it names. Absent: a key is generated at start. */
  keys?: PrivateJwk[]
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

/**
 * Fields accepted and kept, but not passed to the core yet because the features
 * that use them arrive later. Remove a field from here when `toServerOptions`
 * starts passing it on.
 */
export const PENDING_FIELDS = ['users', 'trust', 'devicePollInterval'] as const

// Shape checks throw TypeError("path: what"), the convention of the core, so
// that `withSource` reports both kinds of failure the same way.
function fail(path: string, message: string): never {
  throw new TypeError(`${path}: ${message}`)
}

type JsonObject = Record<string, unknown>

function object(value: unknown, path: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'must be an object')
  return value as JsonObject
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

function unique<T>(items: T[], keyOf: (item: T) => string, path: (i: number) => string): T[] {
  const seen = new Set<string>()
  items.forEach((item, i) => {
    const key = keyOf(item)
    if (seen.has(key)) fail(path(i), `"${key}" appears twice`)
    seen.add(key)
  })
  return items
}

function publicJwkSet(value: unknown, path: string): { keys: PublicJwkConfig[] } {
  const set = object(value, path)
  const keys = array(set.keys, `${path}.keys`)
  keys.forEach((k, i) => {
    const key = object(k, `${path}.keys[${i}]`)
    nonEmptyString(key.kty, `${path}.keys[${i}].kty`)
    // SECURITY: a trust anchor is public; a private key pasted here would be shared with the file.
    if ('d' in key || 'p' in key || 'k' in key) fail(`${path}.keys[${i}]`, 'must be a public key (it holds private or symmetric material)')
  })
  return { keys: keys as PublicJwkConfig[] }
}

function readUsers(value: unknown, path: string): UserConfig[] {
  const users = array(value, path).map((entry, i): UserConfig => {
    const p = `${path}[${i}]`
    const user = object(entry, p)
    onlyFields(user, ['username', 'password', 'claims'], p)
    const username = nonEmptyString(user.username, `${p}.username`)
    const password = nonEmptyString(user.password, `${p}.password`)
    const claims = user.claims === undefined ? {} : object(user.claims, `${p}.claims`)
    if (claims.sub !== undefined) nonEmptyString(claims.sub, `${p}.claims.sub`)
    return { username, password, claims: { sub: username, ...claims } }
  })
  return unique(users, (u) => u.username, (i) => `${path}[${i}].username`)
}

function readTrust(value: unknown, path: string): ServeConfig['trust'] {
  const trust = object(value, path)
  onlyFields(trust, ['jwtIssuers', 'samlIdps'], path)
  const jwtIssuers = (trust.jwtIssuers === undefined ? [] : array(trust.jwtIssuers, `${path}.jwtIssuers`)).map((entry, i): JwtIssuerTrust => {
    const p = `${path}.jwtIssuers[${i}]`
    const e = object(entry, p)
    onlyFields(e, ['issuer', 'jwks'], p)
    return { issuer: nonEmptyString(e.issuer, `${p}.issuer`), jwks: publicJwkSet(e.jwks, `${p}.jwks`) }
  })
  const samlIdps = (trust.samlIdps === undefined ? [] : array(trust.samlIdps, `${path}.samlIdps`)).map((entry, i): SamlIdpTrust => {
    const p = `${path}.samlIdps[${i}]`
    const e = object(entry, p)
    onlyFields(e, ['entityId', 'certificate'], p)
    return { entityId: nonEmptyString(e.entityId, `${p}.entityId`), certificate: nonEmptyString(e.certificate, `${p}.certificate`) }
  })
  return {
    jwtIssuers: unique(jwtIssuers, (t) => t.issuer, (i) => `${path}.jwtIssuers[${i}].issuer`),
    samlIdps: unique(samlIdps, (t) => t.entityId, (i) => `${path}.samlIdps[${i}].entityId`),
  }
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
 * core understands (client metadata, ttl values, scopes, keys) is checked later
 * by `createServer`, with the core's own rules.
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
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      fail('(top level)', `must be a JSON object with the fields ${CONFIG_FIELDS.join(', ')}`)
    }
    const top = data as JsonObject
    onlyFields(top, CONFIG_FIELDS, '')
    if (top.clients === undefined) fail('clients', 'is required: an array of RFC 7591 client metadata')
    const config: ServeConfig = {
      source,
      clients: array(top.clients, 'clients') as ClientMetadata[],
      users: top.users === undefined ? [] : readUsers(top.users, 'users'),
      trust: top.trust === undefined ? { jwtIssuers: [], samlIdps: [] } : readTrust(top.trust, 'trust'),
    }
    if (top.issuer !== undefined) config.issuer = nonEmptyString(top.issuer, 'issuer')
    if (top.accessTokenFormat !== undefined) config.accessTokenFormat = top.accessTokenFormat as ServeConfig['accessTokenFormat']
    // Each lifetime is checked by the core; a non-object would reach it as no lifetimes at all.
    if (top.ttl !== undefined) config.ttl = object(top.ttl, 'ttl')
    if (top.devicePollInterval !== undefined) {
      const v = top.devicePollInterval
      if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) fail('devicePollInterval', 'must be a positive whole number of seconds')
      config.devicePollInterval = v
    }
    if (top.scopes !== undefined) config.scopes = top.scopes as string[]
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
 * The options of `createAuthorizationServer` for a config. The CLI adds only
 * what comes from the command line: the issuer (when the config has none) and
 * the storage.
 *
 * @example
 * const options = toServerOptions(config, 'http://127.0.0.1:4000', createMemoryStorage())
 */
export function toServerOptions(config: ServeConfig, issuer: string, storage?: Storage): AuthorizationServerOptions {
  return {
    issuer: config.issuer ?? issuer,
    clients: config.clients,
    ...(storage !== undefined && { storage }),
    ...(config.accessTokenFormat !== undefined && { accessTokenFormat: config.accessTokenFormat }),
    ...(config.ttl !== undefined && { ttl: config.ttl }),
    ...(config.scopes !== undefined && { scopes: config.scopes }),
    ...(config.keys !== undefined && { keys: { keys: config.keys } }),
  }
}

/**
 * Builds the authorization server for a config, with the core doing all content
 * validation. Its TypeErrors already name the field; this adds the file name.
 *
 * @param issuer used when the config has no `issuer`
 * @throws CliError `source: field.path: what is wrong`
 * @example
 * const server = createServer(loadConfigFile('grantkit.json'), 'http://127.0.0.1:4000')
 */
export function createServer(config: ServeConfig, issuer: string, storage?: Storage): AuthorizationServer {
  return withSource(config.source, () => createAuthorizationServer(toServerOptions(config, issuer, storage)))
}

/** Names of the `PENDING_FIELDS` this config actually sets. */
export function pendingFieldsIn(config: ServeConfig): string[] {
  const set = {
    users: config.users.length > 0,
    trust: config.trust.jwtIssuers.length + config.trust.samlIdps.length > 0,
    devicePollInterval: config.devicePollInterval !== undefined,
  } satisfies Record<(typeof PENDING_FIELDS)[number], boolean>
  return PENDING_FIELDS.filter((f) => set[f])
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
