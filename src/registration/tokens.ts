import { timingSafeEqual } from 'node:crypto'
import type { RegistrationTokenHash } from '../clients/manager.js'
import type { ServerContext } from '../context.js'
import { OAuthError } from '../errors.js'
import type { GrantkitRequest } from '../http/types.js'
import { extractBearer } from '../resource/bearer.js'
import type { StoredClientRecord } from '../storage/types.js'
import { invalidRegistrationToken } from './errors.js'
import { hashBearer } from './options.js'

const PREFIX = 'sha256:'

/**
 * The bearer token of the Authorization header (RFC 6750 §2.1), or undefined.
 * Only the header: a token in the query or in the JSON body is no credential here.
 */
function headerBearer(req: GrantkitRequest): string | undefined {
  const { token, error } = extractBearer(req, false, 'ignore')
  return error === undefined ? token : undefined
}

/**
 * Checks the initial access token of a registration (RFC 7591 §3) when the
 * server requires one. Every configured hash is compared, in constant time,
 * so the time taken tells nothing about which one came close.
 *
 * @throws OAuthError 401 invalid_token for a missing or wrong token
 * @returns whether a valid initial access token was presented
 */
export function checkInitialAccessToken(ctx: ServerContext, req: GrantkitRequest): boolean {
  const hashes = ctx.registration.initialAccessToken
  if (hashes === undefined) return false
  const token = headerBearer(req)
  const presented = hashBearer(token ?? '')
  let match = false
  for (const hash of hashes) match = timingSafeEqual(hash, presented) || match
  if (token === undefined || !match) {
    throw new OAuthError('invalid_token', {
      description: 'A valid initial access token is required to register a client.',
      headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
    })
  }
  return true
}

/** A new registration access token (RFC 7592 §3): the token for the response, its hash for the record. */
export function newRegistrationToken(ctx: ServerContext): { token: string; stored: RegistrationTokenHash } {
  const token = ctx.randomToken()
  const ttl = ctx.registration.accessTokenTtl
  return {
    token,
    stored: { hash: PREFIX + hashBearer(token).toString('base64url'), ...(ttl !== undefined && { expiresAt: Math.floor(ctx.now()) + ttl }) },
  }
}

/**
 * The presented registration access token when it is the record's current
 * one and alive; otherwise invalid_token. A client without a token (one made
 * by `server.clients` or an admin API) is not reachable through RFC 7592.
 *
 * @throws OAuthError 401 invalid_token
 */
export function requireRegistrationToken(ctx: ServerContext, req: GrantkitRequest, record: StoredClientRecord | null): string {
  const token = headerBearer(req)
  const presented = hashBearer(token ?? '')
  const stored = record?.registrationTokenHash
  const expected = stored?.startsWith(PREFIX) === true ? Buffer.from(stored.slice(PREFIX.length), 'base64url') : undefined
  const match = expected !== undefined && expected.length === presented.length && timingSafeEqual(expected, presented)
  const expiresAt = record?.registrationTokenExpiresAt
  if (token === undefined || !match || (expiresAt !== undefined && ctx.now() >= expiresAt)) throw invalidRegistrationToken()
  return token
}
