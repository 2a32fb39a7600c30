import type { ServerContext } from '../context.js'
import { isFormContentType, readForm, type FormParams } from '../http/form.js'
import type { GrantkitRequest } from '../http/types.js'
import { OAuthError } from '../errors.js'

/**
 * The form a person's browser posted to one of the pages. Throws what the page
 * endpoints show as an error page: too large (413), not a form, or not readable.
 */
export function readPageForm(ctx: ServerContext, req: GrantkitRequest): FormParams {
  if (req.bodyTooLarge === true || (req.body?.length ?? 0) > ctx.maxBodyBytes) throw new OAuthError('invalid_request', { status: 413, description: 'The form is too large.' })
  if (!isFormContentType(req.headers['content-type'])) throw new OAuthError('invalid_request', { description: 'Expected a form.' })
  try {
    return readForm(req)
  } catch (cause) {
    throw new OAuthError('invalid_request', { description: 'The form could not be read.', cause })
  }
}
