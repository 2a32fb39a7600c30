import type { IncomingMessage, ServerResponse } from 'node:http'
import type { GrantkitRequest } from '../src/http/types.js'
import { DEFAULT_MAX_BODY_BYTES, headersOf, readBody, writeResponse, type Handler } from './incoming.js'

export type { Handler } from './incoming.js'
export { protect, type ProtectedRequest } from './protect-node.js'

/** Options of `toNodeListener`. */
export interface NodeAdapterOptions {
  /** Largest body read, in bytes; a larger one is passed on as `bodyTooLarge`. Default 65536. */
  maxBodyBytes?: number
  /** The client's address behind a proxy you trust (e.g. from X-Forwarded-For). Default: the socket's peer. */
  remoteAddress?: (req: IncomingMessage) => string | undefined
}

/**
 * A request listener for `http.createServer`. It only translates: it reads the
 * body up to the limit, calls `server.handle`, and writes what comes back.
 *
 * @example
 * http.createServer(toNodeListener(server)).listen(4000)
 */
export function toNodeListener(server: Handler, options: NodeAdapterOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
  const limit = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES
  return (req, res) => {
    let url: URL
    try {
      url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`)
    } catch {
      // A Host header or target no URL can be made of: nothing for the core to route.
      writeResponse(res, { status: 400, headers: {} }, true)
      return
    }
    void readBody(req, limit).then(async ({ body, tooLarge }) => {
      const request: GrantkitRequest = { method: req.method ?? 'GET', url, headers: headersOf(req) }
      const remoteAddress = options.remoteAddress !== undefined ? options.remoteAddress(req) : req.socket.remoteAddress
      if (remoteAddress !== undefined) request.remoteAddress = remoteAddress
      if (tooLarge) request.bodyTooLarge = true
      else if (body !== undefined) request.body = body
      try {
        writeResponse(res, await server.handle(request), tooLarge)
      } catch {
        writeResponse(res, { status: 500, headers: {} }, true)
      }
    })
  }
}
