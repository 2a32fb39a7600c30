import { ProtocolError, ProviderError } from './errors.js'

/** What the client needs from the outside world for HTTP, replaceable in tests. */
export interface HttpDeps {
  fetch: typeof fetch
  /** Milliseconds before a request to the provider is abandoned. */
  timeoutMs: number
}

/** Largest provider response read, in bytes: a token response is a few kilobytes. */
export const MAX_RESPONSE_BYTES = 1 << 20
// RFC 6749 §5.2: error codes are %x20-21 / %x23-5B / %x5D-7E.
const ERROR_CODE = /^[\x20\x21\x23-\x5B\x5D-\x7E]{1,128}$/

const tooLarge = (what: string): ProtocolError => new ProtocolError('unexpected_response', `response ${what} is larger than ${MAX_RESPONSE_BYTES} bytes`)

/**
 * Reads a provider's response body, at most `MAX_RESPONSE_BYTES` of it.
 *
 * SECURITY: a hostile or broken provider can send an endless body. A
 * `content-length` over the cap is refused before reading, and the body is
 * read chunk by chunk and cancelled (closing the connection) as soon as the
 * cap is passed, so memory stays bounded by the cap whatever the provider
 * sends, and however slowly (the request's timeout covers the body too).
 *
 * @throws ProtocolError `unexpected_response`
 */
export async function readCapped(res: Response): Promise<Uint8Array> {
  const declared = res.headers.get('content-length')
  if (declared !== null && Number(declared) > MAX_RESPONSE_BYTES) {
    await res.body?.cancel().catch(() => undefined)
    throw tooLarge(`of ${declared.slice(0, 20)} bytes`)
  }
  if (res.body === null) return new Uint8Array(0)
  const reader = res.body.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>
    try {
      chunk = await reader.read()
    } catch (cause) {
      throw new ProtocolError('unexpected_response', `reading the response failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
    }
    if (chunk.done) break
    total += chunk.value.byteLength
    if (total > MAX_RESPONSE_BYTES) {
      await reader.cancel().catch(() => undefined)
      throw tooLarge('body')
    }
    chunks.push(chunk.value)
  }
  return Buffer.concat(chunks)
}

/** {@link readCapped} as UTF-8 text (invalid sequences become U+FFFD, as `Response.text()` does). */
export async function readText(res: Response): Promise<string> {
  return new TextDecoder('utf-8').decode(await readCapped(res))
}

/**
 * A fetch whose responses carry at most `MAX_RESPONSE_BYTES` of body: for
 * code that reads responses itself (jose's JWKS fetch), so the cap holds there too.
 */
export function cappedFetch(fetchImpl: typeof fetch): typeof fetch {
  return async (input, init) => {
    const res = await fetchImpl(input, init)
    const body = await readCapped(res)
    // The body is already decoded and complete: its framing headers no longer describe it.
    const headers = new Headers(res.headers)
    headers.delete('content-length')
    headers.delete('content-encoding')
    return new Response(res.status === 204 || res.status === 304 ? null : new Uint8Array(body), { status: res.status, statusText: res.statusText, headers })
  }
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

/** A ProviderError from an OAuth error body (RFC 6749 §5.2), or undefined when the body is not one. */
export function providerErrorFrom(fields: { get(name: string): unknown }, status?: number): ProviderError | undefined {
  const error = fields.get('error')
  if (typeof error !== 'string' || !ERROR_CODE.test(error)) return undefined
  const description = fields.get('error_description')
  const uri = fields.get('error_uri')
  return new ProviderError({
    error,
    errorDescription: typeof description === 'string' ? description.slice(0, 500) : undefined,
    errorUri: typeof uri === 'string' ? uri.slice(0, 500) : undefined,
    status,
  })
}

/**
 * Sends a form POST to a provider endpoint and returns the JSON object of a 200
 * answer. An OAuth error body becomes a ProviderError; anything else that is not
 * a JSON object (a 5xx page, a redirect) a ProtocolError.
 */
export async function postForm(deps: HttpDeps, url: string, body: URLSearchParams, headers: Record<string, string> = {}, options: { bodyRequired?: boolean; onResponse?: (res: Response) => void } = {}): Promise<Record<string, unknown>> {
  let res: Response
  try {
    res = await deps.fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers },
      body: body.toString(),
      // A token endpoint that redirects is misconfigured; following would resend credentials.
      redirect: 'manual',
      signal: AbortSignal.timeout(deps.timeoutMs),
    })
  } catch (cause) {
    throw new ProtocolError('unexpected_response', `request to ${url} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
  }
  options.onResponse?.(res)
  const text = await readText(res)
  const json = parseObject(text)
  if (res.status === 200 && json !== undefined) return json
  // RFC 7009 §2.2: a revocation answer is 200 and its body means nothing.
  if (res.status === 200 && options.bodyRequired === false) return {}
  // RFC 6749 §5.2: errors are 400 (401 for invalid_client) with a JSON body.
  const providerError = json === undefined ? undefined : providerErrorFrom(new Map(Object.entries(json)), res.status)
  if (providerError !== undefined && res.status >= 400) throw providerError
  throw new ProtocolError('unexpected_response', `${url} answered HTTP ${res.status}${json === undefined ? ' without a JSON object' : ''}`)
}

/** GETs a JSON document (discovery). */
export async function getJson(deps: HttpDeps, url: string): Promise<Record<string, unknown>> {
  let res: Response
  try {
    res = await deps.fetch(url, { headers: { accept: 'application/json' }, redirect: 'manual', signal: AbortSignal.timeout(deps.timeoutMs) })
  } catch (cause) {
    throw new ProtocolError('invalid_metadata', `request to ${url} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
  }
  const text = await readText(res)
  const json = parseObject(text)
  if (res.status !== 200 || json === undefined) throw new ProtocolError('invalid_metadata', `${url} answered HTTP ${res.status}${json === undefined ? ' without a JSON object' : ''}`)
  return json
}

/**
 * HTTP Basic credentials for a client (RFC 6749 §2.3.1): id and secret are
 * form-urlencoded before they are joined and base64-encoded.
 */
export function basicCredentials(id: string, secret: string): string {
  const enc = (s: string) => new URLSearchParams({ v: s }).toString().slice(2)
  return 'Basic ' + Buffer.from(`${enc(id)}:${enc(secret)}`, 'utf8').toString('base64')
}

/** One challenge of a WWW-Authenticate header (RFC 9110 §11.6.1): its scheme and auth-params. */
export interface Challenge {
  scheme: string
  params: Record<string, string>
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/

/**
 * Parses a WWW-Authenticate header into its challenges (RFC 9110 §11.6.1),
 * quoted strings included, so that `DPoP algs="ES256", Bearer error="invalid_token"`
 * reads as two challenges. Scheme and parameter names are lower-cased.
 *
 * @example
 * parseWwwAuthenticate('Bearer realm="api", error="invalid_token"')
 * // [{ scheme: 'bearer', params: { realm: 'api', error: 'invalid_token' } }]
 */
export function parseWwwAuthenticate(header: string): Challenge[] {
  const out: Challenge[] = []
  let s = header
  const skip = () => {
    s = s.replace(/^[\s,]+/, '')
  }
  skip()
  while (s !== '') {
    const scheme = TOKEN.exec(s)?.[0]
    if (scheme === undefined) break
    s = s.slice(scheme.length)
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} }
    out.push(challenge)
    // Auth-params until the next scheme: a token not followed by "=".
    for (;;) {
      s = s.replace(/^[\s,]+/, '')
      const name = TOKEN.exec(s)?.[0]
      if (name === undefined) break
      const rest = s.slice(name.length).replace(/^\s*/, '')
      if (!rest.startsWith('=')) break
      s = rest.slice(1).replace(/^\s*/, '')
      let value: string
      if (s.startsWith('"')) {
        let i = 1
        value = ''
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < s.length) i++
          value += s[i]
          i++
        }
        s = s.slice(i + 1)
      } else {
        value = TOKEN.exec(s)?.[0] ?? ''
        s = s.slice(value.length)
      }
      challenge.params[name.toLowerCase()] = value
    }
    skip()
  }
  return out
}

/**
 * RFC 6750 §3.1: a 401 whose Bearer challenge says `invalid_token`: the access
 * token is expired, revoked or otherwise invalid. The default of `quirks.isInvalidToken`.
 *
 * @example
 * quirks: { isInvalidToken: (res) => isBearerInvalidToken(res) || res.status === 419 }
 */
export function isBearerInvalidToken(res: Response): boolean {
  if (res.status !== 401) return false
  const header = res.headers.get('www-authenticate')
  if (header === null) return false
  return parseWwwAuthenticate(header).some((c) => c.scheme === 'bearer' && c.params.error === 'invalid_token')
}
