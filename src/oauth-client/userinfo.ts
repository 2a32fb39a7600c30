/**
 * The OIDC UserInfo request (OIDC Core §5.3): a GET with the access token,
 * and the one check that makes its answer usable, `sub` against the ID token.
 */
import { ProtocolError, ProviderError } from './errors.js'
import { parseWwwAuthenticate, readText, type HttpDeps } from './http.js'

/** What the userinfo endpoint said: its claims, or that the access token was refused (RFC 6750 §3.1 `invalid_token`). */
export type UserinfoAnswer = { claims: Record<string, unknown> } | { invalidToken: true }

/**
 * Sends one userinfo request (OIDC Core §5.3.1) and reads a JSON answer of
 * at most the response cap. Redirects are not followed: they would carry the
 * bearer token elsewhere.
 *
 * @throws ProviderError for a Bearer or DPoP challenge with an error (RFC 6750 §3, RFC 9449 §7.1), ProtocolError `unexpected_response` otherwise
 */
export async function requestUserinfo(
  http: HttpDeps,
  endpoint: string,
  credentials: () => Promise<Record<string, string>>,
  isInvalidToken: (res: Response) => boolean | Promise<boolean>,
  onResponse?: (res: Response) => void,
): Promise<UserinfoAnswer> {
  let res: Response
  // `Authorization: Bearer`, or `Authorization: DPoP` with a proof made for this request (RFC 9449 §7.1).
  const headers = await credentials()
  try {
    res = await http.fetch(endpoint, {
      headers: { ...headers, accept: 'application/json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(http.timeoutMs),
    })
  } catch (cause) {
    throw new ProtocolError('unexpected_response', `request to ${endpoint} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
  }
  onResponse?.(res)
  if (await isInvalidToken(res)) {
    await res.body?.cancel().catch(() => undefined)
    return { invalidToken: true }
  }
  const text = await readText(res)
  if (res.status !== 200) {
    // RFC 6750 §3: a protected resource reports errors in its Bearer challenge.
    const challenge = parseWwwAuthenticate(res.headers.get('www-authenticate') ?? '').find((c) => (c.scheme === 'bearer' || c.scheme === 'dpop') && c.params.error !== undefined)
    if (challenge !== undefined) {
      throw new ProviderError({ error: challenge.params.error!.slice(0, 128), errorDescription: challenge.params.error_description?.slice(0, 500), status: res.status })
    }
    throw new ProtocolError('unexpected_response', `${endpoint} answered HTTP ${res.status}`)
  }
  // OIDC Core §5.3.2: application/jwt is a signed or encrypted answer; this client asks for, and reads, JSON only.
  if (/^\s*application\/jwt\b/i.test(res.headers.get('content-type') ?? '')) {
    throw new ProtocolError('unexpected_response', `${endpoint} answered with a signed or encrypted JWT; only JSON userinfo is supported`)
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    value = undefined
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ProtocolError('unexpected_response', `${endpoint} answered without a JSON object`)
  return { claims: value as Record<string, unknown> }
}

/**
 * OIDC Core §5.3.2: "The sub Claim in the UserInfo Response MUST be verified
 * to exactly match the sub Claim in the ID Token; if they do not match, the
 * UserInfo Response values MUST NOT be used." Without this, a token
 * substituted for another account's would read that account's claims as ours.
 *
 * @throws ProtocolError `userinfo_sub_mismatch`
 */
export function checkUserinfoSubject(claims: Record<string, unknown>, idTokenSub: string): void {
  if (typeof claims.sub !== 'string') throw new ProtocolError('userinfo_sub_mismatch', 'the userinfo response has no sub (OIDC Core §5.3.2)')
  if (claims.sub !== idTokenSub) throw new ProtocolError('userinfo_sub_mismatch', 'the userinfo response is about another sub than the ID token; it was not used (OIDC Core §5.3.2)')
}
