import { hashToken } from '../crypto/random.js'
import { isCutOff } from '../tokens/cutoff.js'
import { OAuthError } from '../errors.js'
import { verifyPkce } from '../tokens/pkce.js'
import { narrowResources } from '../tokens/resource-indicators.js'
import { Scope } from '../tokens/scope.js'
import type { GrantHandler } from './types.js'

/**
 * RFC 6749 §4.1.3: a client exchanges the code it received at its redirect_uri.
 * The code is consumed atomically; a second redemption revokes everything the
 * first one issued (§4.1.2, RFC 9700 §4.5).
 */
export const authorizationCode: GrantHandler = {
  grantType: 'authorization_code',
  parameters: ['code', 'redirect_uri', 'code_verifier', 'resource'],
  // RFC 8707 §2: resource may be repeated.
  repeatable: ['resource'],
  clientAuth: 'optional',
  requires: ['sign-in'],
  stores: ['authorizationCodes', 'refreshTokens', 'grants'],
  async handle(ctx) {
    const { client, params, config } = ctx
    const code = params.get('code')
    if (code === undefined) throw new OAuthError('invalid_request', { description: 'code is required.' })
    if (code.length > 512) throw new OAuthError('invalid_grant', { detail: 'code too long to be ours' })
    // Checked before the code is consumed: a malformed or unknown resource does not cost the client its code.
    const requested = ctx.resources.requested()
    const consumed = await ctx.storage.authorizationCodes.consume(hashToken(code))
    if (consumed.outcome === 'reused') {
      // RFC 6749 §4.1.2: if a code is used more than once, revoke all tokens previously issued from it.
      await ctx.storage.grants.revoke(consumed.grantId, Math.floor(ctx.now()) + config.ttl.refreshTokenAbsolute + config.ttl.accessToken)
      throw new OAuthError('invalid_grant', { detail: `code replayed; grant ${consumed.grantId} revoked` })
    }
    if (consumed.outcome === 'not_found') throw new OAuthError('invalid_grant', { detail: 'unknown or expired code' })
    const record = consumed.record
    // RFC 6749 §4.1.3: the code must have been issued to the authenticated client.
    if (record.clientId !== client.id) throw new OAuthError('invalid_grant', { detail: `code belongs to another client (${record.clientId})` })
    // RFC 6749 §4.1.3: redirect_uri must be identical when it was in the authorization request.
    const redirectUri = params.get('redirect_uri')
    if (record.redirectUriSent ? redirectUri !== record.redirectUri : redirectUri !== undefined && redirectUri !== record.redirectUri) {
      throw new OAuthError('invalid_grant', { detail: 'redirect_uri differs from the authorization request' })
    }
    verifyPkce(record.codeChallenge, record.codeChallengeMethod, params.get('code_verifier'))
    // RFC 9449 §10: a code bound by dpop_jkt is redeemed only with a proof by that key.
    if (record.dpopJkt !== undefined && ctx.dpop?.jkt !== record.dpopJkt) throw new OAuthError('invalid_grant', { detail: 'DPoP proof key differs from dpop_jkt of the authorization request' })
    if (await isCutOff(ctx.storage, record.clientId, record.sub, record.issuedAt)) throw new OAuthError('invalid_grant', { detail: 'tokens of this client or consent revoked' })

    const scope = Scope.parse(record.scope)
    // RFC 8707 §2.2: the token request may narrow the resources of the authorization, never add one; none named means all of them.
    const authorized = record.resource ?? []
    const target = ctx.resources.target(narrowResources(authorized, requested), scope)
    // The refresh token keeps every authorized resource, so that a refresh may ask for another of them (RFC 8707 §2.2).
    const refreshToken = ctx.refreshTokens.shouldIssue(scope)
      ? await ctx.refreshTokens.issue({ sub: record.sub, scope: record.scope, grantId: record.grantId, authTime: record.authTime, resource: [...authorized], ...(record.sid !== undefined && { sid: record.sid }) })
      : undefined
    const openid = scope.has('openid')
    return ctx.tokens.issue({
      sub: record.sub,
      ...target,
      grantId: record.grantId,
      claims: { auth_time: record.authTime },
      ...(refreshToken !== undefined && { refreshToken }),
      ...(openid && { idToken: { authTime: record.authTime, ...(record.nonce !== undefined && { nonce: record.nonce }), ...(record.sid !== undefined && { sid: record.sid }) } }),
    })
  },
}
