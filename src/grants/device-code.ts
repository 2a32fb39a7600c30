import { hashToken } from '../crypto/random.js'
import { OAuthError } from '../errors.js'
import { requireStore } from '../storage/features.js'
import { Scope } from '../tokens/scope.js'
import type { GrantHandler } from './types.js'

/** The `grant_type` of the device authorization grant (RFC 8628 §3.4). */
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'

/**
 * RFC 8628 §3.4, §3.5: the device polls with its device code until the person
 * approves or denies, no faster than the interval.
 */
export const deviceCode: GrantHandler = {
  grantType: DEVICE_CODE_GRANT,
  parameters: ['device_code', 'resource'],
  // RFC 8707 §2: resource may be repeated.
  repeatable: ['resource'],
  clientAuth: 'optional',
  requires: ['sign-in'],
  stores: ['deviceCodes', 'refreshTokens'],
  async handle(ctx) {
    const { client, params } = ctx
    const devices = requireStore(ctx.storage, 'deviceCodes', 'the device flow')
    const code = params.get('device_code')
    if (code === undefined) throw new OAuthError('invalid_request', { description: 'device_code is required.' })
    const resources = ctx.resources.requested()
    if (code.length > 512) throw new OAuthError('invalid_grant', { detail: 'device code too long to be ours' })
    const now = Math.floor(ctx.now())
    const hash = hashToken(code)
    // RFC 8628 §3.4: the device code was issued to this client; poll() ignores another client's codes.
    const before = await devices.poll(hash, client.id, now)
    if (before === null) throw new OAuthError('invalid_grant', { detail: 'unknown device code, or another client’s' })
    if (before.expiresAt <= now) throw new OAuthError('expired_token', { description: 'The device code has expired.' })
    switch (before.status) {
      case 'denied':
        throw new OAuthError('access_denied', { description: 'The person denied the request.' })
      case 'consumed':
        throw new OAuthError('invalid_grant', { detail: 'device code already redeemed' })
      case 'pending': {
        // RFC 8628 §3.5: polling faster than the interval earns slow_down and an interval 5 s longer.
        if (before.lastPolledAt !== undefined && now - before.lastPolledAt < before.interval) {
          const interval = before.interval + 5
          await devices.slowDown(hash, interval)
          throw new OAuthError('slow_down', { description: `Poll at most every ${interval} seconds.` })
        }
        throw new OAuthError('authorization_pending', { description: 'The person has not finished yet.' })
      }
      case 'approved':
        break
    }
    const sub = before.sub!
    const scope = Scope.parse(before.grantedScope ?? before.scope)
    const authTime = before.authTime ?? now
    const grantId = ctx.randomId()
    // RFC 8707 §2.2: the resources of the token request bound the audience; a scope they cannot carry fails here, before the code is spent on a refresh token.
    const target = ctx.resources.target(resources, scope)
    const refreshToken = ctx.refreshTokens.shouldIssue(scope) ? await ctx.refreshTokens.issue({ sub, scope: String(scope), grantId, authTime, resource: [...resources] }) : undefined
    const openid = scope.has('openid')
    return ctx.tokens.issue({
      sub,
      ...target,
      grantId,
      claims: { auth_time: authTime },
      ...(refreshToken !== undefined && { refreshToken }),
      ...(openid && { idToken: { authTime } }),
    })
  },
}
