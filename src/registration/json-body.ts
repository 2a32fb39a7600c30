import type { ServerContext } from '../context.js'
import { OAuthError } from '../errors.js'
import type { GrantkitRequest } from '../http/types.js'

/**
 * The JSON object of a registration request (RFC 7591 §3.1, RFC 7592 §2.2):
 * `application/json`, within the body limit, a JSON object.
 *
 * @throws OAuthError 413 invalid_request (too large), invalid_request (not JSON), invalid_client_metadata (not an object)
 */
export function readJsonObject(ctx: ServerContext, req: GrantkitRequest): Record<string, unknown> {
  if (req.bodyTooLarge === true || (req.body !== undefined && Buffer.byteLength(req.body) > ctx.maxBodyBytes)) {
    throw new OAuthError('invalid_request', { status: 413, description: 'The request body is too large.' })
  }
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
  // RFC 7591 §3.1: the metadata is sent as a JSON document; a form an adapter parsed is no such thing.
  if (type !== 'application/json' || req.form !== undefined) {
    throw new OAuthError('invalid_request', { description: 'The body must be a JSON object sent as application/json.' })
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(req.body ?? '')
  } catch (cause) {
    throw new OAuthError('invalid_request', { description: 'The body is not valid JSON.', cause })
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new OAuthError('invalid_client_metadata', { description: 'The body must be a JSON object of client metadata.' })
  }
  return parsed as Record<string, unknown>
}
