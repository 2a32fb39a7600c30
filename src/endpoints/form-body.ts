import type { ServerContext } from '../context.js'
import { OAuthError } from '../errors.js'
import { isFormContentType, readFormValues, singleValues, type FormParams, type FormValues } from '../http/form.js'
import type { GrantkitRequest } from '../http/types.js'

/**
 * The form body of a POST endpoint, strictly: a body over the size limit is 413,
 * anything but application/x-www-form-urlencoded is invalid_request (RFC 6749 §3.2).
 */
export function readFormBodyValues(ctx: ServerContext, req: GrantkitRequest): FormValues {
  if (req.bodyTooLarge === true || (req.body !== undefined && req.body.length > ctx.maxBodyBytes)) {
    throw new OAuthError('invalid_request', { status: 413, description: 'The request body is too large.' })
  }
  // Checked even for a form an adapter parsed: the media type is the client's, and a JSON body is not a form.
  if (!isFormContentType(req.headers['content-type'])) {
    throw new OAuthError('invalid_request', { description: 'The body must be application/x-www-form-urlencoded.' })
  }
  return readFormValues(req)
}

/** `readFormBodyValues`, one value per parameter: repeats are invalid_request (RFC 6749 §3.2). */
export function readFormBody(ctx: ServerContext, req: GrantkitRequest): FormParams {
  return singleValues(readFormBodyValues(ctx, req))
}
