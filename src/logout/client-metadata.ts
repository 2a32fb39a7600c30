import type { Client, ClientMetadata } from '../clients/metadata.js'
import { isPrivateHost } from '../http/outbound.js'

/** What client registration needs to know to check the logout metadata. */
export interface LogoutMetadataOptions {
  /** SECURITY: accept http URLs on non-loopback hosts (tests). */
  allowHttpRedirectUris?: boolean
  /** SECURITY: accept a back-channel logout URI on loopback or private addresses (option `allowPrivateNetworkFetches`). */
  allowPrivateNetworkFetches?: boolean
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost'])

function fail(path: string, message: string): never {
  throw new TypeError(`${path}: ${message}`)
}

function absoluteUrl(value: unknown, path: string): URL {
  if (typeof value !== 'string' || value === '') fail(path, 'must be a non-empty string (an absolute URI)')
  let url: URL
  try {
    url = new URL(value)
  } catch {
    fail(path, `"${value}" is not an absolute URI`)
  }
  if (url.hash !== '' || value.includes('#')) fail(path, `"${value}" must not contain a fragment`)
  return url
}

/**
 * Checks the logout metadata of a client (OIDC RP-Initiated Logout §3.1,
 * Back-Channel Logout §2.2): `post_logout_redirect_uris` under the rules of
 * redirect URIs (no fragment; https except on loopback, RFC 9700 §2.6),
 * `backchannel_logout_uri` an absolute http(s) URI without fragment, https
 * except in tests, and never a loopback or private address literal unless
 * `allowPrivateNetworkFetches` (names are checked when resolved, at delivery),
 * `backchannel_logout_session_required` a boolean.
 *
 * @throws TypeError naming the field
 * @example
 * checkLogoutMetadata({ client_id: 'web', backchannel_logout_uri: 'https://rp.example/bcl' }, 'clients[0]', {})
 */
export function checkLogoutMetadata(metadata: ClientMetadata, path: string, options: LogoutMetadataOptions): void {
  const uris = metadata.post_logout_redirect_uris
  if (uris !== undefined) {
    if (!Array.isArray(uris)) fail(`${path}.post_logout_redirect_uris`, 'must be an array of absolute URIs')
    uris.forEach((uri, i) => {
      const at = `${path}.post_logout_redirect_uris[${i}]`
      const url = absoluteUrl(uri, at)
      if (url.protocol === 'javascript:' || url.protocol === 'data:') fail(at, `"${uri}" is not a redirect URI`)
      if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname) && options.allowHttpRedirectUris !== true) {
        fail(at, `"${uri}" uses http on a non-loopback host; use https (or the allowHttpRedirectUris switch for tests)`)
      }
    })
  }
  const backchannel = metadata.backchannel_logout_uri
  if (backchannel !== undefined) {
    const at = `${path}.backchannel_logout_uri`
    const url = absoluteUrl(backchannel, at)
    if (url.protocol !== 'https:' && url.protocol !== 'http:') fail(at, `"${String(backchannel)}" must be an https URL`)
    const testing = options.allowPrivateNetworkFetches === true || options.allowHttpRedirectUris === true
    if (url.protocol === 'http:' && !testing) fail(at, `"${String(backchannel)}" must use https (http only with allowPrivateNetworkFetches or allowHttpRedirectUris, for tests)`)
    if (isPrivateHost(url) && options.allowPrivateNetworkFetches !== true) {
      fail(at, `"${String(backchannel)}" is a loopback or private address, where the server sends nothing unless allowPrivateNetworkFetches is true`)
    }
  }
  const required = metadata.backchannel_logout_session_required
  if (required !== undefined && typeof required !== 'boolean') fail(`${path}.backchannel_logout_session_required`, 'must be a boolean')
  if (required === true && backchannel === undefined) fail(`${path}.backchannel_logout_session_required`, 'needs backchannel_logout_uri')
}

/** The client's registered post-logout redirect URIs (checked at registration). */
export function postLogoutRedirectUris(client: Client): readonly string[] {
  return (client.metadata.post_logout_redirect_uris as string[] | undefined) ?? []
}

/** The client's back-channel logout URI, when it registered one. */
export function backchannelLogoutUri(client: Client): string | undefined {
  return client.metadata.backchannel_logout_uri as string | undefined
}
