/**
 * Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document,
 * "CIMD"): a client whose `client_id` is an https URL is described by the
 * JSON document at that URL. The server fetches it when the client first
 * shows up (through the guarded cache of remote documents), checks it by the
 * rules of the draft and of every other client, lets the operator's policy
 * narrow or refuse it, and then serves it like a registered client — without
 * storing it.
 */
import { OAuthError } from '../errors.js'
import { isLoopbackHost } from '../http/outbound.js'
import { registrableMetadata } from '../registration/fields.js'
import { prepareClient, type Client, type ClientMetadata, type PrepareClientOptions } from './metadata.js'
import type { ClientRegistry } from './registry.js'
import type { RemoteDocumentKind, RemoteDocuments } from './remote-documents.js'
import { checkClientForServer, type ServerClientRules } from './server-rules.js'

/**
 * The operator's say over a metadata-document client: returns the metadata to
 * use (the document's, or a narrower copy: fewer `grant_types`, a smaller
 * `scope`) or throws to refuse the client. The document rules are checked
 * again on what it returns.
 *
 * @example
 * const policy: ClientIdMetadataPolicy = (metadata, { host }) => {
 *   if (host.endsWith('.untrusted.example')) throw new Error('not here')
 *   return { ...metadata, grant_types: ['authorization_code'], scope: 'openid profile' }
 * }
 */
export type ClientIdMetadataPolicy = (
  metadata: Readonly<ClientMetadata>,
  context: { readonly clientId: string; readonly host: string },
) => ClientMetadata | Promise<ClientMetadata>

/** The option `clientIdMetadataDocuments`, resolved. */
export interface ClientIdMetadataSettings {
  readonly enabled: boolean
  readonly allowedHosts?: readonly string[] | undefined
  readonly policy?: ClientIdMetadataPolicy | undefined
}

/** CIMD §8.7 recommends reading at most 5 kilobytes of a document. */
const MAX_DOCUMENT_BYTES = 5 * 1024

/** The only authentication methods a client without a shared secret can use (CIMD §4.1, §8.2). */
const DOCUMENT_AUTH_METHODS: ReadonlySet<unknown> = new Set(['none', 'private_key_jwt'])

/**
 * Checks the option `allowedHosts`: lower-case host names, or `*.` followed by
 * one (every name below it, not the name itself).
 *
 * @throws TypeError naming the entry
 */
export function checkAllowedHosts(value: unknown, path: string): readonly string[] {
  if (!Array.isArray(value)) throw new TypeError(`${path}: must be an array of host names`)
  value.forEach((host, i) => {
    if (typeof host !== 'string' || !/^(?:\*\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*$/.test(host)) {
      throw new TypeError(`${path}[${i}]: must be a lower-case host name, or *. and one (every name below it)`)
    }
  })
  return [...(value as string[])]
}

function hostAllowed(host: string, allowed: readonly string[] | undefined): boolean {
  if (allowed === undefined) return true
  return allowed.some((entry) => (entry.startsWith('*.') ? host.endsWith(entry.slice(1)) : host === entry))
}

/**
 * Why `clientId` is not a Client Identifier URL (CIMD §3), or undefined when
 * it is one: https (http only to loopback with `allowPrivate`, for tests),
 * no user info, a path other than `/`, no `.` or `..` segments, no
 * fragment. It must also be written as the URL parser writes it (lower-case
 * host, no default port, no needless escapes): the document's `client_id`
 * is compared with it character by character (CIMD §4), and the URL fetched
 * must be that very string.
 *
 * @example
 * clientIdUrlProblem('https://app.example/oauth/client.json', false) // undefined
 * clientIdUrlProblem('https://app.example/', false) // 'must have a path other than /'
 */
export function clientIdUrlProblem(clientId: string, allowPrivate: boolean): string | undefined {
  let url: URL
  try {
    url = new URL(clientId)
  } catch {
    return 'is not a URL'
  }
  const loopbackForTests = url.protocol === 'http:' && allowPrivate && isLoopbackHost(url)
  if (url.protocol !== 'https:' && !loopbackForTests) return 'must use https'
  if (url.username !== '' || url.password !== '' || /^[a-z]+:\/\/[^/]*@/i.test(clientId)) return 'must not contain user info'
  if (clientId.includes('#')) return 'must not contain a fragment'
  const rawPath = /^[a-z]+:\/\/[^/?#]*(\/[^?#]*)?/i.exec(clientId)?.[1] ?? ''
  if (rawPath.split('/').some((segment) => /^(?:\.|%2e){1,2}$/i.test(segment))) return 'must not contain . or .. path segments'
  // CIMD §3: a path of / is NOT RECOMMENDED (the document would sit at the root of the site); refused here.
  if (rawPath === '' || rawPath === '/') return 'must have a path other than /'
  if (url.href !== clientId) return `must be written as ${url.href} (lower-case host, no default port), the exact string the document's client_id repeats`
  return undefined
}

/** Whether a client_id is a candidate for a metadata document at all: what else would be an unknown client. */
function looksLikeUrl(clientId: string): boolean {
  return clientId.startsWith('https://') || clientId.startsWith('http://')
}

/** What a metadata-document kind needs to turn a document into a Client. */
export interface MetadataDocumentRules {
  readonly settings: ClientIdMetadataSettings
  /** The same rules as every client (`allowHttpRedirectUris`, `allowPrivateNetworkFetches`). */
  readonly prepare: PrepareClientOptions
  /** What this server offers (grant types, scopes, sign-in): a document that asks for more is refused, as a configured client would be. */
  readonly server: ServerClientRules
}

function refuse(message: string): never {
  throw new TypeError(message)
}

/** CIMD §4.1: no shared secret, and authentication only by a method that needs none. */
function checkNoSecrets(metadata: Readonly<Record<string, unknown>>, where: string): void {
  for (const field of ['client_secret', 'client_secret_expires_at', 'client_secret_hash']) {
    if (metadata[field] !== undefined) refuse(`${where}.${field}: must not be used in a client ID metadata document (CIMD §4.1)`)
  }
  const method = metadata.token_endpoint_auth_method
  if (!DOCUMENT_AUTH_METHODS.has(method)) {
    const said = method === undefined ? 'absent, so the RFC 7591 default client_secret_basic' : `"${String(method)}"`
    refuse(`${where}.token_endpoint_auth_method: is ${said}; a client ID metadata document allows only none or private_key_jwt (CIMD §4.1, no shared secrets)`)
  }
}

/**
 * The cache kind that turns a fetched document into a Client: the draft's
 * rules (§4: `client_id` is the URL, exactly; §4.1: no secrets, no private
 * keys), then only the client metadata a registration may set (so a document
 * cannot grant itself `introspection_allowed` or `jwt_bearer_subjects`),
 * the operator's policy, and the rules of every client and of this server.
 * Whatever fails throws, and the cache keeps nothing (CIMD §5.2).
 */
export function metadataDocumentKind(rules: MetadataDocumentRules): RemoteDocumentKind<Client> {
  return {
    name: 'client-id-metadata',
    maxResponseBytes: MAX_DOCUMENT_BYTES,
    async parse(body, url) {
      const where = `client ID metadata document ${url}`
      if (typeof body !== 'object' || body === null || Array.isArray(body)) refuse(`${where}: is not a JSON object`)
      const document = body as Record<string, unknown>
      // CIMD §4: client_id MUST equal the URL the document was fetched from, by simple string comparison.
      if (document.client_id !== url) refuse(`${where}.client_id: is ${JSON.stringify(document.client_id)?.slice(0, 300)}, not the document's URL`)
      checkNoSecrets(document, where)
      let metadata: ClientMetadata
      try {
        metadata = { ...registrableMetadata(document), client_id: url } as ClientMetadata
      } catch (error) {
        if (error instanceof OAuthError) refuse(`${where}: ${error.description ?? error.error}`)
        throw error
      }
      const host = new URL(url).hostname
      const policy = rules.settings.policy
      if (policy !== undefined) {
        const decided = await policy(Object.freeze({ ...metadata }), { clientId: url, host })
        if (typeof decided !== 'object' || decided === null) refuse(`${where}: the policy returned no metadata`)
        // The policy narrows; it cannot turn the client into another one, or give it a secret.
        if (decided.client_id !== url) refuse(`${where}: the policy changed client_id`)
        checkNoSecrets(decided, `${where} (after the policy)`)
        metadata = decided
      }
      const client = prepareClient(metadata, where, rules.prepare)
      checkClientForServer(client, rules.server, where)
      return { ...client, metadataDocument: { url, host: new URL(url).host } }
    },
  }
}

/** What a `MetadataDocumentRegistry` is built from. */
export interface MetadataDocumentRegistryOptions {
  /** The configured (and stored) clients: asked first, and they win over a document at the same URL (CIMD §7.2, pre-registration). */
  base: ClientRegistry
  documents: RemoteDocuments
  kind: RemoteDocumentKind<Client>
  settings: ClientIdMetadataSettings
  /** SECURITY: option `allowPrivateNetworkFetches` (http client IDs on loopback, for tests). */
  allowPrivate: boolean
  /** Told why a metadata-document client was refused (a bad URL, a failed fetch, an invalid document): it is treated as unknown. */
  onRefused: (clientId: string, detail: string) => void
}

/**
 * The registry of a server that accepts Client ID Metadata Documents: the
 * base registry first; an id it does not know that is a Client Identifier
 * URL on an allowed host is looked up in the cache of remote documents,
 * fetched when missing or expired. A document that cannot be had or fails a
 * rule is an unknown client: `invalid_client` at the token endpoint, an
 * error page at the authorization endpoint (CIMD §5.1), never a redirect.
 */
export class MetadataDocumentRegistry implements ClientRegistry {
  private readonly configuredOrigins: ((origin: string) => boolean) | undefined

  constructor(private readonly options: MetadataDocumentRegistryOptions) {
    const base = options.base
    if (base.allowsOrigin !== undefined) this.configuredOrigins = (origin) => base.allowsOrigin!(origin)
    else if (base.list !== undefined) {
      const origins = new Set([...base.list()].flatMap((c) => [...c.allowedOrigins]))
      this.configuredOrigins = (origin) => origins.has(origin)
    }
  }

  find(clientId: string): Client | undefined | Promise<Client | undefined> {
    const found = this.options.base.find(clientId)
    if (found instanceof Promise) return found.then((client) => client ?? this.fromDocument(clientId))
    return found ?? this.fromDocument(clientId)
  }

  reload(clientId: string): Promise<Client | undefined> | undefined {
    const base = this.options.base
    if (this.urlProblem(clientId) !== undefined) return base.reload?.(clientId)
    const found = base.find(clientId)
    if (found instanceof Promise) return found.then((client) => (client !== undefined ? base.reload?.(clientId) : this.refreshDocument(clientId)))
    return found !== undefined ? base.reload?.(clientId) : this.refreshDocument(clientId)
  }

  /** The document read again (its inline keys may have changed), at most once per refetchInterval; undefined when not due. */
  private refreshDocument(clientId: string): Promise<Client | undefined> | undefined {
    return this.options.documents.refresh(this.options.kind, clientId)?.catch((error: unknown) => this.refused(clientId, error))
  }

  list(): Iterable<Client> {
    return this.options.base.list?.() ?? []
  }

  allowsOrigin(origin: string): boolean {
    if (this.configuredOrigins === undefined) return true
    if (this.configuredOrigins(origin)) return true
    for (const client of this.options.documents.values(this.options.kind)) if (client.allowedOrigins.has(origin)) return true
    return false
  }

  private urlProblem(clientId: string): string | undefined {
    if (!looksLikeUrl(clientId)) return 'is not a URL'
    const problem = clientIdUrlProblem(clientId, this.options.allowPrivate)
    if (problem !== undefined) return problem
    // CIMD §8.9: the operator decides which domains it trusts.
    if (!hostAllowed(new URL(clientId).hostname, this.options.settings.allowedHosts)) return 'is on a host not in clientIdMetadataDocuments.allowedHosts'
    return undefined
  }

  private fromDocument(clientId: string): Client | undefined | Promise<Client | undefined> {
    if (!looksLikeUrl(clientId)) return undefined
    const problem = this.urlProblem(clientId)
    if (problem !== undefined) {
      this.options.onRefused(clientId, `client_id ${problem}`)
      return undefined
    }
    const got = this.options.documents.get(this.options.kind, clientId)
    return got instanceof Promise ? got.catch((error: unknown) => this.refused(clientId, error)) : got
  }

  private refused(clientId: string, error: unknown): undefined {
    // CIMD §5.1: a document that cannot be fetched or is invalid aborts the request; the client is unknown.
    this.options.onRefused(clientId, error instanceof Error ? error.message : String(error))
    return undefined
  }
}
