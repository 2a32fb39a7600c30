import type { GrantContext, TokenResponseBody } from '../grants/types.js'
import { issueAccessToken, type AccessTokenGrant } from './access-token.js'

/** What a grant decided to issue. */
export interface TokenIssue {
  sub: string
  scope: string
  grantId?: string
  audience?: string | string[]
  claims?: Record<string, unknown>
}

/**
 * Issues the tokens a grant decided on and builds the RFC 6749 §5.1 response.
 * Every grant ends here, so the response shape and the `token.issued` event
 * are the same whatever the grant.
 */
export async function issueTokens(ctx: GrantContext, issue: TokenIssue): Promise<TokenResponseBody> {
  const grant: AccessTokenGrant = { clientId: ctx.client.id, sub: issue.sub, scope: issue.scope }
  if (issue.grantId !== undefined) grant.grantId = issue.grantId
  if (issue.audience !== undefined) grant.audience = issue.audience
  if (issue.claims !== undefined) grant.claims = issue.claims
  const access = await issueAccessToken(ctx.server, grant)
  const body: TokenResponseBody = {
    access_token: access.token,
    token_type: 'Bearer',
    expires_in: access.expiresIn,
  }
  // RFC 6749 §5.1: scope is required when it differs from the request; always sending it is simplest for clients.
  if (issue.scope !== '') body.scope = issue.scope
  ctx.server.events.emit({
    type: 'token.issued',
    grantType: ctx.params.get('grant_type') ?? '',
    clientId: ctx.client.id,
    sub: issue.sub,
    scope: issue.scope,
    tokenId: access.id,
    format: ctx.server.accessTokenFormat,
    refreshToken: false,
  })
  return body
}
