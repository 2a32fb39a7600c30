import { hashToken } from '../crypto/random.js'
import { OAuthError } from '../errors.js'
import { verifyPkce } from '../tokens/pkce.js'
import { createRefreshToken, shouldIssueRefreshToken } from '../tokens/refresh-token.js'
import { issueTokens } from '../tokens/issue.js'
import type { GrantHandler } from './types.js'

/**
 * RFC 6749 §4.1.3: a client exchanges the code it received at its redirect_uri.
 * The code is consumed atomically; a second redemption revokes everything the
 * first one issued (§4.1.2, RFC 9700 §4.5).
 */
export const authorizationCode: GrantHandler = {
  grantType: 'authorization_code',
  parameters: ['code', 'redirect_uri', 'code_verifier'],
  clientAuth: 'optional',
  async handle(ctx) {
    const { server, client, params } = ctx
    const code = params.get('code')
    if (code === undefined) throw new OAuthError('invalid_request', { description: 'code is required.' })
    if (code.length > 512) throw new OAuthError('invalid_grant', { detail: 'code too long to be ours' })
    const consumed = await server.storage.authorizationCodes.consume(hashToken(code))
    if (consumed.outcome === 'reused') {
      // RFC 6749 §4.1.2: if a code is used more than once, revoke all tokens previously issued from it.
      await server.storage.grants.revoke(consumed.grantId, Math.floor(server.now()) + server.ttl.refreshTokenAbsolute + server.ttl.accessToken)
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

    const now = Math.floor(server.now())
    let refreshToken: string | undefined
    if (shouldIssueRefreshToken(client, record.scope)) {
      const created = createRefreshToken(server, {
        clientId: client.id,
        sub: record.sub,
        scope: record.scope,
        grantId: record.grantId,
        absoluteExpiresAt: now + server.ttl.refreshTokenAbsolute,
        authTime: record.authTime,
      })
      await server.storage.refreshTokens.save(created.record)
      refreshToken = created.token
    }
    const openid = record.scope.split(' ').includes('openid')
    return issueTokens(ctx, {
      sub: record.sub,
      scope: record.scope,
      grantId: record.grantId,
      claims: { auth_time: record.authTime },
      ...(refreshToken !== undefined && { refreshToken }),
      ...(openid && { idToken: { authTime: record.authTime, ...(record.nonce !== undefined && { nonce: record.nonce }) } }),
    })
  },
}
