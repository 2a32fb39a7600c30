import type { ServerContext } from '../context.js'
import type { GrantkitResponse } from '../http/types.js'

/** Where an authorization response goes: a redirect_uri already validated against the registration. */
export interface RedirectTarget {
  redirectUri: string
  responseMode: 'query' | 'fragment'
  state?: string
}

/**
 * Redirects the user agent to the client (RFC 6749 §4.1.2, §4.2.2) with `iss`
 * added (RFC 9207). 303 makes the browser follow with GET even after a form
 * POST (RFC 9700 §4.12).
 */
export function redirectToClient(ctx: ServerContext, target: RedirectTarget, params: Record<string, string | undefined>, extraHeaders: Record<string, string | string[]> = {}): GrantkitResponse {
  const out = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined) out.set(k, v)
  if (target.state !== undefined) out.set('state', target.state)
  out.set('iss', ctx.issuer)
  const url = new URL(target.redirectUri)
  if (target.responseMode === 'fragment') {
    url.hash = out.toString()
  } else {
    // Keep the registered URI's own query (RFC 6749 §3.1.2) and add ours.
    for (const [k, v] of out) url.searchParams.append(k, v)
  }
  return {
    status: 303,
    headers: { location: url.toString(), 'cache-control': 'no-store', pragma: 'no-cache', ...extraHeaders },
  }
}
