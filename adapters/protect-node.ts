import type { IncomingMessage, ServerResponse } from 'node:http'
import type { GrantkitRequest } from '../src/http/types.js'
import { checkRequiredScopes, type ResourceProtector } from '../src/resource/protector.js'
import type { VerifiedToken } from '../src/resource/types.js'
import { formOf, headersOf, writeResponse } from './incoming.js'

/** A request that passed `protect`: the verified token is on `grantkit.token`. */
export type ProtectedRequest = IncomingMessage & { grantkit: { token: VerifiedToken } }

/**
 * The URL of a request as the protector needs it: path and query. The Host
 * header is the client's and may not parse, so a fixed origin stands in;
 * with a path that starts with "/", this cannot throw.
 */
export function protectedUrlOf(path: string | undefined): URL {
  return new URL('http://localhost' + (path?.startsWith('/') === true ? path : '/'))
}

/**
 * The normalized request of a Node.js request. A form a body parser already put
 * on `req.body` (object or string) is passed on; the stream itself is never
 * read, so the handler after us can still read it.
 */
export function protectedRequestOf(req: IncomingMessage & { body?: unknown }, url: URL, protector: ResourceProtector): GrantkitRequest {
  const request: GrantkitRequest = { method: req.method ?? 'GET', url, headers: headersOf(req) }
  if (!protector.readsBody(request)) return request
  const body = req.body
  const form = formOf(body)
  if (typeof body === 'string') request.body = body
  else if (form !== undefined) request.form = form
  return request
}

/**
 * node:http guard. Resolves to the verified token, also set on
 * `req.grantkit.token`, and calls `next` when given; otherwise it has written
 * the core's RFC 6750 answer and resolves to undefined.
 *
 * Body tokens (`allowBodyToken`) are seen only when a parser before it set
 * `req.body`: this guard leaves the request stream unread.
 *
 * @example
 * const guard = protect(protector, ['orders:read'])
 * http.createServer(async (req, res) => {
 *   const token = await guard(req, res)
 *   if (token === undefined) return
 *   res.end(`hello ${token.sub}`)
 * })
 */
export function protect(protector: ResourceProtector, scopes?: readonly string[]) {
  const required = checkRequiredScopes(scopes, 'scopes')
  return async (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void): Promise<VerifiedToken | undefined> => {
    const result = await protector.check(protectedRequestOf(req, protectedUrlOf(req.url), protector), required)
    if (!result.ok) {
      writeResponse(res, result.response)
      return undefined
    }
    ;(req as ProtectedRequest).grantkit = { token: result.token }
    next?.()
    return result.token
  }
}

/**
 * node:http handler for the protected resource metadata (RFC 9728) of a
 * protector built with `resource`: answers GET and HEAD at its well-known
 * path and resolves to true; resolves to false for any other request, which
 * it leaves untouched.
 *
 * @example
 * const metadata = resourceMetadata(protector)
 * http.createServer(async (req, res) => {
 *   if (metadata(req, res)) return
 *   const token = await guard(req, res)
 *   …
 * })
 */
export function resourceMetadata(protector: ResourceProtector) {
  if (protector.resourceMetadataUrl === undefined) throw new TypeError('protector: has no resource, so no metadata to serve (RFC 9728)')
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const answer = protector.handleMetadata({ method: req.method ?? 'GET', url: protectedUrlOf(req.url), headers: {} })
    if (answer === undefined) return false
    writeResponse(res, answer)
    return true
  }
}
