import { OAuthError } from '../errors.js'
import { Scope } from './scope.js'

/**
 * A resource server as configured (option `resourceServers`): its identifier
 * (RFC 8707 §2), the scopes that mean something there, and optionally its own
 * access-token format and lifetime.
 *
 * @example
 * const api: ResourceServerOptions = { resource: 'https://api.example', scopes: ['api:read'], accessTokenTtl: 300 }
 */
export interface ResourceServerOptions {
  /** The resource identifier: an absolute URI without a fragment (RFC 8707 §2). Compared as a string, exactly. */
  resource: string
  /** The scopes this resource server understands; a token for it carries only asked scopes listed here. */
  scopes: readonly string[]
  /** Format of access tokens issued for this resource alone. Default: the server's `accessTokenFormat`. */
  accessTokenFormat?: 'jwt' | 'opaque'
  /** Lifetime in seconds of access tokens issued for this resource. Default: the server's `ttl.accessToken`. */
  accessTokenTtl?: number
}

/** A resource server, validated. */
export interface ResourceServer {
  readonly resource: string
  readonly scopes: ReadonlySet<string>
  readonly accessTokenFormat?: 'jwt' | 'opaque'
  readonly accessTokenTtl?: number
}

/** The registered resource servers, by identifier. */
export type ResourceServers = ReadonlyMap<string, ResourceServer>

/** Fields of a `resourceServers` entry. */
export const RESOURCE_SERVER_FIELDS = ['resource', 'scopes', 'accessTokenFormat', 'accessTokenTtl'] as const satisfies ReadonlyArray<keyof ResourceServerOptions>

/** Most `resource` (or `audience`) values one request may carry; more is invalid_target. */
export const MAX_RESOURCES = 16
/** Longest accepted resource identifier, in characters. */
const MAX_RESOURCE_LENGTH = 2048

// RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then ":".
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/
// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/

/**
 * Why a string is not a resource identifier (RFC 8707 §2: an absolute URI,
 * RFC 3986 §4.3, that may have a query but MUST NOT have a fragment), or
 * undefined when it is one.
 *
 * @example
 * resourceUriProblem('https://api.example/v1') // undefined
 * resourceUriProblem('https://api.example/#x') // 'has a fragment'
 */
export function resourceUriProblem(value: string): string | undefined {
  if (value.length > MAX_RESOURCE_LENGTH) return 'is too long'
  if (value.includes('#')) return 'has a fragment'
  // No whitespace or control characters: what the wire carries is compared as it is.
  if (/[\s\x00-\x1f\x7f]/.test(value) || !SCHEME.test(value)) return 'is not an absolute URI'
  try {
    new URL(value)
  } catch {
    return 'is not an absolute URI'
  }
  return undefined
}

/**
 * Validates the `resourceServers` option: each entry an absolute URI without
 * fragment, registered once, with scope tokens (the server's known `scopes`
 * when given) and an optional format and lifetime.
 *
 * @throws TypeError naming the field
 * @example
 * const servers = checkResourceServers([{ resource: 'https://api.example', scopes: ['api:read'] }], 'resourceServers')
 */
export function checkResourceServers(value: unknown, path: string, knownScopes?: ReadonlySet<string>): ResourceServers {
  if (!Array.isArray(value)) throw new TypeError(`${path}: must be an array of { resource, scopes }`)
  const out = new Map<string, ResourceServer>()
  value.forEach((entry: unknown, i) => {
    const at = `${path}[${i}]`
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new TypeError(`${at}: must be an object { resource, scopes }`)
    const e = entry as Record<string, unknown>
    for (const name of Object.keys(e)) {
      if (!(RESOURCE_SERVER_FIELDS as readonly string[]).includes(name)) throw new TypeError(`${at}.${name}: unknown field (known: ${RESOURCE_SERVER_FIELDS.join(', ')})`)
    }
    if (typeof e.resource !== 'string' || e.resource === '') throw new TypeError(`${at}.resource: must be an absolute URI (RFC 8707 §2)`)
    const problem = resourceUriProblem(e.resource)
    if (problem !== undefined) throw new TypeError(`${at}.resource: "${e.resource}" ${problem} (RFC 8707 §2: an absolute URI without a fragment)`)
    if (out.has(e.resource)) throw new TypeError(`${at}.resource: "${e.resource}" is listed twice`)
    if (!Array.isArray(e.scopes)) throw new TypeError(`${at}.scopes: must be an array of scope tokens`)
    const scopes = new Set<string>()
    e.scopes.forEach((s: unknown, j) => {
      if (typeof s !== 'string' || !SCOPE_TOKEN.test(s)) throw new TypeError(`${at}.scopes[${j}]: must be one scope token (RFC 6749 §3.3)`)
      if (knownScopes !== undefined && !knownScopes.has(s)) throw new TypeError(`${at}.scopes[${j}]: "${s}" is not in scopes, so no token could carry it`)
      scopes.add(s)
    })
    const server: { -readonly [K in keyof ResourceServer]: ResourceServer[K] } = { resource: e.resource, scopes }
    if (e.accessTokenFormat !== undefined) {
      if (e.accessTokenFormat !== 'jwt' && e.accessTokenFormat !== 'opaque') throw new TypeError(`${at}.accessTokenFormat: must be "jwt" or "opaque"`)
      server.accessTokenFormat = e.accessTokenFormat
    }
    if (e.accessTokenTtl !== undefined) {
      if (typeof e.accessTokenTtl !== 'number' || !Number.isFinite(e.accessTokenTtl) || e.accessTokenTtl <= 0) throw new TypeError(`${at}.accessTokenTtl: must be a positive number of seconds`)
      server.accessTokenTtl = e.accessTokenTtl
    }
    out.set(e.resource, Object.freeze(server))
  })
  return out
}

/**
 * Checks the `resource` values of a request (RFC 8707 §2): each an absolute
 * URI without fragment that names a registered resource server. Repeats are
 * dropped; order is kept.
 *
 * @param name the parameter, for the message (`resource`, or RFC 8693 `audience`)
 * @throws OAuthError `invalid_target`
 * @example
 * const resources = checkRequestedResources(servers, ctx.values('resource'))
 */
export function checkRequestedResources(servers: ResourceServers, values: readonly string[], name = 'resource'): string[] {
  if (values.length > MAX_RESOURCES) throw new OAuthError('invalid_target', { description: `At most ${MAX_RESOURCES} ${name} values.` })
  const out: string[] = []
  for (const value of values) {
    const problem = resourceUriProblem(value)
    // RFC 8707 §2: invalid_target for a resource that is invalid, missing, unknown or malformed.
    if (problem !== undefined) throw new OAuthError('invalid_target', { description: `A ${name} value ${problem}.`, detail: `${name} ${value.slice(0, 100)} ${problem}` })
    if (!servers.has(value)) throw new OAuthError('invalid_target', { description: `The ${name} is not a resource server known to this authorization server.`, detail: `unknown ${name} ${value.slice(0, 100)}` })
    if (!out.includes(value)) out.push(value)
  }
  return out
}

/**
 * What an access token for some resource servers is: who it is for (`aud`),
 * what it may do there, and in which format and for how long.
 */
export interface AccessTokenTarget {
  /** The scope of the access token. */
  scope: Scope
  /** Its `aud`: the resources; absent when none was asked (the server's `accessTokenAudience` applies). */
  audience?: string[]
  /** The resource server's own format, when it has one. */
  accessTokenFormat?: 'jwt' | 'opaque'
  /** The resource server's own lifetime in seconds, when it has one. */
  accessTokenTtl?: number
}

/**
 * The audience, scope, format and lifetime of an access token for
 * `resources`, given the `scope` granted. With no resources, the token is as
 * before: `{ scope }`.
 *
 * The rule (RFC 8707 §2.2 leaves it to the server; we refuse rather than guess):
 * - A scope is carried when every named resource server lists it. A scope none
 *   of them lists (`openid`, `offline_access`) is left out of the access token.
 * - A scope that some but not all of them list is `invalid_target`: the token
 *   would either carry a permission to an audience that never defined it, or
 *   lose one the client meant for another. Ask for one token per resource.
 * - When a scope was granted and none is left, `invalid_scope`.
 * - Format: every named server must agree (its own, or the server default),
 *   else `invalid_target`. Lifetime: the shortest of theirs.
 *
 * @throws OAuthError `invalid_target`, `invalid_scope`
 * @example
 * const target = accessTokenTarget(servers, ['https://api.example'], Scope.parse('openid api:read'), 'jwt')
 * // { scope: Scope('api:read'), audience: ['https://api.example'] }
 */
export function accessTokenTarget(servers: ResourceServers, resources: readonly string[], scope: Scope, defaultFormat: 'jwt' | 'opaque'): AccessTokenTarget {
  if (resources.length === 0) return { scope }
  const entries = resources.map((r) => {
    const s = servers.get(r)
    if (s === undefined) throw new OAuthError('invalid_target', { detail: `unknown resource ${r.slice(0, 100)}` })
    return s
  })
  const kept: string[] = []
  for (const token of scope) {
    const listedBy = entries.filter((e) => e.scopes.has(token)).length
    if (listedBy === entries.length) kept.push(token)
    else if (listedBy > 0) {
      throw new OAuthError('invalid_target', {
        // RFC 6749 §5.2: error_description has no quote or backslash; a scope token has neither (§3.3).
        description: `The scope ${token} is valid at some of the requested resources but not all; ask for one token per resource.`,
        detail: `scope ${token} not listed by every requested resource`,
      })
    }
  }
  if (kept.length === 0 && scope.size > 0) {
    throw new OAuthError('invalid_scope', { description: 'No requested scope is valid at the requested resource.', detail: `none of "${String(scope).slice(0, 200)}" is listed by ${resources.join(' ').slice(0, 200)}` })
  }
  const formats = new Set(entries.map((e) => e.accessTokenFormat ?? defaultFormat))
  if (formats.size > 1) throw new OAuthError('invalid_target', { description: 'The requested resources take access tokens of different formats; ask for one token per resource.' })
  const target: AccessTokenTarget = { scope: Scope.of(kept), audience: [...resources] }
  const own = entries.map((e) => e.accessTokenFormat).find((f) => f !== undefined)
  if (own !== undefined) target.accessTokenFormat = own
  const ttls = entries.map((e) => e.accessTokenTtl).filter((t): t is number => t !== undefined)
  if (ttls.length > 0) target.accessTokenTtl = Math.min(...ttls)
  return target
}

/**
 * The resources a token request may name for a grant that was authorized for
 * `authorized` (RFC 8707 §2.2): a subset of them. A request that names none
 * gets all of them. A grant authorized for no resource allows none.
 *
 * @throws OAuthError `invalid_target`
 * @example
 * const resources = narrowResources(record.resource ?? [], requested)
 */
export function narrowResources(authorized: readonly string[], requested: readonly string[]): readonly string[] {
  if (requested.length === 0) return authorized
  for (const r of requested) {
    // RFC 8707 §2.2: the token request may only name resources the grant was authorized for.
    if (!authorized.includes(r)) {
      throw new OAuthError('invalid_target', { description: 'The resource was not part of the authorization.', detail: `resource ${r.slice(0, 100)} not authorized for this grant` })
    }
  }
  return requested
}
