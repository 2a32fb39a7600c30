import { ProtocolError } from './errors.js'
import type { ResolvedProfile } from './provider.js'
import type { TokenSet } from './types.js'

const invalid = (message: string): ProtocolError => new ProtocolError('invalid_token_response', message)

function optionalString(body: Record<string, unknown>, name: string): string | undefined {
  const v = body[name]
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'string' || v === '') throw invalid(`${name} must be a non-empty string`)
  return v
}

/** `expires_in` as seconds: a JSON number, or a numeric string as some providers send (a token-response fix). */
function expiresIn(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) throw invalid('expires_in must be a number of seconds')
  return n
}

/**
 * Checks a successful token response (RFC 6749 §5.1) and turns it into a
 * TokenSet. The profile's quirks repair it first (`fixTokenResponse`,
 * `defaultExpiresIn`) and choose the fields kept (`keepFields`). The ID token
 * is returned as received; the caller validates it.
 *
 * @throws ProtocolError `invalid_token_response`
 */
export function readTokenResponse(profile: ResolvedProfile, raw: Record<string, unknown>, now: number, requestedScope: string | undefined, dpopSent = false): TokenSet {
  const body = profile.quirks.fixTokenResponse?.({ ...raw }) ?? raw
  const accessToken = optionalString(body, 'access_token')
  if (accessToken === undefined) throw invalid('access_token is missing')
  // RFC 6749 §5.1: token_type is REQUIRED, and a client must understand it (§7.1).
  const tokenType = body.token_type
  if (typeof tokenType !== 'string' || tokenType === '') throw invalid('token_type is missing (RFC 6749 §5.1)')
  const type = tokenType.toLowerCase()
  // RFC 9449 §5: DPoP only in answer to a request that carried a proof; a server may still answer Bearer.
  if (type !== 'bearer' && !(type === 'dpop' && dpopSent)) throw invalid(`token_type ${tokenType.slice(0, 40)} is not supported (${dpopSent ? 'Bearer or DPoP' : 'only Bearer'})`)
  const lifetime = expiresIn(body.expires_in) ?? profile.quirks.defaultExpiresIn
  const tokens: TokenSet = { accessToken, tokenType: type === 'dpop' ? 'DPoP' : 'Bearer', obtainedAt: Math.floor(now) }
  if (lifetime !== undefined) tokens.expiresAt = Math.floor(now) + lifetime
  const refreshToken = optionalString(body, 'refresh_token')
  if (refreshToken !== undefined) tokens.refreshToken = refreshToken
  // RFC 6749 §5.1: an omitted scope is the one requested.
  const scope = typeof body.scope === 'string' ? body.scope : requestedScope
  if (scope !== undefined && scope !== '') tokens.scope = scope
  const idToken = optionalString(body, 'id_token')
  if (idToken !== undefined) tokens.idToken = idToken
  for (const name of profile.quirks.keepFields ?? []) {
    if (body[name] !== undefined) (tokens.extra ??= {})[name] = body[name]
  }
  return tokens
}
