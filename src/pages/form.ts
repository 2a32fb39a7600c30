import type { ServerContext } from '../context.js'
import { isFormContentType, readForm, type FormParams } from '../http/form.js'
import type { GrantkitRequest, GrantkitResponse } from '../http/types.js'
import { errorPage } from './html.js'

/**
 * The form a person's browser posted to one of the pages, or the error page to
 * show instead: too large (413), not a form, or not readable.
 */
export function readPageForm(ctx: ServerContext, req: GrantkitRequest): FormParams | GrantkitResponse {
  if (req.bodyTooLarge === true || (req.body?.length ?? 0) > ctx.maxBodyBytes) return errorPage('invalid_request', 'The form is too large.', 413)
  if (!isFormContentType(req.headers['content-type'])) return errorPage('invalid_request', 'Expected a form.')
  try {
    return readForm(req)
  } catch {
    return errorPage('invalid_request', 'The form could not be read.')
  }
}
