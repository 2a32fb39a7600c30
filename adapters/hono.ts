import type { Context, MiddlewareHandler } from 'hono'
import type { GrantkitRequest } from '../src/http/types.js'
import { DEFAULT_MAX_BODY_BYTES, type Handler } from './incoming.js'

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

/**
 * Hono middleware: answers the server's own paths and passes the rest to
 * `next()`. Mount it with `app.use('*', toHonoHandler(server))`, or under the
 * issuer's path.
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
    const { body, tooLarge } = await readLimited(c.req.raw, limit)
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
