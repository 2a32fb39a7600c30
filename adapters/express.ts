import type { NextFunction, Request, Response } from 'express'
import type { GrantkitRequest } from '../src/http/types.js'
export { protect } from './protect-express.js'
import { DEFAULT_MAX_BODY_BYTES, headersOf, readBody, writeResponse, type Handler } from './incoming.js'

/** Options of `toExpressHandler`. */
export interface ExpressAdapterOptions {
  /** Largest body read, in bytes, when no body parser ran before. Default 65536. */
  maxBodyBytes?: number
}

/** A body express.urlencoded() (or another parser) already produced, as the core's form. */
function formOf(body: unknown): URLSearchParams | undefined {
  if (typeof body !== 'object' || body === null || Buffer.isBuffer(body)) return undefined
  const form = new URLSearchParams()
  for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
    // A repeated parameter arrives as an array: keep every value so the core can refuse it.
    for (const v of Array.isArray(value) ? value : [value]) form.append(name, typeof v === 'string' ? v : JSON.stringify(v))
  }
  return form
}

/**
 * Express middleware. Mount it at the root (`app.use(toExpressHandler(server))`),
 * also for an issuer with a path: RFC 8414 §3.1 puts the metadata at
 * `/.well-known/oauth-authorization-server/<path>`, outside the issuer's path.
 * Requests the server has no route for go to `next()`. A body an earlier parser read is used
 * as it is; otherwise the body is read here, up to the limit.
 *
 * @example
 * app.use(toExpressHandler(server))
 */
export function toExpressHandler(server: Handler & { routes(pathname: string): boolean }, options: ExpressAdapterOptions = {}) {
  const limit = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    try {
      const url = new URL(req.originalUrl, `http://${req.headers.host ?? 'localhost'}`)
      // Not one of ours: leave the request, body unread, to the rest of the app.
      if (!server.routes(url.pathname)) {
        next()
        return
      }
      const request: GrantkitRequest = { method: req.method, url, headers: headersOf(req) }
      // req.ip follows the app's 'trust proxy' setting, so per-source limits see the real client.
      const remoteAddress = req.ip ?? req.socket.remoteAddress
      if (remoteAddress !== undefined) request.remoteAddress = remoteAddress
      let close = false
      const parsed = req.is('application/x-www-form-urlencoded') ? formOf(req.body) : undefined
      if (parsed !== undefined) {
        // A parser before us read the body: hold it to the limit a body read here has.
        if (Number(req.headers['content-length'] ?? 0) > limit || parsed.toString().length > limit) request.bodyTooLarge = close = true
        else request.form = parsed
      }
      else if (typeof req.body === 'string') request.body = req.body
      else if (!req.readableEnded) {
        const { body, tooLarge } = await readBody(req, limit)
        if (tooLarge) request.bodyTooLarge = close = true
        else if (body !== undefined) request.body = body
      }
      writeResponse(res, await server.handle(request), close)
    } catch (err) {
      next(err)
    }
  }
}
