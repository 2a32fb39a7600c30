import type { ServerContext } from '../context.js'
import { hashToken } from '../crypto/random.js'
import { OAuthError } from '../errors.js'
import { requireStore } from '../storage/features.js'
import type { PushedAuthorizationRequestRecord } from '../storage/types.js'

/** RFC 9126 §2.2: the URN prefix of the request_uri the PAR endpoint hands out (RFC 9101 §10.4 registers it). */
export const PAR_REQUEST_URI_PREFIX = 'urn:ietf:params:oauth:request_uri:'

/** True when `value` has the shape of a request_uri this server hands out, so the authorization endpoint looks it up. */
export function isPushedRequestUri(value: string): boolean {
  return value.startsWith(PAR_REQUEST_URI_PREFIX)
}

/**
 * A fresh request_uri for a pushed request: the URN prefix and 256 random
 * bits (RFC 9126 §7.1: not guessable), and the hash it is stored under.
 */
export function newRequestUri(ctx: ServerContext): { requestUri: string; requestUriHash: string } {
  const requestUri = PAR_REQUEST_URI_PREFIX + ctx.randomToken()
  return { requestUri, requestUriHash: hashToken(requestUri) }
}

/**
 * Uses a request_uri once: the pushed request it names, removed from storage
 * in the same atomic step, provided `clientId` pushed it.
 *
 * SECURITY: one use (RFC 9126 §4 "SHOULD treat request_uri values as one-time
 * use"), with no allowance for a reload: the code_challenge inside belongs to
 * one authorization. A request_uri presented with another client_id is burnt
 * too: whoever holds it without being its client is not someone to keep it for.
 *
 * @throws OAuthError `invalid_request_uri` (RFC 9101 §7) when it is unknown, expired, used, or another client's
 * @example
 * const pushed = await redeemRequestUri(ctx, params.get('request_uri')!, params.get('client_id')!)
 */
export async function redeemRequestUri(ctx: ServerContext, requestUri: string, clientId: string): Promise<PushedAuthorizationRequestRecord> {
  const store = requireStore(ctx.storage, 'pushedAuthorizationRequests', 'pushed authorization requests')
  const record = await store.consume(hashToken(requestUri))
  // RFC 9126 §4: an expired request_uri MUST be rejected as invalid.
  if (record === null) throw new OAuthError('invalid_request_uri', { description: 'The request_uri is unknown, expired or already used.', detail: 'request_uri not found' })
  // RFC 9126 §4: the authorization request's client_id must be the client that pushed it.
  if (record.clientId !== clientId) {
    throw new OAuthError('invalid_request_uri', { description: 'The request_uri is unknown, expired or already used.', detail: `request_uri pushed by ${record.clientId}, used with client_id ${clientId.slice(0, 100)}` })
  }
  return record
}
