import type { ClientMetadata } from '../clients/metadata.js'
import { StaticClientRegistry, type ClientRegistry } from '../clients/registry.js'
import { ASYMMETRIC_ALGORITHMS, isAsymmetricAlgorithm } from '../crypto/jose.js'
import { randomId, randomToken } from '../crypto/random.js'
import { defaultFeatures } from '../features/index.js'
import { checkFeatures } from '../features/registry.js'
import type { Feature } from '../features/types.js'
import { defaultGrants } from '../grants/index.js'
import type { GrantHandler } from '../grants/types.js'
import { KeyRing, type KeyStore } from '../keys/key-store.js'
import { SIGNING_ALGORITHMS, type PrivateJwk, type SigningAlgorithm } from '../keys/signing-key.js'
import { createMemoryStorage } from '../storage/memory.js'
import type { Storage } from '../storage/types.js'
import { createTrustRegistry, type JwtIssuerTrust, type SamlIdpTrust, type TrustOptions, type TrustRegistry } from '../trust/registry.js'
import { StaticUserSource, type StaticUser, type UserSource } from '../users/user-source.js'
import { checkResourceServers, RESOURCE_SERVER_FIELDS, type ResourceServers } from '../tokens/resource-indicators.js'
import type { TokenExchangePolicy } from '../grants/token-exchange.js'
import { checkPasswordHashCost, OWASP_MINIMUM_COST } from '../users/password.js'
import { defaultMaxConcurrentChecks } from '../users/limiter.js'
import type { MeterProvider, TracerProvider } from '@opentelemetry/api'
import { checkLogger } from '../observability/logger.js'
import { refuseUnknownNames } from './did-you-mean.js'
import { checkInitialAccessTokens, checkSoftwareStatementOptions, type RegistrationPolicy } from '../registration/options.js'
import { checkAllowedHosts, type ClientIdMetadataPolicy } from '../clients/metadata-document.js'
import { DEFAULT_LOCALE, DEFAULT_LOCALES, pagesShape, resolvePages, type PageSettings } from '../pages/settings.js'

/**
 * The part of grantkit that owns an option. The configuration reference groups
 * options by it, and a feature that is switched off or replaced takes its
 * options along.
 */
export type OptionFeature =
  | 'core'
  | 'tokens'
  | 'authorization'
  | 'interaction'
  | 'userinfo'
  | 'revocation'
  | 'introspection'
  | 'device-flow'
  | 'password-grant'
  | 'assertion-grants'
  | 'discovery'
  | 'logout'
  | 'admin'
  | 'admin-console'
  | 'telemetry'
  | 'registration'
  | 'resource-indicators'
  | 'token-exchange'
  | 'client-id-metadata'
  | 'pushed-authorization-requests'
  | 'request-objects'
  | 'dpop'

/** What a validator sees besides the value it checks. */
export interface CheckContext {
  /**
   * The options as given, for the few rules that depend on another option
   * (`allowHttpIssuer`, `allowHttpRedirectUris`, `deps.now`). Entries are
   * resolved in declaration order, so an earlier option is already known good.
   */
  readonly input: Readonly<Record<string, unknown>>
}

/**
 * One option, declared once: everything else (the resolved configuration, the
 * exported `defaults`, the CLI config file and `docs/configuration.md`) is
 * derived from these entries.
 *
 * @typeParam T the resolved value, after defaults
 * @example
 * const sessionTtl: OptionEntry<number> = {
 *   feature: 'interaction', type: 'seconds', json: true, default: 86_400,
 *   doc: 'Browser session (single sign-on) lifetime.',
 *   check: (value, path) => positiveSeconds(value, path),
 * }
 */
export interface OptionEntry<T = unknown> {
  /** One sentence for the reference: meaning and unit (markdown). */
  readonly doc: string
  /** Who owns it. Members of a group may belong to another feature than the group. */
  readonly feature: OptionFeature
  /** The type as the reference shows it (`seconds`, `"jwt" \| "opaque"`, `UserSource \| StaticUser[]`). */
  readonly type: string
  /** True when a JSON config file may set it; false for collaborators (stores, functions, registries). */
  readonly json: boolean
  /** A plain default, shown in the reference and in the exported `defaults`. */
  readonly default?: T
  /** The default in words when it is computed (`the issuer`, `one generated key`); markdown. */
  readonly defaultText?: string
  /** Present when the option must be given: what it should be, for the message (`an https URL`). */
  readonly required?: string
  /** Nested options (`ttl.accessToken`), each declared as an entry of its own. */
  readonly members?: Readonly<Record<string, OptionEntry<unknown>>>
  /** What a member is called in the message for an unknown one (`ttl.forever: unknown lifetime`). Default `option`. */
  readonly memberNoun?: string
  /**
   * Structure only (object or array, known member and field names), building
   * nothing: the CLI runs it as it reads a file, before any password is hashed.
   * `noun` is how unknown names are called in messages (the CLI says `field`).
   */
  shape?(value: unknown, path: string, noun?: string): void
  /** Validates a given value and returns it resolved. Throws `TypeError('path: what is wrong')`. */
  check(value: unknown, path: string, ctx: CheckContext): T
  /** The default when it is not a plain value (a generated key, the memory storage). */
  fallback?(ctx: CheckContext): T
}

/** The value of an entry after resolution: `undefined` only for an optional entry without a default. */
export type Resolved<E> = E extends { check(...args: never[]): infer T }
  ? E extends { default: unknown } | { fallback: unknown } | { required: string }
    ? T
    : T | undefined
  : never

type Members = Record<string, OptionEntry<any>>

/** The resolved object of a group's members. */
export type ResolvedMembers<M extends Members> = { readonly [K in keyof M]: Resolved<M[K]> }

// ---------------------------------------------------------------------------
// Validators. Messages start with the field path, the convention of every
// TypeError at construction, and stay word for word what 0.1 said.

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

function positiveSeconds(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new TypeError(`${path}: must be a positive number of seconds`)
  return value
}

function nonNegative(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new TypeError(`${path}: must be a number >= 0`)
  return value
}

function wholeNumberAtLeastOne(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new TypeError(`${path}: must be a whole number >= 1`)
  return value
}

function wholeNonNegative(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new TypeError(`${path}: must be a whole number >= 0`)
  return value
}

function boolean(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`${path}: must be a boolean`)
  return value
}

function oneOf<const V extends string>(values: readonly V[]): (value: unknown, path: string) => V {
  const listed = values.map((v) => `"${v}"`)
  const words = listed.length === 2 ? listed.join(' or ') : `one of ${listed.join(', ')}`
  return (value, path) => {
    if (!(values as readonly unknown[]).includes(value)) throw new TypeError(`${path}: must be ${words}`)
    return value as V
  }
}

/**
 * An endpoint path: starts with `/`, unreserved URL characters only, so that
 * it can be appended to the issuer as it is.
 *
 * @throws TypeError `path: must be a path starting with "/"`
 * @example
 * checkPath('/oauth/token', 'paths.token') // '/oauth/token'
 */
export function checkPath(value: unknown, path: string): string {
  if (typeof value !== 'string' || !/^\/[A-Za-z0-9._~\-/]*$/.test(value)) throw new TypeError(`${path}: must be a path starting with "/"`)
  return value
}

/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
function scopeToken(value: unknown, path: string): string {
  if (typeof value !== 'string' || !/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(value)) throw new TypeError(`${path}: must be one scope token (RFC 6749 §3.3)`)
  return value
}

function fn<F extends (...args: never[]) => unknown>(what: string): (value: unknown, path: string) => F {
  return (value, path) => {
    if (typeof value !== 'function') throw new TypeError(`${path}: must be a function ${what}`)
    return value as F
  }
}

/** Field names of the entries of a list option, checked because the core would ignore a misspelt one. */
function refuseUnknownFieldsInEntries(list: unknown, known: readonly string[], path: string): void {
  if (!Array.isArray(list)) return
  list.forEach((entry, i) => {
    if (isRecord(entry)) refuseUnknownNames(entry, known, `${path}[${i}]`, 'field')
  })
}

// ---------------------------------------------------------------------------
// Builders. An entry is a plain object; these only fill in what every entry of
// a kind shares, and keep each entry's literal type for `Resolved` and `defaults`.

type EntrySpec = Omit<OptionEntry<any>, 'json'> & { json?: boolean }

/** A leaf option; JSON-configurable unless `json: false`. */
function option<const E extends EntrySpec>(spec: E): E & { readonly json: E extends { json: false } ? false : true } {
  return { json: true, ...spec } as never
}

/** Resolves each member of a group: unknown names refused, absent members defaulted. */
export function resolveMembers<M extends Members>(members: M, value: unknown, path: string, ctx: CheckContext, noun: string): ResolvedMembers<M> {
  const given = value === undefined ? {} : (value as Record<string, unknown>)
  refuseUnknownNames(given, Object.keys(members), path, noun)
  const out: Record<string, unknown> = {}
  for (const [name, member] of Object.entries(members)) out[name] = resolveEntry(member, given[name], `${path}.${name}`, ctx)
  return out as ResolvedMembers<M>
}

interface GroupSpec<M extends Members> {
  doc: string
  feature: OptionFeature
  json?: boolean
  /** What a member is called in messages: `unknown lifetime`. Default `option`. */
  memberNoun?: string
  /** The message when the value is not an object, after `path: `. */
  notAnObject?: string
  members: M
}

/**
 * An option that is an object of options (`ttl`, `pkce`, …). Its default is
 * the object of its members' defaults; members missing from a given object
 * keep theirs.
 */
function group<M extends Members, const J extends boolean = true>(spec: GroupSpec<M> & { json?: J }) {
  const noun = spec.memberNoun ?? 'option'
  const notAnObject = spec.notAnObject ?? 'must be an object'
  const shape = (value: unknown, path: string, as: string = noun): void => {
    if (!isRecord(value)) throw new TypeError(`${path}: ${notAnObject}`)
    refuseUnknownNames(value, Object.keys(spec.members), path, as)
    for (const [name, member] of Object.entries(spec.members)) {
      if (value[name] !== undefined) member.shape?.(value[name], `${path}.${name}`, as)
    }
  }
  const staticDefault = Object.fromEntries(
    Object.entries(spec.members).filter(([, m]) => m.default !== undefined).map(([name, m]) => [name, m.default]),
  )
  return {
    doc: spec.doc,
    feature: spec.feature,
    type: 'object',
    json: (spec.json ?? true) as J,
    members: spec.members,
    memberNoun: noun,
    // Empty for a group of collaborators (`deps`), which `defaults` leaves out anyway.
    default: staticDefault as { readonly [N in keyof M as M[N] extends { default: unknown } ? N : never]: Resolved<M[N]> },
    shape,
    check(value: unknown, path: string, ctx: CheckContext): ResolvedMembers<M> {
      shape(value, path)
      return resolveMembers(spec.members, value, path, ctx, noun)
    },
    fallback: (ctx: CheckContext): ResolvedMembers<M> => resolveMembers(spec.members, undefined, '', ctx, noun),
  }
}

/** RFC 9126 §2.2: "typically … between 5 and 600 seconds"; past that a request_uri is no longer short-lived. */
const MAX_REQUEST_URI_TTL = 600

const seconds = (feature: OptionFeature, value: number, doc: string) =>
  option({ feature, doc, type: 'seconds', default: value as number, check: positiveSeconds })

const endpointPath = (feature: OptionFeature, value: string, doc: string) =>
  option({ feature, doc, type: 'path', default: value as string, check: checkPath })

// ---------------------------------------------------------------------------
// Rules of particular options.

function checkDpopAlgorithms(value: unknown, path: string): readonly string[] {
  // RFC 9449 §4.3 step 5: asymmetric only; none and HMAC can never be listed.
  if (!Array.isArray(value) || value.length === 0 || value.some((a) => !isAsymmetricAlgorithm(a))) {
    throw new TypeError(`${path}: must be a non-empty array of asymmetric JWS algorithms (${ASYMMETRIC_ALGORITHMS.join(', ')})`)
  }
  return Object.freeze([...new Set(value as string[])])
}

function checkCookieSecrets(value: unknown, path: string): readonly string[] {
  if (!Array.isArray(value) || value.length === 0) throw new TypeError(`${path}: must be a non-empty array of strings`)
  value.forEach((v, i) => {
    if (typeof v !== 'string' || v.length < 32) throw new TypeError(`${path}[${i}]: must be a string of at least 32 characters (e.g. 32 random bytes, base64url)`)
  })
  return Object.freeze([...value]) as readonly string[]
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]'])

function checkIssuer(value: unknown, path: string, ctx: CheckContext): string {
  if (typeof value !== 'string' || value === '') throw new TypeError(`${path}: is required (an https URL)`)
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new TypeError(`${path}: "${value}" is not a URL`)
  }
  // RFC 8414 §2: https, no query, no fragment.
  if (url.search !== '' || url.hash !== '' || value.includes('?') || value.includes('#')) {
    throw new TypeError(`${path}: must not have a query or fragment`)
  }
  const allowHttp = ctx.input.allowHttpIssuer === true
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && (allowHttp || LOOPBACK.has(url.hostname)))) {
    throw new TypeError(`${path}: must be https (http only for loopback hosts, or with allowHttpIssuer)`)
  }
  if (value.endsWith('/')) throw new TypeError(`${path}: must not end with "/"`)
  return value
}

function checkClients(value: unknown, path: string, ctx: CheckContext): ClientRegistry {
  if (Array.isArray(value)) {
    return new StaticClientRegistry(value as ClientMetadata[], path, {
      allowHttpRedirectUris: ctx.input.allowHttpRedirectUris === true,
      allowPrivateNetworkFetches: ctx.input.allowPrivateNetworkFetches === true,
    })
  }
  if (!isRecord(value) || typeof value.find !== 'function') {
    throw new TypeError(`${path}: must be an array of client metadata or a registry with find(clientId)`)
  }
  return value as unknown as ClientRegistry
}

function checkGrants(value: unknown, path: string): ReadonlyMap<string, GrantHandler> {
  if (!Array.isArray(value)) throw new TypeError(`${path}: must be an array of grant handlers`)
  const map = new Map<string, GrantHandler>()
  ;(value as GrantHandler[]).forEach((g, i) => {
    const at = `${path}[${i}]`
    if (typeof g !== 'object' || g === null || typeof g.grantType !== 'string' || g.grantType === '') {
      throw new TypeError(`${at}.grantType: must be a non-empty string`)
    }
    if (typeof g.handle !== 'function') throw new TypeError(`${at}.handle: must be a function`)
    if (!Array.isArray(g.parameters)) throw new TypeError(`${at}.parameters: must be an array of parameter names`)
    if (g.clientAuth !== 'required' && g.clientAuth !== 'optional') throw new TypeError(`${at}.clientAuth: must be "required" or "optional"`)
    if (map.has(g.grantType)) throw new TypeError(`${at}.grantType: "${g.grantType}" is registered twice`)
    map.set(g.grantType, g)
  })
  return map
}

function checkScopes(value: unknown, path: string): ReadonlySet<string> {
  // RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
  if (!Array.isArray(value) || value.some((s) => typeof s !== 'string' || !/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(s))) {
    throw new TypeError(`${path}: must be an array of scope tokens (RFC 6749 §3.3)`)
  }
  return new Set(value as string[])
}

function checkAudience(value: unknown, path: string): string | string[] {
  if (!(typeof value === 'string' && value !== '') && !(Array.isArray(value) && value.length > 0 && value.every((a) => typeof a === 'string' && a !== ''))) {
    throw new TypeError(`${path}: must be a non-empty string or array of strings`)
  }
  return value as string | string[]
}

/** Fields of a static user (`StaticUser`). */
export const STATIC_USER_FIELDS = ['username', 'password', 'password_hash', 'claims', 'admin'] as const satisfies ReadonlyArray<keyof StaticUser>
/** Fields of a `trust.jwtIssuers` entry (`JwtIssuerTrust`). */
export const JWT_ISSUER_FIELDS = ['issuer', 'jwks', 'subjects', 'scopes'] as const satisfies ReadonlyArray<keyof JwtIssuerTrust>
/** Fields of a `trust.samlIdps` entry (`SamlIdpTrust`). */
export const SAML_IDP_FIELDS = ['entityId', 'certificate', 'subjects', 'scopes'] as const satisfies ReadonlyArray<keyof SamlIdpTrust>

const isUserSource = (value: unknown): boolean => isRecord(value) && typeof value.findByUsername === 'function'

function checkUsers(value: unknown, path: string, ctx: CheckContext): UserSource {
  if (Array.isArray(value)) {
    // StaticUserSource reads only the fields it knows: a misspelt `password_hash` would become a user without a password.
    refuseUnknownFieldsInEntries(value, STATIC_USER_FIELDS, path)
    // passwordHashing is declared before users, so it has been checked already: its cost hashes the list.
    const hashing = isRecord(ctx.input.passwordHashing) ? ctx.input.passwordHashing : {}
    const cost = {
      memoryCost: (hashing.memoryCost as number | undefined) ?? OWASP_MINIMUM_COST.memoryCost,
      timeCost: (hashing.timeCost as number | undefined) ?? OWASP_MINIMUM_COST.timeCost,
      parallelism: (hashing.parallelism as number | undefined) ?? OWASP_MINIMUM_COST.parallelism,
    }
    return new StaticUserSource(value as StaticUser[], { path, cost, allowWeak: hashing.allowWeak === true })
  }
  const u = value as Partial<UserSource> | null
  if (!isRecord(u) || typeof u.findByUsername !== 'function' || typeof u.verifyPassword !== 'function' || typeof u.claims !== 'function') {
    throw new TypeError(`${path}: must be an array of users or a source with findByUsername, verifyPassword and claims`)
  }
  return u as UserSource
}

function trustShape(value: unknown, path: string, noun = 'option'): void {
  // An array would read as an empty trust list: a mistake, not a choice.
  if (!isRecord(value)) throw new TypeError(`${path}: must be an object`)
  refuseUnknownNames(value, ['jwtIssuers', 'samlIdps'], path, noun)
  // createTrustRegistry reads the fields it knows: a misspelt `subjects` would trust the issuer for every user.
  refuseUnknownFieldsInEntries(value.jwtIssuers, JWT_ISSUER_FIELDS, `${path}.jwtIssuers`)
  refuseUnknownFieldsInEntries(value.samlIdps, SAML_IDP_FIELDS, `${path}.samlIdps`)
}

const isKeyStore = (value: unknown): value is KeyStore => isRecord(value) && typeof value.signingKey === 'function'

// ---------------------------------------------------------------------------

const keyMembers = {
  keys: option({
    feature: 'core',
    json: false,
    type: 'PrivateJwk[]',
    doc: 'Private JWKs; the last one signs access tokens and the earlier ones of its algorithm stay published for verification; the last key of each other algorithm signs the ID tokens of clients that register it. Without an RS256 key, one is generated for ID tokens (OIDC Core §3.1.3.7).',
    defaultText: 'one generated key, and an RS256 ID-token key',
    // KeyRing imports each key and names what is wrong with it.
    check: (value: unknown, path: string): PrivateJwk[] => {
      if (!Array.isArray(value)) throw new TypeError(`${path}: must be an array of private JWKs`)
      return value as PrivateJwk[]
    },
  }),
  algorithm: option({
    feature: 'core',
    json: false,
    type: 'SigningAlgorithm',
    doc: `Algorithm of the key generated when \`keys.keys\` is empty: ${SIGNING_ALGORITHMS.map((a) => `\`${a}\``).join(', ')} (\`defaults.signingAlgorithm\`).`,
    default: 'ES256' as SigningAlgorithm,
    check: oneOf(SIGNING_ALGORITHMS),
  }),
}

/**
 * Every option of `createAuthorizationServer`, in the order of the
 * configuration reference. Add an option here and it is validated, defaulted,
 * accepted in config files (when `json`) and documented.
 */
/**
 * Argon2id cost of new password hashes and the bound on concurrent password
 * checks. The cost is checked as a whole (OWASP lists equivalent memory/pass
 * pairs), after each member's own check.
 */
function passwordHashingGroup() {
  const base = group({
    feature: 'core',
    doc: 'Password hashing (Argon2id, RFC 9106) of the static `users` list, and how many password checks (login page, password grant) run at once; see [security.md](security.md).',
    members: {
      memoryCost: option({
        feature: 'core',
        type: 'KiB',
        doc: 'Argon2id memory per hash in KiB (`m=`); with `timeCost`, at least one of OWASP\'s equivalent pairs (19456/2, 47104/1, 12288/3, 9216/4, 7168/5), at most 262144 (256 MiB).',
        default: OWASP_MINIMUM_COST.memoryCost as number,
        check: wholeNumberAtLeastOne,
      }),
      timeCost: option({ feature: 'core', type: 'count', doc: 'Argon2id passes (`t=`), 1 to 16.', default: OWASP_MINIMUM_COST.timeCost as number, check: wholeNumberAtLeastOne }),
      parallelism: option({ feature: 'core', type: 'count', doc: 'Argon2id lanes (`p=`), 1 to 16.', default: OWASP_MINIMUM_COST.parallelism as number, check: wholeNumberAtLeastOne }),
      allowWeak: option({
        feature: 'core',
        type: 'boolean',
        doc: 'SECURITY: accept a cost below OWASP\'s minimum. Only for tests.',
        defaultText: '`false`',
        check: boolean,
        fallback: () => false,
      }),
      maxConcurrent: option({
        feature: 'core',
        type: 'count',
        doc: 'Password checks running at once; each holds a thread of libuv\'s pool for one hash, so the bound keeps threads (and CPU) for token requests while logins are flooded.',
        defaultText: '`UV_THREADPOOL_SIZE` (default 4) minus one, at most the number of CPUs, at least 1',
        check: wholeNumberAtLeastOne,
        fallback: () => defaultMaxConcurrentChecks(),
      }),
      maxQueued: option({
        feature: 'core',
        type: 'count',
        doc: 'Password checks waiting for a slot; beyond them a check is refused at once (password grant: 503 `temporarily_unavailable`; login page: 503 with the form kept), both with `Retry-After`.',
        default: 32 as number,
        check: wholeNonNegative,
      }),
      queueTimeout: seconds('core', 5, 'Longest wait for a slot; a check waiting longer is refused like one beyond `maxQueued`.'),
    },
  })
  const whole = (r: ResolvedMembers<typeof base.members>, path: string) => {
    checkPasswordHashCost(r, path, r.allowWeak)
    return r
  }
  return {
    ...base,
    check: (value: unknown, path: string, ctx: CheckContext) => whole(base.check(value, path, ctx), path),
  }
}

export const optionSchema = {
  issuer: option({
    feature: 'core',
    type: 'URL',
    doc: 'Issuer identifier (RFC 8414 §2): https, no query or fragment, no trailing `/`. http only for loopback hosts (`127.0.0.1`, `[::1]`, `localhost`) or with `allowHttpIssuer`. Endpoints live under its path.',
    required: 'an https URL',
    check: checkIssuer,
  }),
  clients: option({
    feature: 'core',
    type: 'ClientMetadata[] | ClientRegistry',
    doc: 'RFC 7591 client metadata (see [Client metadata](#client-metadata)), or a `ClientRegistry` (`find(clientId)`, optional `list()`). In a config file: the array.',
    required: 'an array of client metadata or a registry with find(clientId)',
    check: checkClients,
  }),
  clientCacheTtl: option({
    feature: 'core',
    type: 'seconds',
    doc: 'How long each process trusts what it read of a stored client (and that an id is not stored): a change made through another process sharing the storage is in force here within this bound. 0 reads the store at every lookup. See [Clients](clients.md).',
    default: 30 as number,
    check: nonNegative,
  }),
  storage: option({
    feature: 'core',
    json: false,
    type: 'Storage',
    doc: 'Where every artefact is stored; see [storage.md](storage.md).',
    defaultText: '`createMemoryStorage()`',
    check: (value: unknown, path: string): Storage => {
      if (!isRecord(value)) throw new TypeError(`${path}: must be a Storage object`)
      return value as unknown as Storage
    },
    fallback: (ctx: CheckContext): Storage => {
      // The memory storage expires records on the same clock as the server, so a frozen test clock freezes both.
      const now = isRecord(ctx.input.deps) ? ctx.input.deps.now : undefined
      return createMemoryStorage(typeof now === 'function' ? { now: now as () => number } : {})
    },
  }),
  keys: {
    feature: 'core',
    json: false,
    type: 'KeyStore | { keys, algorithm }',
    doc: 'Signing keys: a `KeyStore`, or `{ keys, algorithm }`. With shared storage, `createSharedKeyStore(storage.keys, { keyEncryption })`.',
    defaultText: 'one generated key, and an RS256 ID-token key',
    members: keyMembers,
    memberNoun: 'option',
    check(value: unknown, path: string, ctx: CheckContext): KeyStore {
      if (isKeyStore(value)) return value
      if (!isRecord(value)) throw new TypeError(`${path}: must be a KeyStore or { keys, algorithm }`)
      const { keys, algorithm } = resolveMembers(keyMembers, value, path, ctx, 'option')
      return new KeyRing({ ...(keys !== undefined && { keys }), algorithm })
    },
    fallback: (): KeyStore => new KeyRing({ algorithm: keyMembers.algorithm.default }),
  } satisfies OptionEntry<KeyStore>,
  grants: option({
    feature: 'core',
    json: false,
    type: 'GrantHandler[]',
    doc: 'Grant handlers at the token endpoint. Add your own with `[...defaultGrants, myGrant]`; leave one out to disable it.',
    defaultText: '`defaultGrants`',
    check: checkGrants,
    fallback: () => checkGrants(defaultGrants, 'grants'),
  }),
  features: option({
    feature: 'core',
    json: false,
    type: 'Feature[]',
    doc: 'Endpoints and features (the device flow, introspection, …). Add your own with `[...defaultFeatures, myFeature]`; leave one out to switch it off.',
    defaultText: '`defaultFeatures`',
    check: (value: unknown): readonly Feature[] => checkFeatures(value).registered,
    fallback: (): readonly Feature[] => defaultFeatures,
  }),
  accessTokenFormat: option({
    feature: 'tokens',
    type: '"jwt" | "opaque"',
    doc: '`jwt` (RFC 9068, `typ: at+jwt`, not stored) or `opaque` (256 random bits, stored hashed).',
    default: 'jwt' as 'jwt' | 'opaque',
    check: oneOf(['jwt', 'opaque']),
  }),
  accessTokenAudience: option({
    feature: 'tokens',
    type: 'string | string[]',
    doc: '`aud` of access tokens: a string or an array of strings.',
    defaultText: 'the issuer',
    check: checkAudience,
    // Resolved after `issuer`, which is known good by then.
    fallback: (ctx: CheckContext) => ctx.input.issuer as string,
  }),
  ttl: group({
    feature: 'tokens',
    doc: 'Lifetimes, in seconds.',
    memberNoun: 'lifetime',
    notAnObject: 'must be an object of lifetimes in seconds',
    members: {
      accessToken: seconds('tokens', 3600, 'Access token lifetime.'),
      refreshToken: seconds('tokens', 1_209_600, 'Refresh token lifetime, from its last rotation.'),
      refreshTokenAbsolute: seconds('tokens', 2_592_000, 'Absolute lifetime of a refresh-token chain; rotation never extends past it.'),
      authorizationCode: seconds('authorization', 60, 'Authorization code lifetime (RFC 6749 §4.1.2 recommends at most 600).'),
      deviceCode: seconds('device-flow', 600, 'Device code lifetime (`expires_in` of the device authorization response, RFC 8628 §3.2).'),
      idToken: seconds('tokens', 3600, 'ID token lifetime.'),
      pushedAuthorizationRequest: option({
        feature: 'pushed-authorization-requests',
        type: 'seconds',
        doc: 'Lifetime of a pushed authorization request\'s `request_uri` (`expires_in`, RFC 9126 §2.2); at most 600, the top of the range RFC 9126 §2.2 calls typical.',
        default: 60 as number,
        check: (value: unknown, path: string): number => {
          const v = positiveSeconds(value, path)
          if (v > MAX_REQUEST_URI_TTL) throw new TypeError(`${path}: must be at most ${MAX_REQUEST_URI_TTL} seconds (a request_uri is short-lived, RFC 9126 §2.2)`)
          return v
        },
      }),
    },
  }),
  scopes: option({
    feature: 'core',
    type: 'string[]',
    doc: 'Scopes the server knows; others are `invalid_scope`. Published as `scopes_supported`.',
    defaultText: 'any scope a client is registered for',
    check: checkScopes,
  }),
  resourceServers: option({
    feature: 'resource-indicators',
    type: 'ResourceServerOptions[]',
    doc: 'Resource servers a `resource` parameter (RFC 8707) or a token exchange `audience` (RFC 8693) may name: `{ resource, scopes, accessTokenFormat?, accessTokenTtl? }`. A token asked for one carries it as `aud` and only the asked scopes it lists; another `resource` is `invalid_target`. See [resource indicators](resource-indicators.md).',
    defaultText: 'none: every `resource` is `invalid_target`',
    shape: (value: unknown, path: string) => refuseUnknownFieldsInEntries(value, RESOURCE_SERVER_FIELDS, path),
    // Resolved after `scopes`: an entry's scope the server does not know is a mistake.
    check: (value: unknown, path: string, ctx: CheckContext): ResourceServers =>
      checkResourceServers(value, path, Array.isArray(ctx.input.scopes) ? new Set(ctx.input.scopes as string[]) : undefined),
    fallback: (): ResourceServers => new Map(),
  }),
  requireResource: option({
    feature: 'resource-indicators',
    type: 'boolean',
    doc: 'Every authorization request, and every token request of a grant that takes `resource`, must name a resource server (RFC 8707 §2); one without is `invalid_target`. Token exchange may name it by `audience` instead. On in the [MCP profile](mcp.md).',
    defaultText: '`false`',
    check: boolean,
    fallback: () => false,
  }),
  tokenExchange: option({
    feature: 'token-exchange',
    json: false,
    type: '{ policy?: (request) => boolean | Promise<boolean> }',
    doc: 'The token exchange grant (RFC 8693; see [token exchange](grants/token-exchange.md)). `policy` decides whether a client may exchange a subject token (acting for an actor) for the asked audience and scope; false refuses with `invalid_request` (RFC 8693 §2.2.2). It runs after every built-in check.',
    defaultText: 'no policy: the built-in checks only',
    check: (value: unknown, path: string): { readonly policy: TokenExchangePolicy | undefined } => {
      if (!isRecord(value)) throw new TypeError(`${path}: must be an object { policy }`)
      refuseUnknownNames(value, ['policy'], path, 'option')
      const policy = value.policy === undefined ? undefined : fn<TokenExchangePolicy>('(request) returning true to allow the exchange')(value.policy, `${path}.policy`)
      return { policy }
    },
  }),
  clockSkew: option({
    feature: 'core',
    type: 'seconds',
    doc: 'Tolerance for exp/nbf/iat of incoming JWTs and SAML times.',
    default: 60 as number,
    check: nonNegative,
  }),
  maxAssertionLifetime: option({
    feature: 'assertion-grants',
    type: 'seconds',
    doc: 'Longest lifetime (exp − iat) accepted for a client assertion or an assertion grant.',
    default: 300 as number,
    check: positiveSeconds,
  }),
  cookieSecrets: option({
    feature: 'core',
    type: 'string[]',
    doc: 'SECURITY: secrets (at least 32 characters each) for the HMAC of the known-device and device-page cookies; the first signs, all verify, so one can be rotated. Processes acting as one server must share them.',
    defaultText: 'one random secret per server instance',
    check: checkCookieSecrets,
    fallback: () => [randomToken(32)] as readonly string[],
  }),
  maxBodyBytes: option({
    feature: 'core',
    type: 'bytes',
    doc: 'Largest request body accepted, in bytes (413 above it). The adapters have their own `maxBodyBytes` option with the same default; the smaller limit wins.',
    default: 65_536 as number,
    check: (value: unknown, path: string): number => {
      if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new TypeError(`${path}: must be a positive number of bytes`)
      return value
    },
  }),
  overload: group({
    feature: 'core',
    doc: 'Load shedding (see [operations](operations.md#overload)): past a bound, a request is answered at once with 503 `temporarily_unavailable` and `Retry-After` (an HTML page at the authorization endpoint and the pages) instead of waiting behind the others. Discovery and JWKS are never refused. Without a bound nothing is counted.',
    members: {
      maxRequestsInFlight: option({
        feature: 'core',
        type: 'count',
        doc: 'Requests the server works on at once (from the endpoint call to its response); one more is refused. Set it no lower than the connections that reach one process: a bound the load keeps full refuses on the event loop the admitted requests need. `grantkit serve` uses 4096, its connection cap.',
        defaultText: 'none: unbounded',
        check: wholeNumberAtLeastOne,
      }),
      maxEventLoopDelay: option({
        feature: 'core',
        type: 'seconds',
        doc: 'Refuse requests while `eventLoopDelay()` says the event loop lags more than this many seconds (may be fractional); needs `eventLoopDelay`. Not for a machine whose CPUs other processes share: the loop then lags for reasons refusing requests does not remove. `grantkit serve` sets none but supplies the source.',
        defaultText: 'none',
        check: (value: unknown, path: string, ctx: CheckContext): number => {
          const seconds = positiveSeconds(value, path)
          const source = (ctx.input.overload as Record<string, unknown> | undefined)?.eventLoopDelay
          if (typeof source !== 'function') throw new TypeError(`${path}: needs overload.eventLoopDelay, a function returning the current delay in seconds (eventLoopDelayMonitor() of grantkit/node gives one)`)
          return seconds
        },
      }),
      eventLoopDelay: option({
        feature: 'core',
        json: false,
        type: '() => number',
        doc: 'The current event-loop delay in seconds, asked once per request while `maxEventLoopDelay` is set: `eventLoopDelayMonitor().delay` from `grantkit/node`, or a source of your own (it must be cheap).',
        defaultText: 'none',
        check: fn<() => number>('returning the current event-loop delay in seconds'),
      }),
      retryAfter: option({
        feature: 'core',
        type: 'seconds',
        doc: 'The `Retry-After` of a refused request, in whole seconds (RFC 9110 §10.2.3).',
        default: 1 as number,
        check: wholeNumberAtLeastOne,
      }),
    },
  }),
  metadataMaxAge: option({
    feature: 'discovery',
    type: 'seconds',
    doc: 'Seconds discovery and JWKS responses may be cached (`cache-control: public, max-age=…`).',
    default: 300 as number,
    check: nonNegative,
  }),
  paths: group({
    feature: 'core',
    doc: 'Endpoint paths, relative to the issuer.',
    memberNoun: 'endpoint',
    notAnObject: 'must be an object of endpoint paths',
    members: {
      token: endpointPath('core', '/token', 'Token endpoint path, relative to the issuer.'),
      jwks: endpointPath('discovery', '/jwks', 'JWKS path, relative to the issuer.'),
      authorization: endpointPath('authorization', '/authorize', 'Authorization endpoint path.'),
      userinfo: endpointPath('userinfo', '/userinfo', 'Userinfo endpoint path.'),
      interaction: endpointPath('interaction', '/interaction', 'Base path of the built-in login and consent pages (`{interaction}/{uid}`).'),
      revocation: endpointPath('revocation', '/revoke', 'Revocation endpoint path (RFC 7009).'),
      introspection: endpointPath('introspection', '/introspect', 'Introspection endpoint path (RFC 7662).'),
      deviceAuthorization: endpointPath('device-flow', '/device_authorization', 'Device authorization endpoint path (RFC 8628).'),
      deviceVerification: endpointPath('device-flow', '/device', 'The device flow\'s `verification_uri`.'),
    },
  }),
  trust: {
    feature: 'assertion-grants',
    json: true,
    type: 'object',
    doc: 'Issuers whose JWT (RFC 7523) and SAML (RFC 7522) assertions are accepted as grants.',
    defaultText: 'none',
    memberNoun: 'option',
    members: {
      jwtIssuers: option({
        feature: 'assertion-grants',
        type: 'JwtIssuerTrust[]',
        doc: 'Issuers whose JWTs the JWT bearer grant accepts: `{ issuer, jwks, subjects?, scopes? }`.',
        defaultText: 'none',
        // createTrustRegistry checks the content; this is the entries' field names.
        shape: (value: unknown, path: string) => refuseUnknownFieldsInEntries(value, JWT_ISSUER_FIELDS, path),
        check: (value: unknown, path: string): JwtIssuerTrust[] => {
          refuseUnknownFieldsInEntries(value, JWT_ISSUER_FIELDS, path)
          return value as JwtIssuerTrust[]
        },
      }),
      samlIdps: option({
        feature: 'assertion-grants',
        type: 'SamlIdpTrust[]',
        doc: 'SAML IdPs whose assertions the SAML bearer grant accepts: `{ entityId, certificate, subjects?, scopes? }`.',
        defaultText: 'none',
        shape: (value: unknown, path: string) => refuseUnknownFieldsInEntries(value, SAML_IDP_FIELDS, path),
        check: (value: unknown, path: string): SamlIdpTrust[] => {
          refuseUnknownFieldsInEntries(value, SAML_IDP_FIELDS, path)
          return value as SamlIdpTrust[]
        },
      }),
    },
    shape: trustShape,
    check(value: unknown, path: string): TrustRegistry {
      trustShape(value, path)
      return createTrustRegistry(value as TrustOptions, path)
    },
    fallback: (): TrustRegistry => createTrustRegistry(undefined),
  } satisfies OptionEntry<TrustRegistry>,
  passwordHashing: passwordHashingGroup(),
  users: option({
    feature: 'core',
    type: 'UserSource | StaticUser[]',
    doc: 'A `UserSource` (`findByUsername`, `verifyPassword`, `claims`, optional `updatePasswordHash`), or a static list `{ username, password | password_hash, claims }` (passwords hashed with Argon2id at `passwordHashing` cost at start). Needed by the built-in pages, the password grant, the device grant, userinfo, and assertion grants whose subject is a person.',
    defaultText: 'none',
    shape: (value: unknown, path: string) => {
      if (!Array.isArray(value) && !isUserSource(value)) throw new TypeError(`${path}: must be an array`)
      refuseUnknownFieldsInEntries(value, STATIC_USER_FIELDS, path)
    },
    check: checkUsers,
  }),
  interaction: group({
    feature: 'interaction',
    json: false,
    doc: 'Your own login and consent UI.',
    members: {
      url: option({
        feature: 'interaction',
        json: false,
        type: '(uid) => string',
        doc: '`(uid) => url` of your own login/consent UI; it calls `server.interactions.details` and `.finish` (see [interaction.md](interaction.md)).',
        defaultText: 'the built-in pages',
        check: fn<(uid: string) => string>('of the interaction uid'),
      }),
    },
  }),
  pages: {
    feature: 'interaction',
    json: true,
    type: 'object',
    doc: 'Look and languages of the built-in pages (see [pages.md](pages.md)).',
    defaultText: 'the built-in look, in every built-in language',
    memberNoun: 'option',
    members: {
      theme: option({
        feature: 'interaction',
        type: '{ name?, logoUrl?, colors?, css? }',
        doc: 'Product name, logo (an https URL or a same-origin path), CSS colours (`primary`, `onPrimary`, `background`, `surface`, `text`, `border`) and extra CSS, admitted by the pages\' Content-Security-Policy through its hash; CSS containing `</style` or loading another origin is refused.',
        defaultText: 'the built-in look',
        check: (value: unknown): unknown => value,
      }),
      locales: option({
        feature: 'interaction',
        type: 'string[]',
        doc: 'Languages the pages speak (BCP 47 tags), chosen by `ui_locales` (OIDC Core §3.1.2.1), then `Accept-Language`; published as `ui_locales_supported`. A language grantkit does not ship needs every text in `messages`.',
        defaultText: DEFAULT_LOCALES.map((l) => `\`${l}\``).join(', '),
        check: (value: unknown): unknown => value,
      }),
      defaultLocale: option({
        feature: 'interaction',
        type: 'string',
        doc: 'Language when neither `ui_locales` nor `Accept-Language` names one of `locales`.',
        defaultText: `\`${DEFAULT_LOCALE}\` (else the first of \`locales\`)`,
        check: (value: unknown): unknown => value,
      }),
      messages: option({
        feature: 'interaction',
        type: 'Record<locale, Partial<Catalogue>>',
        doc: 'Texts by language and message key, replacing the built-in ones; each keeps the `{placeholders}` of the English text.',
        defaultText: 'none',
        check: (value: unknown): unknown => value,
      }),
    },
    shape: pagesShape,
    // The members are documented one by one but resolved together: locales, defaults and texts constrain each other.
    check: (value: unknown, path: string, ctx: CheckContext): PageSettings => resolvePages(value, path, ctx.input.issuer as string),
    fallback: (ctx: CheckContext): PageSettings => resolvePages(undefined, 'pages', ctx.input.issuer as string),
  } satisfies OptionEntry<PageSettings>,
  sessionTtl: option({ feature: 'interaction', type: 'seconds', doc: 'Browser session (single sign-on) lifetime.', default: 86_400 as number, check: positiveSeconds }),
  consentTtl: option({ feature: 'interaction', type: 'seconds', doc: 'How long granted consent is remembered.', default: 31_536_000 as number, check: positiveSeconds }),
  interactionTtl: option({
    feature: 'interaction',
    type: 'seconds',
    doc: 'Lifetime of a login/consent step in progress (and of its cookie).',
    default: 600 as number,
    check: positiveSeconds,
  }),
  requirePushedAuthorizationRequests: option({
    feature: 'pushed-authorization-requests',
    type: 'boolean',
    doc: 'Accept authorization requests only through the pushed authorization request endpoint (RFC 9126 §5), for every client; published as `require_pushed_authorization_requests`. A client registered with `require_pushed_authorization_requests: true` is held to it either way.',
    defaultText: '`false`',
    check: boolean,
    fallback: () => false,
  }),
  requireSignedRequestObject: option({
    feature: 'request-objects',
    type: 'boolean',
    doc: 'Accept authorization requests only as signed request objects (RFC 9101 §10.5), by value or pushed, for every client; published as `require_signed_request_object`. A client registered with `require_signed_request_object: true` is held to it either way.',
    defaultText: '`false`',
    check: boolean,
    fallback: () => false,
  }),
  pkce: group({
    feature: 'authorization',
    doc: 'PKCE policy (RFC 7636, RFC 9700 §2.1.1).',
    members: {
      required: option({
        feature: 'authorization',
        type: '"public" | "all"',
        doc: 'Who must send a PKCE challenge: `public` clients (RFC 9700 §2.1.1 MUST) or `all`.',
        default: 'public' as 'public' | 'all',
        check: oneOf<'public' | 'all'>(['public', 'all']),
      }),
      allowPlain: option({
        feature: 'authorization',
        type: 'boolean',
        doc: 'Accept `code_challenge_method=plain` (RFC 7636 §4.2).',
        default: false as boolean,
        check: boolean,
      }),
    },
  }),
  deviceFlow: group({
    feature: 'device-flow',
    doc: 'Device authorization grant (RFC 8628): polling interval and code-entry limits.',
    members: {
      interval: seconds('device-flow', 5, 'Seconds a device waits between polls (RFC 8628 §3.2 `interval`); grows by 5 on each `slow_down`.'),
      maxAttempts: option({
        feature: 'device-flow',
        type: 'count',
        doc: 'Code entries per browser (signed cookie) and per user code in one `attemptWindow` (RFC 8628 §5.1).',
        default: 10 as number,
        check: wholeNumberAtLeastOne,
      }),
      attemptWindow: seconds('device-flow', 900, 'Length of the per-browser and per-code counting window.'),
      maxAttemptsPerAddress: option({
        feature: 'device-flow',
        type: 'count',
        doc: 'Code entries per source address (`remoteAddress`) in one `addressWindow`: a short window, so people behind the same address as a guesser wait at most that long.',
        default: 60 as number,
        check: wholeNumberAtLeastOne,
      }),
      addressWindow: seconds('device-flow', 60, 'Length of the per-address code-entry window (clock-aligned).'),
    },
  }),
  passwordGrant: group({
    feature: 'password-grant',
    doc: 'Throttling of password attempts, on the login page and in the password grant (see [security.md](security.md)).',
    members: {
      maxFailures: option({
        feature: 'password-grant',
        type: 'count',
        doc: 'Password attempts per account (as the user source identifies it) without delay; after them, attempts must wait a growing delay.',
        default: 5 as number,
        check: wholeNumberAtLeastOne,
      }),
      failureWindow: seconds('password-grant', 900, 'How long an account\'s attempt count is remembered, from its first attempt (a success clears it).'),
      maxDelay: seconds('password-grant', 300, 'Longest wait between attempts on one account: after attempt n (n ≥ `maxFailures`) the next waits `min(2^(n-maxFailures), maxDelay)` seconds.'),
      maxAttemptsPerAddress: option({
        feature: 'password-grant',
        type: 'count',
        doc: 'Password attempts per source address (`remoteAddress`), on any accounts, in one `addressWindow`.',
        default: 50 as number,
        check: wholeNumberAtLeastOne,
      }),
      addressWindow: seconds('password-grant', 300, 'Length of the per-address window (clock-aligned).'),
      knownDeviceTtl: seconds('password-grant', 2_592_000, 'Lifetime of the signed known-device cookie a login page sign-in sets; such a browser is throttled on its own, not with the account.'),
    },
  }),
  dpop: group({
    feature: 'dpop',
    doc: 'DPoP (RFC 9449): proofs at the token endpoint and userinfo, sender-constrained tokens, server-provided nonces (see [dpop.md](dpop.md)).',
    members: {
      required: option({
        feature: 'dpop',
        type: 'boolean',
        doc: 'Every token request must carry a DPoP proof, whatever the client registered (RFC 9449 §5.2 `dpop_bound_access_tokens` for all).',
        default: false as boolean,
        check: boolean,
      }),
      requireNonce: option({
        feature: 'dpop',
        type: 'boolean',
        doc: 'Proofs must carry a server-provided nonce (RFC 9449 §8); a proof without a fresh one gets `use_dpop_nonce` and a `DPoP-Nonce` header. Nonces are an HMAC of a time window under `cookieSecrets`, so processes sharing those share nonces.',
        default: false as boolean,
        check: boolean,
      }),
      nonceLifetime: seconds('dpop', 300, 'Length of a nonce window: a nonce is accepted in its window and the next.'),
      proofMaxAge: seconds('dpop', 60, 'Seconds a proof is accepted after its `iat` (RFC 9449 §11.1); its `jti` is remembered that long.'),
      proofClockSkew: seconds('dpop', 5, 'Seconds a proof\'s `iat` may be ahead of the server clock.'),
      algorithms: option({
        feature: 'dpop',
        type: 'string[]',
        doc: 'Proof algorithms accepted and advertised (`dpop_signing_alg_values_supported`); asymmetric only.',
        // A computed default (the one asymmetric allow-list), so the exported `defaults` keep to plain values.
        defaultText: 'every asymmetric algorithm: `RS256`…`RS512`, `PS256`…`PS512`, `ES256`…`ES512`, `EdDSA`, `Ed25519`',
        check: checkDpopAlgorithms,
        fallback: (): readonly string[] => ASYMMETRIC_ALGORITHMS,
      }),
    },
  }),
  // The switches have no plain `default`: they are not values to tune, so they
  // stay out of the exported `defaults`, as in 0.1.
  allowHttpRedirectUris: option({
    feature: 'authorization',
    type: 'boolean',
    doc: 'SECURITY: accept http redirect URIs on non-loopback hosts (RFC 9700 §2.6 forbids them); loopback http and app schemes are always accepted. Only for tests.',
    defaultText: '`false`',
    check: boolean,
    fallback: () => false,
  }),
  allowHttpIssuer: option({
    feature: 'core',
    type: 'boolean',
    doc: 'SECURITY: accept an http issuer on a non-loopback host (only behind TLS termination, for tests).',
    defaultText: '`false`',
    check: boolean,
    fallback: () => false,
  }),
  allowPrivateNetworkFetches: option({
    feature: 'core',
    type: 'boolean',
    doc: 'SECURITY: let requests the server makes itself (back-channel logout deliveries, `jwks_uri` key sets, Client ID Metadata Documents) reach loopback, private, link-local and CGNAT addresses, and plain http on loopback; without it a client registered with such a URL is refused, and a name resolving to one is never contacted. Only for tests and closed networks.',
    defaultText: '`false`',
    check: boolean,
    fallback: () => false,
  }),
  remoteDocuments: group({
    feature: 'core',
    doc: 'How the server fetches and caches documents about clients: key sets at a client\'s `jwks_uri` and Client ID Metadata Documents (see [client authentication](client-authentication.md#keys-by-url-jwks_uri)). Every fetch is https only, refuses private addresses (unless `allowPrivateNetworkFetches`), follows no redirect and reads at most 64 KiB (a key set) or 5 KiB (a metadata document).',
    members: {
      timeout: seconds('core', 5, 'How long one fetch may take, connection to last byte.'),
      minCacheTtl: seconds('core', 300, 'Shortest time a fetched document is kept: a smaller `max-age`, `no-cache`, `no-store` or no `Cache-Control` count as this.'),
      maxCacheTtl: seconds('core', 86_400, 'Longest time a fetched document is kept, whatever its `Cache-Control: max-age` says.'),
      maxEntries: option({
        feature: 'core',
        type: 'count',
        doc: 'Documents kept at most per process; the least recently used are dropped first.',
        default: 1000 as number,
        check: wholeNumberAtLeastOne,
      }),
      refetchInterval: seconds('core', 60, 'Least time between two fetches of one URL before its copy expires: a signature with a `kid` the cached key set lacks fetches it again at most this often, and so does a failing refresh.'),
      staleIfError: option({
        feature: 'core',
        type: 'seconds',
        doc: 'How long past its lifetime the last good copy still serves while fetching it fails (the host is down); 0 serves nothing stale. A 404 or 410 drops the copy at once.',
        default: 3600 as number,
        check: nonNegative,
      }),
    },
  }),
  clientIdMetadataDocuments: group({
    feature: 'client-id-metadata',
    doc: 'Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document): a `client_id` that is an https URL names the client described by the JSON document at that URL; see [client ID metadata documents](client-id-metadata.md). Off by default.',
    members: {
      enabled: option({
        feature: 'client-id-metadata',
        type: 'boolean',
        doc: 'Accept such clients and advertise `client_id_metadata_document_supported`.',
        default: false as boolean,
        check: boolean,
      }),
      allowedHosts: option({
        feature: 'client-id-metadata',
        type: 'string[]',
        doc: 'Hosts whose documents are fetched: exact host names, or `*.example.com` for every name below example.com. Absent: any public host.',
        defaultText: 'none: any public host',
        check: checkAllowedHosts,
      }),
      policy: option({
        feature: 'client-id-metadata',
        json: false,
        type: '(metadata, { clientId, host }) => metadata',
        doc: 'Decides what such a client may be: returns the metadata to use (for instance with fewer `grant_types` or a narrower `scope`) or throws to refuse the client. The document rules still apply to what it returns.',
        defaultText: 'none: the document as published',
        check: fn<ClientIdMetadataPolicy>('(metadata, { clientId, host }) returning the metadata to use'),
      }),
    },
  }),
  admin: group({
    feature: 'admin',
    doc: 'The admin API: a JSON API over clients, grants, consents and sessions, for callers holding an access token of this server with the admin scope. Off by default.',
    members: {
      enabled: option({ feature: 'admin', type: 'boolean', doc: 'Serve the admin API.', default: false as boolean, check: boolean }),
      scope: option({
        feature: 'admin',
        type: 'string',
        doc: 'The scope an access token must carry to call the admin API (RFC 6750 §3.1 `insufficient_scope` otherwise).',
        default: 'grantkit:admin' as string,
        check: scopeToken,
      }),
      path: endpointPath('admin', '/admin/api', 'Base path of the admin API, relative to the issuer.'),
      console: group({
        feature: 'admin-console',
        doc: 'The admin console (docs/admin.md#console): server-rendered pages for administrators, who sign in through this server\'s own authorization code flow. Needs `users`, whose source says who is an administrator (`isAdministrator`, or `"admin": true` on a static user).',
        members: {
          enabled: option({ feature: 'admin-console', type: 'boolean', doc: 'Serve the console. Off, nothing is routed under its path.', default: false as boolean, check: boolean }),
          path: endpointPath('admin-console', '/admin', 'Base path of the console, relative to the issuer; the admin API\'s own path below it stays the API\'s.'),
          idleTimeout: seconds('admin-console', 900, 'A console session ends after this long without a request.'),
          absoluteTimeout: seconds('admin-console', 28_800, 'A console session ends this long after sign-in, however busy.'),
          auditEvents: option({
            feature: 'admin-console',
            type: 'count',
            doc: 'Audit events the console keeps in memory and shows when the storage has no `auditEvents` store (what this process saw, newest first).',
            default: 200 as number,
            check: wholeNumberAtLeastOne,
          }),
        },
      }),
    },
  }),
  registration: group({
    feature: 'registration',
    doc: 'Dynamic Client Registration (RFC 7591) and its management (RFC 7592); see [registration](registration.md). Needs a storage with a `clients` store.',
    members: {
      enabled: option({
        feature: 'registration',
        type: 'boolean',
        doc: 'Opens the registration endpoint and advertises `registration_endpoint`; absent or false, the endpoint is 404.',
        default: false as boolean,
        check: boolean,
      }),
      initialAccessToken: option({
        feature: 'registration',
        type: 'string | string[]',
        doc: 'SECURITY: the bearer token(s) a registration must present (RFC 7591 §3); kept only as SHA-256 hashes, compared in constant time. Absent: anyone may register (open registration). Use 32+ random characters.',
        defaultText: 'none: open registration',
        check: checkInitialAccessTokens,
      }),
      policy: option({
        feature: 'registration',
        json: false,
        type: '(metadata, ctx) => metadata',
        doc: 'Decides what a registration or update may be: returns the metadata to register (defaults filled in) or throws a `RegistrationPolicyError` with an RFC 7591 code. The server\'s own rules still apply to what it returns.',
        defaultText: 'none: the server\'s rules only',
        check: fn<RegistrationPolicy>('(metadata, ctx) returning the metadata to register'),
      }),
      softwareStatement: option({
        feature: 'registration',
        type: '{ issuers: { issuer, jwks }[], required? }',
        doc: 'Issuers whose signed software statements (RFC 7591 §2.3) are accepted; their claims win over the request\'s. With `required: true` a registration must carry one.',
        defaultText: 'none: a statement is `unapproved_software_statement`',
        check: checkSoftwareStatementOptions,
      }),
      accessTokenTtl: option({
        feature: 'registration',
        type: 'seconds',
        doc: 'Lifetime of a registration access token (RFC 7592 §3); each update issues a new one.',
        defaultText: 'none: until the next update',
        check: positiveSeconds,
      }),
    },
  }),
  backchannelLogout: group({
    feature: 'logout',
    doc: 'Delivery of logout tokens to the clients of an ended session (OpenID Connect Back-Channel Logout).',
    members: {
      timeout: seconds('logout', 5, 'How long one delivery may take, connection to response.'),
      maxAttempts: option({
        feature: 'logout',
        type: 'count',
        doc: 'Deliveries tried per client and logout (network errors, timeouts, 5xx, 408 and 429 are tried again); after the last, a `logout.delivery.failed` event.',
        default: 4 as number,
        check: wholeNumberAtLeastOne,
      }),
      retryDelay: seconds('logout', 2, 'Wait before the second attempt; it doubles before each later one.'),
    },
  }),
  telemetry: group({
    feature: 'telemetry',
    json: false,
    doc: 'OpenTelemetry providers for spans and metrics (see [operations](operations.md#metrics-and-traces)). Without either, and without a provider registered globally when the server is built, nothing is instrumented.',
    members: {
      tracerProvider: option({
        feature: 'telemetry',
        json: false,
        type: 'TracerProvider',
        doc: 'Receives a span per endpoint call (`grantkit token`) and per storage call below it.',
        defaultText: 'the provider registered with `@opentelemetry/api`, if any',
        check: (value: unknown, path: string): TracerProvider => {
          if (!isRecord(value) || typeof value.getTracer !== 'function') throw new TypeError(`${path}: must be an OpenTelemetry TracerProvider (with getTracer)`)
          return value as unknown as TracerProvider
        },
      }),
      meterProvider: option({
        feature: 'telemetry',
        json: false,
        type: 'MeterProvider',
        doc: 'Receives the `grantkit.requests`, `grantkit.request.duration`, `grantkit.tokens.issued` and `grantkit.storage.failures` instruments.',
        defaultText: 'the provider registered with `@opentelemetry/api`, if any',
        check: (value: unknown, path: string): MeterProvider => {
          if (!isRecord(value) || typeof value.getMeter !== 'function') throw new TypeError(`${path}: must be an OpenTelemetry MeterProvider (with getMeter)`)
          return value as unknown as MeterProvider
        },
      }),
    },
  }),
  logger: option({
    feature: 'core',
    json: false,
    type: 'Logger',
    doc: 'Where one line per request goes (request id, endpoint, status, client_id, grant_type, duration, the reason of a refusal; never a secret, token, code or password): a pino logger or any object with `debug`, `info`, `warn` and `error(obj, msg)`. See [operations.md](operations.md#logs).',
    defaultText: 'none: nothing is logged',
    check: checkLogger,
  }),
  deps: group({
    feature: 'core',
    json: false,
    doc: 'Replaceable sources of time and randomness, for tests. The default memory storage uses `deps.now` too.',
    members: {
      now: option({
        feature: 'core',
        json: false,
        type: '() => number',
        doc: 'Clock: seconds since the epoch, may be fractional. The default memory storage uses it too.',
        defaultText: 'system clock',
        check: fn<() => number>('returning seconds since the epoch'),
        fallback: () => () => Date.now() / 1000,
      }),
      randomId: option({
        feature: 'core',
        json: false,
        type: '() => string',
        doc: 'Ids (jti, grant ids).',
        defaultText: 'random',
        check: fn<() => string>('returning a unique id'),
        fallback: () => randomId,
      }),
      randomToken: option({
        feature: 'core',
        json: false,
        type: '() => string',
        doc: 'Secrets: 256 bits, base64url.',
        defaultText: 'random',
        check: fn<() => string>('returning 256 random bits, base64url'),
        fallback: () => () => randomToken(32),
      }),
    },
  }),
}

/** The schema's type: one entry per top-level option. */
export type OptionSchema = typeof optionSchema

/** Names of the top-level options. */
export type OptionName = keyof OptionSchema

/**
 * Resolves one entry: the given value checked, or its default when absent.
 * `null` is a value, and refused by the checks: JSON has no "absent" but omission.
 *
 * @throws TypeError naming `path`
 * @example
 * resolveEntry(optionSchema.sessionTtl, undefined, 'sessionTtl', { input: {} }) // 86400
 */
export function resolveEntry<T>(entry: OptionEntry<T>, value: unknown, path: string, ctx: CheckContext): T {
  if (value !== undefined) return entry.check(value, path, ctx)
  if (entry.required !== undefined) throw new TypeError(`${path}: is required (${entry.required})`)
  if (entry.fallback !== undefined) return entry.fallback(ctx)
  return entry.default as T
}

/** One documented option or member: its dotted path and its entry. */
export interface OptionRow {
  readonly path: string
  readonly entry: OptionEntry<unknown>
}

/**
 * Every entry as a row of the reference: top-level options, then members as
 * `ttl.accessToken`. A group whose members are all listed is left out itself,
 * except a collaborator (`keys`) that also takes another form.
 *
 * @example
 * optionRows().map((r) => r.path) // ['issuer', 'clients', …, 'ttl.accessToken', …]
 */
export function optionRows(schema: Readonly<Record<string, OptionEntry<unknown>>> = optionSchema as never): OptionRow[] {
  const rows: OptionRow[] = []
  // A group is its members' rows; `keys` (also a KeyStore) and a group inside a group (`admin.console`, an object in the options type) have a row of their own as well.
  const walk = (entries: Readonly<Record<string, OptionEntry<unknown>>>, prefix: string): void => {
    for (const [name, entry] of Object.entries(entries)) {
      const path = prefix + name
      if (entry.members === undefined || path === 'keys' || prefix !== '') rows.push({ path, entry })
      if (entry.members !== undefined) walk(entry.members, `${path}.`)
    }
  }
  walk(schema, '')
  return rows
}

/** The exported `defaults`: every top-level option with a plain default, groups as objects of their members' defaults. */
export type DefaultsOf<S> = {
  -readonly [K in keyof S as S[K] extends { default: unknown; json: true } ? K : never]: S[K] extends { members: infer M }
    ? { -readonly [N in keyof M as M[N] extends { default: unknown } ? N : never]: M[N] extends { members: infer G }
        ? { -readonly [X in keyof G]: G[X] extends { default: infer D } ? D : never }
        : Resolved<M[N]> }
    : Resolved<S[K]>
}

/**
 * The plain defaults of a schema, as `defaults` exports them. Collaborators
 * (`json: false`) are left out: their defaults are built, not values.
 *
 * @example
 * defaultsOf(optionSchema).ttl.accessToken // 3600
 */
export function defaultsOf<S extends Record<string, OptionEntry<any>>>(schema: S): DefaultsOf<S> {
  const out: Record<string, unknown> = {}
  for (const [name, entry] of Object.entries(schema)) {
    if (entry.json && entry.default !== undefined) out[name] = structuredClone(entry.default)
  }
  return out as DefaultsOf<S>
}

/** The resolved value of every option but `paths`, whose names the caller's endpoints decide. */
export type ResolvedSchema = { readonly [K in Exclude<OptionName, 'paths'>]: Resolved<OptionSchema[K]> }
