import type { Client } from '../clients/metadata.js'
import type { ServerContext } from '../context.js'
import type { GrantContext, PreparedTokens, TokenResponseBody } from '../grants/types.js'
import { prepareAccessToken, type AccessTokenGrant } from './access-token.js'
import { issueIdToken } from './id-token.js'
import type { TokenIssue } from './types.js'
export type { TokenIssue } from './types.js'


/**
 * Issues an access token (and an ID token when asked) and builds the RFC 6749
 * §5.1 body, for any grant and for the implicit flow alike, so the response
 * shape and the `token.issued` event never differ between them.
 */
export async function issueTokenSet(server: ServerContext, client: Client, grantType: string, issue: TokenIssue, requestId?: string): Promise<TokenResponseBody> {
  const prepared = prepareTokenSet(server, client, grantType, issue, requestId)
  if (prepared.accessTokenRecord !== undefined) await server.storage.accessTokens.save(prepared.accessTokenRecord)
  return prepared.respond()
}

/**
 * Everything `issueTokenSet` does except storing: the tokens are made and
 * signed, the body built, and the opaque access token's record handed back for
 * the caller to store in its own atomic step (a refresh rotation, so that a
 * failure leaves nothing half done). Nothing that can fail is left for
 * `respond()`, which only reports `token.issued` and returns the body.
 */
export function prepareTokenSet(server: ServerContext, client: Client, grantType: string, issue: TokenIssue, requestId?: string): PreparedTokens {
  const scope = String(issue.scope)
  const grant: AccessTokenGrant = { clientId: client.id, sub: issue.sub, scope }
  if (issue.grantId !== undefined) grant.grantId = issue.grantId
  // RFC 9068 §2.2: aud is required; an empty list means none was asked for, so the configured one applies.
  if (issue.audience !== undefined && !(Array.isArray(issue.audience) && issue.audience.length === 0)) grant.audience = issue.audience
  if (issue.claims !== undefined) grant.claims = issue.claims
  if (issue.accessTokenFormat !== undefined) grant.format = issue.accessTokenFormat
  if (issue.accessTokenTtl !== undefined) grant.ttl = issue.accessTokenTtl
  if (issue.jkt !== undefined) grant.jkt = issue.jkt
  const { issued: access, record } = prepareAccessToken(server, grant)
  const body: TokenResponseBody = {
    access_token: access.token,
    // RFC 9449 §5: a token bound to a DPoP key is of type DPoP.
    token_type: issue.jkt === undefined ? 'Bearer' : 'DPoP',
    expires_in: access.expiresIn,
  }
  // RFC 6749 §5.1: scope is required when it differs from the request; always sending it is simplest for clients.
  if (scope !== '') body.scope = scope
  if (issue.refreshToken !== undefined) body.refresh_token = issue.refreshToken
  if (issue.idToken !== undefined) {
    body.id_token = issueIdToken(server, {
      client,
      sub: issue.sub,
      authTime: issue.idToken.authTime,
      accessToken: access.token,
      ...(issue.idToken.nonce !== undefined && { nonce: issue.idToken.nonce }),
      ...(issue.idToken.sid !== undefined && { sid: issue.idToken.sid }),
    })
  }
  const respond = (): TokenResponseBody => {
    server.events.emit({
      type: 'token.issued',
      grantType,
      clientId: client.id,
      sub: issue.sub,
      scope,
      tokenId: access.id,
      format: access.format,
      refreshToken: issue.refreshToken !== undefined,
    }, requestId)
    return body
  }
  return record === undefined ? { respond } : { accessTokenRecord: record, respond }
}

/**
 * Issues the tokens a grant decided on and builds the RFC 6749 §5.1 response.
 *
 * @example
 * return issueTokens(ctx, { sub: ctx.client.id, scope })
 */
export function issueTokens(ctx: GrantContext, issue: TokenIssue): Promise<TokenResponseBody> {
  return ctx.tokens.issue(issue)
}
