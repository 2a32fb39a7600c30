import type { Context, MiddlewareHandler } from 'hono'
import type { GrantkitRequest, GrantkitResponse } from '../src/http/types.js'
export { protect, resourceMetadata, type ProtectEnv } from './protect-hono.js'
import type { Handler } from './incoming.js'
import { honoRequestOf, webResponseOf } from './web.js'

/** Options of `toHonoHandler` and `toGrantkitRequest`. */
export interface HonoAdapterOptions {
  /** Largest body read, in bytes. Default 65536. */
  maxBodyBytes?: number
}

/**
 * The request in grantkit's shape, for the interaction API
 * (`server.interactions.details/finish`) or an endpoint called directly. The
 * body is read as `toHonoHandler` reads it: up to `maxBodyBytes` (pass the
 * server itself to use its limit), from Hono's cache when `c.req.parseBody()`
 * or another middleware read it first.
 *
 * @example
 * app.post('/login/:uid', async (c) => {
 *   const request = await toGrantkitRequest(c, server)
 *   return toHonoResponse(await server.interactions.finish(request, c.req.param('uid'), { login: { sub } }))
 * })
 */
export function toGrantkitRequest(c: Context, options: HonoAdapterOptions = {}): Promise<GrantkitRequest> {
  return honoRequestOf(c, options)
}

/**
 * A Web `Response` of a grantkit response, to return from a Hono handler;
 * several Set-Cookie values stay separate fields.
 *
 * @example
 * return toHonoResponse(await server.interactions.finish(request, uid, { consent: {} }))
 */
export function toHonoResponse(response: GrantkitResponse): Response {
  return webResponseOf(response)
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
  return async (c: Context, next) => {
    if (!server.routes(new URL(c.req.url).pathname)) return next()
    const request = await toGrantkitRequest(c, options)
    // The rest of a body over the limit was not read: close rather than drain it.
    return webResponseOf(await server.handle(request), request.bodyTooLarge === true)
  }
}
