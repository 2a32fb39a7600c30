import type { IncomingMessage, ServerResponse } from 'node:http'
import type { GrantkitRequest, GrantkitResponse } from '../src/http/types.js'
import { nodeRequestOf, writeResponse, type Handler } from './incoming.js'

export type { Handler } from './incoming.js'
export { protect, resourceMetadata, type ProtectedRequest } from './protect-node.js'
export { eventLoopDelayMonitor, type EventLoopDelayMonitor } from './event-loop.js'

/** Options of `toNodeListener` and `toGrantkitRequest`. */
export interface NodeAdapterOptions {
  /** Largest body read, in bytes; a larger one is passed on as `bodyTooLarge`. Default 65536. */
  maxBodyBytes?: number
  /** The client's address behind a proxy you trust (e.g. from X-Forwarded-For). Default: the socket's peer. */
  remoteAddress?: (req: IncomingMessage) => string | undefined
}

/**
 * The request in grantkit's shape, for the interaction API
 * (`server.interactions.details/finish`) or an endpoint called directly. It
 * reads the body as `toNodeListener` does: up to `maxBodyBytes` (pass the
 * server itself to use its limit), `bodyTooLarge` past it. Header names are
 * lower case, one string each.
 *
 * Rejects with a TypeError when the request target and Host header make no URL.
 *
 * @example
 * const req = await toGrantkitRequest(incoming, server)
 * sendGrantkitResponse(res, await server.interactions.finish(req, uid, { login: { sub } }))
 */
export function toGrantkitRequest(req: IncomingMessage, options: NodeAdapterOptions = {}): Promise<GrantkitRequest> {
  const remoteAddress = options.remoteAddress !== undefined ? options.remoteAddress(req) : req.socket.remoteAddress
  return nodeRequestOf(req, { maxBodyBytes: options.maxBodyBytes, remoteAddress })
}

/**
 * Sends a grantkit response (status, headers, body) on a Node.js response.
 * Its Set-Cookie values are added to any the app already set; its other
 * headers replace the app's. After a body `toGrantkitRequest` left unread
 * (too large) the connection is closed. Does nothing once headers were sent.
 *
 * @example
 * sendGrantkitResponse(res, await server.token(await toGrantkitRequest(req, server)))
 */
export function sendGrantkitResponse(res: ServerResponse, response: GrantkitResponse): void {
  writeResponse(res, response)
}

/**
 * A request listener for `http.createServer`. It only translates: it reads the
 * body up to the limit, calls `server.handle`, and writes what comes back.
 *
 * @example
 * http.createServer(toNodeListener(server)).listen(4000)
 */
export function toNodeListener(server: Handler, options: NodeAdapterOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const failed = (): void => writeResponse(res, { status: 500, headers: {} })
    toGrantkitRequest(req, options).then(
      // The core's promise is followed as it is: no async wrapper, one turn fewer per request.
      (request) => {
        let answer: Promise<GrantkitResponse>
        try {
          answer = Promise.resolve(server.handle(request))
        } catch {
          return failed()
        }
        return answer.then((out) => {
          try {
            writeResponse(res, out)
          } catch {
            failed()
          }
        }, failed)
      },
      // A Host header or target no URL can be made of: nothing for the core to route.
      () => writeResponse(res, { status: 400, headers: {} }),
    )
  }
}
