import type { NextFunction, Request, Response } from 'express'
import type { GrantkitRequest } from '../src/http/types.js'
import { DEFAULT_MAX_BODY_BYTES, headersOf, readBody, writeResponse, type Handler } from './incoming.js'

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
 * Express middleware. Mount it where the issuer's path is (`app.use('/auth',
 * toExpressHandler(server))` for an issuer ending in `/auth`); requests the
 * server has no route for go to `next()`. A body an earlier parser read is used
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
      if (req.socket.remoteAddress !== undefined) request.remoteAddress = req.socket.remoteAddress
      let close = false
      const parsed = formOf(req.body)
      if (parsed !== undefined) request.form = parsed
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
