import type { NextFunction, Request, Response } from 'express'
import { checkRequiredScopes, type ResourceProtector } from '../src/resource/protector.js'
import type { VerifiedToken } from '../src/resource/types.js'
import { writeResponse } from './incoming.js'
import { protectedRequestOf, protectedUrlOf } from './protect-node.js'

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by grantkit's `protect` once the bearer token passed; absent before and on other routes. */
      grantkit?: { token: VerifiedToken }
    }
  }
}

/**
 * Express middleware that lets a request through only with a valid bearer
 * token carrying every scope in `scopes`; it then sets `req.grantkit.token`
 * (typed by a global `Express.Request` augmentation). Otherwise it sends the
 * core's RFC 6750 answer. Body tokens (`allowBodyToken`) are seen only when
 * `express.urlencoded()` ran before it; it never reads the body itself.
 *
 * @example
 * app.get('/orders', protect(protector, ['orders:read']), (req, res) => {
 *   res.json({ for: req.grantkit!.token.sub })
 * })
 */
export function protect(protector: ResourceProtector, scopes?: readonly string[]) {
  const required = checkRequiredScopes(scopes, 'scopes')
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    try {
      const result = await protector.check(protectedRequestOf(req, protectedUrlOf(req.originalUrl), protector), required)
      if (!result.ok) {
        writeResponse(res, result.response)
        return
      }
      req.grantkit = { token: result.token }
      next()
    } catch (err) {
      next(err)
    }
  }
}

/**
 * Express middleware serving the protected resource metadata (RFC 9728) of a
 * protector built with `resource`, at its well-known path; every other
 * request goes on to `next`. Mount it at the application's root.
 *
 * @example
 * app.use(resourceMetadata(protector))
 * app.get('/mcp', protect(protector), handler)
 */
export function resourceMetadata(protector: ResourceProtector) {
  if (protector.resourceMetadataUrl === undefined) throw new TypeError('protector: has no resource, so no metadata to serve (RFC 9728)')
  return (req: Request, res: Response, next: NextFunction): void => {
    // originalUrl: the path as the client sent it, whatever router this is mounted on.
    const answer = protector.handleMetadata({ method: req.method, url: protectedUrlOf(req.originalUrl), headers: {} })
    if (answer === undefined) next()
    else writeResponse(res, answer)
  }
}
