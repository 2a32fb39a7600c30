import type { Client } from '../clients/metadata.js'
import type { ServerContext } from '../context.js'
import { signJwt } from '../crypto/jose.js'
import { idTokenKeyFor } from '../tokens/id-token.js'

/** The event a logout token carries (OIDC Back-Channel Logout §2.4). */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout'

/** Seconds a logout token lives: Back-Channel Logout §2.4 recommends at most two minutes. */
export const LOGOUT_TOKEN_LIFETIME = 120

/**
 * A logout token for `client` (OIDC Back-Channel Logout §2.4): a JWT of type
 * `logout+jwt` (§2.4, so it cannot pass for an ID token), signed like the
 * client's ID tokens, with iss, aud, iat, exp, jti, the back-channel logout
 * event, and both sub and sid, never a nonce (§2.4 forbids it, again so that
 * it cannot be replayed as an ID token).
 *
 * @throws Error when the server has no key for the client's ID token algorithm
 * @example
 * const token = createLogoutToken(ctx, client, { sub: 'alice', sid: session.sid })
 */
export function createLogoutToken(ctx: ServerContext, client: Client, about: { sub: string; sid?: string }): string {
  const now = Math.floor(ctx.now())
  const key = idTokenKeyFor(ctx.keys, client, now)
  if (key === undefined) throw new Error(`logout token: no ${client.idTokenAlg} signing key for client "${client.id}" (id_token_signed_response_alg)`)
  const payload: Record<string, unknown> = {
    iss: ctx.issuer,
    sub: about.sub,
    aud: client.id,
    iat: now,
    exp: now + LOGOUT_TOKEN_LIFETIME,
    jti: ctx.randomId(),
    events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
  }
  if (about.sid !== undefined) payload.sid = about.sid
  return signJwt(key, 'logout+jwt', payload)
}
