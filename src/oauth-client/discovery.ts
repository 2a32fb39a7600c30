import { ProtocolError } from './errors.js'
import { cappedFetch, getJson, type HttpDeps } from './http.js'
import { remoteKeySet, type RemoteKeySet } from './jwt.js'
import { isSafeEndpoint, type ResolvedProfile } from './provider.js'
import type { ProviderMetadata } from './types.js'

/** Where a profile's discovery document lives (OIDC Discovery §4.1, RFC 8414 §3.1). */
export function discoveryUrl(issuer: string, kind: 'oidc' | 'oauth'): string {
  const url = new URL(issuer)
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '')
  // OIDC Discovery §4.1: appended to the issuer. RFC 8414 §3.1: inserted between host and path.
  return kind === 'oidc' ? `${url.origin}${path}/.well-known/openid-configuration` : `${url.origin}/.well-known/oauth-authorization-server${path}`
}

function checkDocument(profile: ResolvedProfile, doc: Record<string, unknown>, url: string): void {
  const expected = profile.issuer!
  // RFC 8414 §3.3, OIDC Discovery §4.3: the document must name the issuer it was fetched for (mix-up defence).
  if (typeof doc.issuer !== 'string') throw new ProtocolError('invalid_metadata', `${url} has no issuer`)
  const accepted = doc.issuer === expected || profile.quirks.acceptMetadataIssuer?.(doc.issuer) === true
  if (!accepted) throw new ProtocolError('invalid_metadata', `${url} names issuer ${doc.issuer.slice(0, 200)}, not ${expected}`)
}

function checkEndpoints(meta: Record<string, unknown>, id: string): void {
  if (typeof meta.token_endpoint !== 'string') throw new ProtocolError('invalid_metadata', `provider "${id}" has no token_endpoint`)
  for (const [name, value] of Object.entries(meta)) {
    if (!(name.endsWith('_endpoint') || name === 'jwks_uri') || value === undefined) continue
    // SECURITY: never send a code, a secret or a token over plain http to a network host.
    if (typeof value !== 'string' || !isSafeEndpoint(value)) throw new ProtocolError('invalid_metadata', `provider "${id}": ${name} is not an https URL`)
  }
}

/**
 * The endpoints of each provider: discovered once and kept (a failed attempt
 * is not kept, so the next call tries again), or given by hand. Each provider's
 * JWKS is a jose remote key set, which caches keys and refetches on an unknown `kid`.
 */
export class MetadataCache {
  private readonly documents = new Map<string, Promise<ProviderMetadata>>()
  private readonly keySets = new Map<string, RemoteKeySet>()

  constructor(private readonly http: HttpDeps) {}

  get(profile: ResolvedProfile): Promise<ProviderMetadata> {
    let found = this.documents.get(profile.id)
    if (found === undefined) {
      found = this.load(profile)
      this.documents.set(profile.id, found)
      found.catch(() => this.documents.delete(profile.id))
    }
    return found
  }

  private async load(profile: ResolvedProfile): Promise<ProviderMetadata> {
    let doc: Record<string, unknown> = {}
    if (profile.discovery !== false) {
      const url = discoveryUrl(profile.issuer!, profile.discovery)
      doc = await getJson(this.http, url)
      checkDocument(profile, doc, url)
    }
    const meta: Record<string, unknown> = { ...doc, ...profile.metadata }
    if (meta.issuer === undefined && profile.issuer !== undefined) meta.issuer = profile.issuer
    checkEndpoints(meta, profile.id)
    return meta as ProviderMetadata
  }

  /** The provider's key set for ID token signatures. */
  async keys(profile: ResolvedProfile): Promise<RemoteKeySet> {
    let set = this.keySets.get(profile.id)
    if (set === undefined) {
      const meta = await this.get(profile)
      if (meta.jwks_uri === undefined) throw new ProtocolError('invalid_metadata', `provider "${profile.id}" has no jwks_uri to check ID tokens with`)
      set = remoteKeySet(meta.jwks_uri, cappedFetch(this.http.fetch), this.http.timeoutMs)
      this.keySets.set(profile.id, set)
    }
    return set
  }
}
