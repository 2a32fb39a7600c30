import type { NextFunction, Request, Response } from 'express'
import type { GrantkitRequest, GrantkitResponse } from '../src/http/types.js'
export { protect, resourceMetadata } from './protect-express.js'
import { nodeRequestOf, urlOf, writeResponse, type Handler } from './incoming.js'

/** Options of `toExpressHandler` and `toGrantkitRequest`. */
export interface ExpressAdapterOptions {
  /** Largest body accepted, in bytes, read here or by a parser before. Default 65536. */
  maxBodyBytes?: number
}

/**
 * The request in grantkit's shape, for the interaction API
 * (`server.interactions.details/finish`) or an endpoint called directly. A
 * form `express.urlencoded()` already parsed is used as it is (repeated
 * parameters kept); otherwise the body is read here. Either way it is held to
 * `maxBodyBytes` (pass the server itself to use its limit). The URL is
 * `req.originalUrl`, the address `req.ip` (the app's 'trust proxy' applies).
 *
 * Rejects with a TypeError when the request target and Host header make no URL.
 *
 * @example
 * app.post('/login/:uid', express.urlencoded({ extended: false }), async (req, res) => {
 *   const request = await toGrantkitRequest(req, server)
 *   sendGrantkitResponse(res, await server.interactions.finish(request, req.params.uid, { login: { sub } }))
 * })
 */
export function toGrantkitRequest(req: Request, options: ExpressAdapterOptions = {}): Promise<GrantkitRequest> {
  return nodeRequestOf(req, { maxBodyBytes: options.maxBodyBytes, target: req.originalUrl, remoteAddress: req.ip ?? req.socket.remoteAddress })
}

/**
 * Sends a grantkit response (status, headers, body) on an Express response.
 * Its Set-Cookie values are added to any the app already set (a session
 * cookie of yours survives); its other headers replace the app's. Does
 * nothing once headers were sent.
 *
 * @example
 * sendGrantkitResponse(res, await server.interactions.finish(request, uid, { consent: {} }))
 */
export function sendGrantkitResponse(res: Response, response: GrantkitResponse): void {
  writeResponse(res, response)
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
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    try {
      const url = urlOf(req, req.originalUrl)
      // Not one of ours: leave the request, body unread, to the rest of the app.
      if (url !== undefined && !server.routes(url.pathname)) {
        next()
        return
      }
      writeResponse(res, await server.handle(await toGrantkitRequest(req, options)))
    } catch (err) {
      next(err)
    }
  }
}
