import { hashToken } from '../crypto/random.js'
import { isCutOff } from '../tokens/cutoff.js'
import { OAuthError } from '../errors.js'
import { narrowResources } from '../tokens/resource-indicators.js'
import { Scope } from '../tokens/scope.js'
import type { GrantHandler } from './types.js'

/**
 * RFC 6749 §6 with rotation (RFC 9700 §4.14.2): every use returns a new refresh
 * token; presenting one that was already rotated away revokes the whole grant.
 */
export const refreshToken: GrantHandler = {
  grantType: 'refresh_token',
  parameters: ['refresh_token', 'resource'],
  // RFC 8707 §2: resource may be repeated.
  repeatable: ['resource'],
  clientAuth: 'optional',
  stores: ['refreshTokens', 'grants'],
  async handle(ctx) {
    const { client, params } = ctx
    const store = ctx.storage.refreshTokens
    const presented = params.get('refresh_token')
    if (presented === undefined) throw new OAuthError('invalid_request', { description: 'refresh_token is required.' })
    if (presented.length > 512) throw new OAuthError('invalid_grant', { detail: 'refresh token too long to be ours' })
    const resources = ctx.resources.requested()
    const hash = hashToken(presented)
    const found = await store.find(hash)
    if (found === null) throw new OAuthError('invalid_grant', { detail: 'unknown, expired or revoked refresh token' })
    const { record } = found
    // RFC 6749 §6: the refresh token is bound to the client it was issued to.
    if (record.clientId !== client.id) throw new OAuthError('invalid_grant', { detail: `refresh token belongs to another client (${record.clientId})` })
    // Access tokens of the chain are issued until absoluteExpiresAt and live ttl.accessToken past it.
    const revokeUntil = record.absoluteExpiresAt + ctx.config.ttl.accessToken
    if (found.rotated) {
      // RFC 9700 §4.14.2: a rotated-away token came back; one of its holders is not the client.
      await ctx.storage.grants.revoke(record.grantId, revokeUntil)
      throw new OAuthError('invalid_grant', { detail: `refresh token reused; grant ${record.grantId} revoked` })
    }
    // RFC 9449 §5: a refresh token bound to a DPoP key is used only with a proof by that key.
    if (record.jkt !== undefined && ctx.dpop?.jkt !== record.jkt) {
      throw new OAuthError('invalid_grant', { detail: ctx.dpop === undefined ? 'DPoP-bound refresh token without a proof' : 'DPoP proof key differs from the refresh token\'s' })
    }
    if (await ctx.storage.grants.isRevoked(record.grantId)) throw new OAuthError('invalid_grant', { detail: 'grant revoked' })
    if (await isCutOff(ctx.storage, record.clientId, record.sub, record.issuedAt)) throw new OAuthError('invalid_grant', { detail: 'tokens of this client or consent revoked' })

    // RFC 6749 §6: the scope may narrow, never widen.
    const requested = params.get('scope')
    const granted = Scope.parse(record.scope)
    const scope = requested === undefined ? granted : Scope.parse(requested)
    if (!scope.isSubsetOf(granted)) throw new OAuthError('invalid_scope', { detail: 'scope wider than the original grant' })
    // RFC 8707 §2.2: a refresh may name any resource of the grant, never another; none named means all of them.
    const target = ctx.resources.target(narrowResources(record.resource ?? [], resources), scope)

    // The successor keeps the original scope (RFC 6749 §6) and the chain's absolute end.
    const next = ctx.refreshTokens.create({
      sub: record.sub,
      scope: record.scope,
      grantId: record.grantId,
      absoluteExpiresAt: record.absoluteExpiresAt,
      ...(record.authTime !== undefined && { authTime: record.authTime }),
      ...(record.sid !== undefined && { sid: record.sid }),
      ...(record.claims !== undefined && { claims: record.claims }),
      ...(record.resource !== undefined && { resource: record.resource }),
    })
    const openid = scope.has('openid')
    // Everything is made before anything is written, and the rotation stores
    // the opaque access token in the same step: a failure (503) then means
    // nothing changed, and the client's retry with the same token is not reuse.
    const tokens = ctx.tokens.prepare({
      sub: record.sub,
      ...target,
      grantId: record.grantId,
      refreshToken: next.token,
      ...(record.authTime !== undefined && { claims: { auth_time: record.authTime } }),
      // OIDC Core §12.2: an ID token may accompany a refreshed access token.
      ...(openid && record.authTime !== undefined && { idToken: { authTime: record.authTime, ...(record.sid !== undefined && { sid: record.sid }) } }),
    })
    const outcome = await ctx.refreshTokens.rotate(record, next.record, tokens)
    // SECURITY: losing a race to a simultaneous use of the same token is refused
    // but does not revoke the grant: the winner is as likely to be the client
    // itself (two tabs, a retry). A token already rotated when we looked it up
    // is reuse, and revoked above.
    if (outcome !== 'rotated') throw new OAuthError('invalid_grant', { detail: `refresh token ${outcome === 'reused' ? 'rotated concurrently' : 'vanished'}` })
    return tokens.respond()
  },
}
