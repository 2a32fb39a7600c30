// A loopback redirect URI: scheme and IP literal, an optional port, then the
// path and query. `localhost` is left out on purpose (RFC 8252 §8.3: a name
// can resolve elsewhere), and so is https (a native app's loopback listener is http).
const LOOPBACK_IP = /^(http:\/\/(?:127\.0\.0\.1|\[::1\]))(?::(\d{1,5}))?([/?].*)?$/

/**
 * Whether the redirect_uri of a request is one of the client's registered ones.
 * RFC 6749 §3.1.2.3 and RFC 9700 §4.1.3: simple string comparison. The one
 * exception is RFC 8252 §7.3: for a loopback IP literal over http, a native
 * app listens on whatever port the OS gave it, so the port may differ from the
 * registration; scheme, host, path and query still compare exactly.
 *
 * @example
 * matchesRedirectUri(['http://127.0.0.1/cb'], 'http://127.0.0.1:51234/cb') // true
 * matchesRedirectUri(['http://localhost/cb'], 'http://localhost:51234/cb') // false
 */
export function matchesRedirectUri(registered: readonly string[], sent: string): boolean {
  if (registered.includes(sent)) return true
  const s = LOOPBACK_IP.exec(sent)
  if (s === null) return false
  const port = s[2] === undefined ? undefined : Number(s[2])
  if (port !== undefined && (port < 1 || port > 65535)) return false
  return registered.some((uri) => {
    const r = LOOPBACK_IP.exec(uri)
    return r !== null && r[1] === s[1] && (r[3] ?? '') === (s[3] ?? '')
  })
}
