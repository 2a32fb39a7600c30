import type { ServerContext } from '../context.js'
import type { SessionRecord } from '../storage/types.js'
import { backchannelLogoutUri } from './client-metadata.js'
import { createLogoutToken } from './logout-token.js'

/**
 * Ends a browser session, and with it the person's single sign-on in that
 * browser: the record is deleted (the cookie then names nothing), then every
 * client recorded on it with a `backchannel_logout_uri` is sent a logout token
 * in the background (OIDC Back-Channel Logout §2.5, §2.7).
 *
 * SECURITY: tokens already issued are left alone. Access tokens live out
 * their short lifetime; refresh tokens issued for `offline_access` are meant
 * to outlive the session (OIDC Core §11), and with `openid` grantkit issues no
 * other refresh token unless the client asks for `always_issue_refresh_token`.
 * A client that must stop at logout acts on the logout token.
 *
 * @example
 * await endSession(ctx, session, 'admin')
 */
export async function endSession(ctx: ServerContext, session: SessionRecord, reason: 'logout' | 'admin', requestId?: string): Promise<void> {
  await ctx.storage.sessions.delete(session.idHash)
  const clients = [...new Set(session.clients ?? [])]
  ctx.events.emit({ type: 'session.ended', sid: session.sid, sub: session.sub, reason, clients }, requestId)
  for (const clientId of clients) {
    const found = ctx.clients.find(clientId)
    const client = found instanceof Promise ? await found.catch(() => undefined) : found
    const uri = client === undefined ? undefined : backchannelLogoutUri(client)
    if (client === undefined || uri === undefined) continue
    let token: string
    try {
      token = createLogoutToken(ctx, client, { sub: session.sub, ...(session.sid !== undefined && { sid: session.sid }) })
    } catch (error) {
      ctx.events.emit({ type: 'logout.delivery.failed', clientId, sid: session.sid, attempts: 0, reason: `not signed: ${(error as Error).message}` }, requestId)
      continue
    }
    ctx.logoutDeliveries.start({ clientId, uri, token, sid: session.sid })
  }
}
