import type { ServerContext } from '../context.js'
import { isFormContentType, readForm, type FormParams } from '../http/form.js'
import type { GrantkitRequest } from '../http/types.js'
import { PageError } from './page-error.js'

/**
 * The form a person's browser posted to one of the pages. Throws what the page
 * endpoints show as an error page: too large (413), not a form, or not readable.
 */
export function readPageForm(ctx: ServerContext, req: GrantkitRequest): FormParams {
  if (req.bodyTooLarge === true || (req.body?.length ?? 0) > ctx.maxBodyBytes) throw new PageError('invalid_request', 'error.formTooLarge', { status: 413 })
  if (!isFormContentType(req.headers['content-type'])) throw new PageError('invalid_request', 'error.notAForm')
  try {
    return readForm(req)
  } catch (cause) {
    throw new PageError('invalid_request', 'error.formUnreadable', { cause })
  }
}
