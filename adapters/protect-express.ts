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
