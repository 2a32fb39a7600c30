import type { ServerContext } from '../context.js'
import { decodeJwt, verifyOwnJws } from '../crypto/jose.js'

/** What a valid `id_token_hint` says: who, for which clients, in which session. */
export interface IdTokenHint {
  sub: string
  /** The audience: the client ids it was issued to. */
  aud: string[]
  sid?: string
}

/**
 * The claims of an `id_token_hint` (OIDC RP-Initiated Logout §2) when it is an
 * ID token this server issued: signed by one of its published keys, with its
 * issuer, a subject and an audience. Expiry is not checked: §4 lets the OP
 * accept an expired hint, and an RP logs out long after the token was issued.
 * Anything else, including a token of another issuer or a forged one, is
 * null: the request is then not trusted (a confirmation is asked).
 *
 * @example
 * const hint = verifyIdTokenHint(ctx, params.get('id_token_hint'))
 */
export function verifyIdTokenHint(ctx: ServerContext, token: string | undefined): IdTokenHint | null {
  if (token === undefined || token.length === 0 || token.length > 16_384) return null
  const decoded = decodeJwt(token)
  if (decoded === null) return null
  // Our ID tokens are typed JWT: an access token (at+jwt) or a logout token (logout+jwt) is no hint.
  if (decoded.header.typ !== 'JWT' || typeof decoded.header.kid !== 'string') return null
  const key = ctx.keys.findKey(decoded.header.kid, ctx.now())
  if (key === undefined || !verifyOwnJws(decoded, key)) return null
  const p = decoded.payload
  if (p.iss !== ctx.issuer || typeof p.sub !== 'string' || p.sub === '') return null
  const aud = typeof p.aud === 'string' ? [p.aud] : Array.isArray(p.aud) && p.aud.every((a) => typeof a === 'string') ? (p.aud as string[]) : []
  if (aud.length === 0) return null
  const hint: IdTokenHint = { sub: p.sub, aud }
  if (typeof p.sid === 'string') hint.sid = p.sid
  return hint
}
