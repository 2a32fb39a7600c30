import { createHmac } from 'node:crypto'
import { constantTimeEqual } from '../crypto/random.js'

export interface CookieOptions {
  path: string
  secure: boolean
  /** Seconds; omitted for a browser-session cookie. 0 deletes it. */
  maxAge?: number
}

/**
 * The name a cookie is set and read under. RFC 6265bis §4.1.3.2: a `__Host-`
 * cookie must be Secure, have Path=/ and no Domain, and a browser then refuses
 * it from any other host or path, so a sibling subdomain or a plain-http page
 * cannot plant or overwrite it. Under an issuer with a path that prefix is not
 * allowed; `__Secure-` (§4.1.3.1) at least keeps http pages from setting it.
 * Over http (loopback development) neither prefix would be accepted.
 *
 * @example
 * cookieName('grantkit_session', { secure: true, path: '/' }) // '__Host-grantkit_session'
 */
export function cookieName(name: string, options: Pick<CookieOptions, 'path' | 'secure'>): string {
  if (!options.secure) return name
  return options.path === '/' ? `__Host-${name}` : `__Secure-${name}`
}

/**
 * Reads one cookie from a Cookie header (RFC 6265 §5.4); undefined when absent.
 * With `options`, reads it under the prefixed name `serializeCookie` sets.
 */
export function readCookie(header: string | undefined, name: string, options?: Pick<CookieOptions, 'path' | 'secure'>): string | undefined {
  if (header === undefined) return undefined
  const wanted = options === undefined ? name : cookieName(name, options)
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq === -1) continue
    if (part.slice(0, eq).trim() === wanted) return part.slice(eq + 1).trim()
  }
  return undefined
}

/**
 * A Set-Cookie value, under the name `cookieName` gives. Always HttpOnly and
 * SameSite=Lax: Lax still sends the cookie on the top-level navigation from a
 * client to the authorization endpoint, and withholds it from cross-site POSTs
 * (login CSRF). Never a Domain attribute (host-only, RFC 6265bis §5.7.3).
 */
export function serializeCookie(name: string, value: string, options: CookieOptions): string {
  let out = `${cookieName(name, options)}=${value}; Path=${options.path}; HttpOnly; SameSite=Lax`
  if (options.secure) out += '; Secure'
  if (options.maxAge !== undefined) out += `; Max-Age=${Math.max(0, Math.floor(options.maxAge))}`
  return out
}

/**
 * HMAC-SHA-256 of `payload` under `secret`, for one `purpose` (the purpose is
 * in the MAC input, so a value signed for one cookie is no good for another).
 */
function mac(secret: string, purpose: string, payload: string): string {
  return createHmac('sha256', secret).update(`${purpose}\0${payload}`).digest('base64url')
}

/**
 * `payload.mac`: a cookie value the server can later recognise as its own.
 * The payload must not contain a dot.
 *
 * @example
 * signCookieValue(ctx.cookieSecrets, 'device', browserId) // 'abc….Zx9…'
 */
export function signCookieValue(secrets: readonly string[], purpose: string, payload: string): string {
  if (payload.includes('.')) throw new TypeError('signCookieValue: the payload must not contain "."')
  return `${payload}.${mac(secrets[0]!, purpose, payload)}`
}

/**
 * The payload of a value `signCookieValue` made under any of `secrets` (the
 * first signs, the others still verify, so a secret can be rotated), or
 * undefined for anything else. The MAC is compared in constant time.
 */
export function verifyCookieValue(secrets: readonly string[], purpose: string, value: string | undefined): string | undefined {
  if (value === undefined || value.length > 512) return undefined
  const dot = value.lastIndexOf('.')
  if (dot <= 0) return undefined
  const payload = value.slice(0, dot)
  const given = value.slice(dot + 1)
  let ok = false
  // Every secret is tried, whatever matched, so the time does not say which one did.
  for (const secret of secrets) if (constantTimeEqual(given, mac(secret, purpose, payload))) ok = true
  return ok ? payload : undefined
}
