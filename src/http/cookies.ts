/** Reads one cookie from a Cookie header (RFC 6265 §5.4); undefined when absent. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq === -1) continue
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

export interface CookieOptions {
  path: string
  secure: boolean
  /** Seconds; omitted for a browser-session cookie. 0 deletes it. */
  maxAge?: number
}

/**
 * A Set-Cookie value. Always HttpOnly and SameSite=Lax: Lax still sends the
 * cookie on the top-level navigation from a client to the authorization
 * endpoint, and withholds it from cross-site POSTs (login CSRF).
 */
export function serializeCookie(name: string, value: string, options: CookieOptions): string {
  let out = `${name}=${value}; Path=${options.path}; HttpOnly; SameSite=Lax`
  if (options.secure) out += '; Secure'
  if (options.maxAge !== undefined) out += `; Max-Age=${Math.max(0, Math.floor(options.maxAge))}`
  return out
}
