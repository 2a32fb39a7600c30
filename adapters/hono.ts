import type { Context, MiddlewareHandler } from 'hono'
import type { GrantkitRequest } from '../src/http/types.js'
export { protect, type ProtectEnv } from './protect-hono.js'
import { DEFAULT_MAX_BODY_BYTES, type Handler } from './incoming.js'

/** Options of `toHonoHandler`. */
export interface HonoAdapterOptions {
  /** Largest body read, in bytes. Default 65536. */
  maxBodyBytes?: number
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
 * Hono middleware: answers the server's own paths and passes the rest to
 * `next()`. Mount it at the root, `app.use('*', toHonoHandler(server))`, also for
 * an issuer with a path (RFC 8414 §3.1 metadata lives outside that path).
 *
 * @example
 * app.use('*', toHonoHandler(server))
 */
export function toHonoHandler(server: Handler & { routes(pathname: string): boolean }, options: HonoAdapterOptions = {}): MiddlewareHandler {
  const limit = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES
  return async (c: Context, next) => {
    const url = new URL(c.req.url)
    if (!server.routes(url.pathname)) return next()
    const headers: Record<string, string> = {}
    c.req.raw.headers.forEach((value, name) => {
      headers[name] = value
    })
    const request: GrantkitRequest = { method: c.req.method, url, headers }
    // @hono/node-server exposes the Node.js request as env.incoming; other runtimes give no peer address.
    const remoteAddress = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming?.socket?.remoteAddress
    if (remoteAddress !== undefined) request.remoteAddress = remoteAddress
    // A middleware before us may have read the body already; Hono then keeps it in its cache.
    const { body, tooLarge } = c.req.raw.bodyUsed ? await readCached(c, limit) : await readLimited(c.req.raw, limit)
    if (tooLarge) request.bodyTooLarge = true
    else if (body !== undefined) request.body = body
    const out = await server.handle(request)
    const responseHeaders = new Headers()
    for (const [name, value] of Object.entries(out.headers)) {
      for (const v of Array.isArray(value) ? value : [value]) responseHeaders.append(name, v)
    }
    if (tooLarge) responseHeaders.set('connection', 'close')
    return new Response(out.body ?? null, { status: out.status, headers: responseHeaders })
  }
}
