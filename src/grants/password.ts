import { OAuthError } from '../errors.js'
import { createRefreshToken, shouldIssueRefreshToken } from '../tokens/refresh-token.js'
import { resolveScope } from '../tokens/scope.js'
import { issueTokens } from '../tokens/issue.js'
import { loginWithPassword } from '../users/login.js'
import type { GrantHandler } from './types.js'

/**
 * RFC 6749 §4.3, the resource owner password credentials grant. Only for
 * clients registered for it (RFC 9700 §2.4 says not to use it at all; it is
 * here for migrations). Wrong credentials and unknown users look alike, and
 * repeated failures lock the username for a window (§4.3.2 asks for protection
 * against brute force).
 */
export const password: GrantHandler = {
  grantType: 'password',
  parameters: ['username', 'password'],
  clientAuth: 'optional',
  async handle(ctx) {
    const { server, client, params } = ctx
    const username = params.get('username')
    const secret = params.get('password')
    if (username === undefined || secret === undefined) throw new OAuthError('invalid_request', { description: 'username and password are required.' })
    if (username.length > 256 || secret.length > 1024) throw new OAuthError('invalid_grant', { detail: 'credentials too long' })
    const scope = resolveScope(server, client, params.get('scope'))
    if (server.users === undefined) throw new OAuthError('unsupported_grant_type', { detail: 'no user source configured' })
    const result = await loginWithPassword(server, username, secret, client.id)
    // The same error for a wrong password, an unknown user and a locked username.
    if ('failure' in result) throw new OAuthError('invalid_grant', { detail: result.failure === 'throttled' ? 'username locked after repeated failures' : 'bad credentials' })
    const account = result.account
    const now = Math.floor(server.now())
    const grantId = server.randomId()
    let refreshToken: string | undefined
    if (shouldIssueRefreshToken(client, scope)) {
      const created = createRefreshToken(server, { clientId: client.id, sub: account.sub, scope, grantId, absoluteExpiresAt: now + server.ttl.refreshTokenAbsolute, authTime: now })
      await server.storage.refreshTokens.save(created.record)
      refreshToken = created.token
    }
    // Like the refreshes of this grant later: auth_time, and an ID token when openid was granted.
    const openid = scope.split(' ').includes('openid')
    return issueTokens(ctx, {
      sub: account.sub,
      scope,
      grantId,
      claims: { auth_time: now },
      ...(refreshToken !== undefined && { refreshToken }),
      ...(openid && { idToken: { authTime: now } }),
    })
  },
}
