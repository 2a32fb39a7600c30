import { OAuthError } from '../errors.js'
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
  parameters: ['username', 'password', 'resource'],
  // RFC 8707 §2: resource may be repeated.
  repeatable: ['resource'],
  clientAuth: 'optional',
  requires: ['users'],
  stores: ['rateLimits', 'refreshTokens'],
  async handle(ctx) {
    const { params } = ctx
    const username = params.get('username')
    const secret = params.get('password')
    if (username === undefined || secret === undefined) throw new OAuthError('invalid_request', { description: 'username and password are required.' })
    if (username.length > 256 || secret.length > 1024) throw new OAuthError('invalid_grant', { detail: 'credentials too long' })
    const scope = ctx.scopes.resolve(params.get('scope'))
    const resources = ctx.resources.requested()
    // Checked before the password, so a request that cannot succeed costs no login attempt.
    const target = ctx.resources.target(resources, scope)
    if (ctx.users === undefined) throw new OAuthError('unsupported_grant_type', { detail: 'no user source configured' })
    const account = await ctx.login(username, secret)
    // The same error for a wrong password, an unknown user and a locked username (the event says which).
    if (account === undefined) throw new OAuthError('invalid_grant', { detail: 'bad credentials or username locked' })
    const now = Math.floor(ctx.now())
    const grantId = ctx.randomId()
    // The refresh token may later name these resources, and only these (RFC 8707 §2.2).
    const refreshToken = ctx.refreshTokens.shouldIssue(scope) ? await ctx.refreshTokens.issue({ sub: account.sub, scope: String(scope), grantId, authTime: now, resource: [...resources] }) : undefined
    // Like the refreshes of this grant later: auth_time, and an ID token when openid was granted.
    const openid = scope.has('openid')
    return ctx.tokens.issue({
      sub: account.sub,
      ...target,
      grantId,
      claims: { auth_time: now },
      ...(refreshToken !== undefined && { refreshToken }),
      ...(openid && { idToken: { authTime: now } }),
    })
  },
}
