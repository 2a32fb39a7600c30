import type { Context } from 'hono'
import type { GrantkitRequest, GrantkitResponse } from '../src/http/types.js'
import { DEFAULT_MAX_BODY_BYTES } from './incoming.js'

/**
 * Headers of a Web request as the core takes them. `Headers` already holds
 * names in lower case with a repeated field joined by ", " (RFC 9110 §5.3);
 * the runtime (Node.js under @hono/node-server) has joined Cookie with "; ".
 */
export function headersOfWeb(source: Headers): Record<string, string> {
  const headers: Record<string, string> = {}
  source.forEach((value, name) => {
    headers[name] = value
  })
  return headers
}

/** Reads a Web request body up to `limit` bytes without buffering more than that. */
async function readLimited(req: Request, limit: number): Promise<{ body?: string; tooLarge: boolean }> {
  if (Number(req.headers.get('content-length') ?? 0) > limit) return { tooLarge: true }
  if (req.body === null) return { tooLarge: false }
  const reader = req.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      await reader.cancel()
      return { tooLarge: true }
    }
    chunks.push(value)
  }
  return size === 0 ? { tooLarge: false } : { body: Buffer.concat(chunks, size).toString('utf8'), tooLarge: false }
}

/** The body an earlier middleware read, from Hono's cache, held to the same limit. */
async function readCached(c: Context, limit: number): Promise<{ body?: string; tooLarge: boolean }> {
  const cachedForm = c.req.bodyCache.formData
  if (cachedForm !== undefined) {
    // parseBody() kept a FormData; its text() would be multipart, so rebuild the urlencoded form.
    const form = new URLSearchParams()
    ;(await cachedForm).forEach((value, name) => form.append(name, typeof value === 'string' ? value : value.name))
    const text = form.toString()
    return text.length > limit ? { tooLarge: true } : text === '' ? { tooLarge: false } : { body: text, tooLarge: false }
  }
  const text = await c.req.text()
  if (Buffer.byteLength(text) > limit) return { tooLarge: true }
  return text === '' ? { tooLarge: false } : { body: text, tooLarge: false }
}

/**
 * Builds the core's request from a Hono context: URL, headers, the peer
 * address when the runtime gives one, and the body up to `maxBodyBytes`
 * (from Hono's cache when a middleware before read it).
 */
export async function honoRequestOf(c: Context, options: { maxBodyBytes?: number | undefined }): Promise<GrantkitRequest> {
  const request: GrantkitRequest = { method: c.req.method, url: new URL(c.req.url), headers: headersOfWeb(c.req.raw.headers) }
  // @hono/node-server exposes the Node.js request as env.incoming; other runtimes give no peer address.
  const remoteAddress = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming?.socket?.remoteAddress
  if (remoteAddress !== undefined) request.remoteAddress = remoteAddress
  const limit = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES
  const { body, tooLarge } = c.req.raw.bodyUsed ? await readCached(c, limit) : await readLimited(c.req.raw, limit)
  if (tooLarge) request.bodyTooLarge = true
  else if (body !== undefined) request.body = body
  return request
}

/**
 * A Web `Response` of a core response; each Set-Cookie value its own field
 * (RFC 6265 §3). With `close`, asks for the connection to be closed (after a
 * body left unread).
 */
export function webResponseOf(out: GrantkitResponse, close = false): Response {
  const headers = new Headers()
  for (const [name, value] of Object.entries(out.headers)) {
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v)
  }
  if (close) headers.set('connection', 'close')
  return new Response(out.body ?? null, { status: out.status, headers })
}
