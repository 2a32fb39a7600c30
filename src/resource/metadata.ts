import type { GrantkitRequest, GrantkitResponse } from '../http/types.js'

/** The well-known URI suffix of protected resource metadata (RFC 9728 §3). */
export const PROTECTED_RESOURCE_WELL_KNOWN = '/.well-known/oauth-protected-resource'

/**
 * What a protected resource says of itself beyond what the protector knows
 * (RFC 9728 §2). Everything is optional.
 *
 * @example
 * const metadata: ProtectedResourceMetadataOptions = { scopesSupported: ['orders:read'], resourceName: 'Orders API' }
 */
export interface ProtectedResourceMetadataOptions {
  /** `authorization_servers`: issuers whose tokens this resource accepts. Default: the protector's issuer (`server` or `jwks` mode). */
  authorizationServers?: readonly string[]
  /** `scopes_supported`. Default with `server`: the scopes of the server's `resourceServers` entry for this resource. */
  scopesSupported?: readonly string[]
  /** `resource_name`: a name for people. */
  resourceName?: string
  /** `resource_documentation`: a page for developers. */
  resourceDocumentation?: string
  /** `resource_policy_uri`. */
  resourcePolicyUri?: string
  /** `resource_tos_uri`. */
  resourceTosUri?: string
  /** Further members as RFC 9728 §2 or its extensions name them; they cannot replace the ones above. */
  extra?: Readonly<Record<string, unknown>>
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]'])

/**
 * Checks a protected resource's identifier (RFC 9728 §1.2: an https URL
 * without fragment; http only for a loopback host, for development).
 *
 * @throws TypeError naming `path`
 */
export function checkResourceIdentifier(value: unknown, path: string): URL {
  if (typeof value !== 'string' || value === '') throw new TypeError(`${path}: must be an https URL (RFC 9728 §1.2)`)
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new TypeError(`${path}: "${value}" is not a URL`)
  }
  if (value.includes('#')) throw new TypeError(`${path}: must not have a fragment (RFC 9728 §1.2)`)
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) throw new TypeError(`${path}: must be https (http only for loopback hosts)`)
  return url
}

/**
 * The URL of a protected resource's metadata (RFC 9728 §3.1): the well-known
 * suffix goes between the host and the path (a trailing "/" of the path
 * dropped), the query, if any, after it.
 *
 * @example
 * protectedResourceMetadataUrl('https://api.example/v1/mcp') // 'https://api.example/.well-known/oauth-protected-resource/v1/mcp'
 * protectedResourceMetadataUrl('https://api.example/')       // 'https://api.example/.well-known/oauth-protected-resource'
 */
export function protectedResourceMetadataUrl(resource: string): string {
  const url = new URL(resource)
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '')
  return `${url.origin}${PROTECTED_RESOURCE_WELL_KNOWN}${path}${url.search}`
}

/** The metadata document and how to answer for it, built once per protector. */
export interface ResourceMetadataEndpoint {
  readonly url: string
  readonly document: Readonly<Record<string, unknown>>
  /** The answer for a request to the document's path; undefined for any other path. */
  handle(req: GrantkitRequest): GrantkitResponse | undefined
}

const OWN_MEMBERS = new Set(['resource', 'authorization_servers', 'scopes_supported', 'bearer_methods_supported', 'resource_name', 'resource_documentation', 'resource_policy_uri', 'resource_tos_uri'])

/**
 * Builds the RFC 9728 §2 document of a resource and the handler that serves
 * it at its §3.1 path: GET and HEAD, JSON, cacheable, readable from any
 * origin (a browser client discovers it before it has any token).
 */
export function createResourceMetadataEndpoint(input: {
  resource: string
  authorizationServers: readonly string[] | undefined
  scopesSupported: readonly string[] | undefined
  bearerMethods: readonly string[]
  options: ProtectedResourceMetadataOptions
  path: string
}): ResourceMetadataEndpoint {
  const { options: o, path } = input
  const strings = (value: unknown, at: string): readonly string[] => {
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === '')) throw new TypeError(`${path}.${at}: must be an array of strings`)
    return value as string[]
  }
  const text = (value: unknown, at: string): string => {
    if (typeof value !== 'string' || value === '') throw new TypeError(`${path}.${at}: must be a non-empty string`)
    return value
  }
  // RFC 9728 §2: resource is REQUIRED and is exactly the identifier the URL was built from (§3.3).
  const document: Record<string, unknown> = { resource: input.resource }
  const servers = o.authorizationServers !== undefined ? strings(o.authorizationServers, 'authorizationServers') : input.authorizationServers
  if (servers !== undefined && servers.length > 0) document.authorization_servers = [...servers]
  const scopes = o.scopesSupported !== undefined ? strings(o.scopesSupported, 'scopesSupported') : input.scopesSupported
  if (scopes !== undefined) document.scopes_supported = [...scopes]
  document.bearer_methods_supported = [...input.bearerMethods]
  if (o.resourceName !== undefined) document.resource_name = text(o.resourceName, 'resourceName')
  if (o.resourceDocumentation !== undefined) document.resource_documentation = text(o.resourceDocumentation, 'resourceDocumentation')
  if (o.resourcePolicyUri !== undefined) document.resource_policy_uri = text(o.resourcePolicyUri, 'resourcePolicyUri')
  if (o.resourceTosUri !== undefined) document.resource_tos_uri = text(o.resourceTosUri, 'resourceTosUri')
  if (o.extra !== undefined) {
    if (typeof o.extra !== 'object' || o.extra === null || Array.isArray(o.extra)) throw new TypeError(`${path}.extra: must be an object`)
    for (const [k, v] of Object.entries(o.extra)) {
      if (OWN_MEMBERS.has(k)) throw new TypeError(`${path}.extra.${k}: set by the protector; use its own option`)
      document[k] = v
    }
  }
  Object.freeze(document)
  const url = protectedResourceMetadataUrl(input.resource)
  const wellKnownPath = new URL(url).pathname
  const body = JSON.stringify(document)
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'cache-control': 'public, max-age=300',
    'access-control-allow-origin': '*',
  }
  return {
    url,
    document,
    handle(req): GrantkitResponse | undefined {
      // The path alone decides: behind a proxy the Host the request names may not be the resource's.
      if (req.url.pathname !== wellKnownPath) return undefined
      if (req.method !== 'GET' && req.method !== 'HEAD') return { status: 405, headers: { allow: 'GET, HEAD', 'content-type': 'application/json' }, body: JSON.stringify({ error: 'invalid_request', error_description: 'Use GET.' }) }
      return { status: 200, headers: { ...headers }, ...(req.method === 'GET' && { body }) }
    },
  }
}
