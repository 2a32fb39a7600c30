import type { ServerContext } from '../context.js'
import { OAuthError, StorageUnavailableError } from '../errors.js'
import { errorResponse, serverErrorResponse } from '../http/response.js'
import type { GrantkitResponse } from '../http/types.js'

/**
 * The answer to anything an endpoint throws: an OAuthError as the RFC says,
 * an unreachable database as 503 temporarily_unavailable (fail closed, retry
 * later), anything else as a bare server_error. Details go to events only.
 */
export function failureResponse(ctx: ServerContext, endpoint: string, err: unknown): GrantkitResponse {
  if (err instanceof OAuthError) return errorResponse(err)
  if (err instanceof StorageUnavailableError) {
    ctx.events.emit({ type: 'storage.unavailable', endpoint, error: err })
    return errorResponse(new OAuthError('temporarily_unavailable', { status: 503, headers: { 'retry-after': '5' } }))
  }
  ctx.events.emit({ type: 'server.error', endpoint, error: err })
  return serverErrorResponse()
}
