import type { Client } from '../clients/metadata.js'
import type { ServerContext } from '../context.js'
import { hashToken } from '../crypto/random.js'
import type { GrantkitResponse } from '../http/types.js'
import { recordSessionClient } from '../interaction/session.js'
import type { AuthorizationRequest, SessionRecord } from '../storage/types.js'
import { claimsForScope, issueIdToken } from '../tokens/id-token.js'
import { issueTokenSet } from '../tokens/issue.js'
import { accessTokenTarget } from '../tokens/resource-indicators.js'
import { Scope } from '../tokens/scope.js'
import { OAuthError } from '../errors.js'
import { RedirectError } from '../endpoints/failure.js'
import { redirectToClient } from './target.js'

/** Who was authenticated for an authorization, and what they granted. */
export interface AuthorizationOutcome {
  sub: string
  authTime: number
  /** The scope granted: the requested scope, or less if the person narrowed it. */
  scope: string
  /** The browser session it was authorized through: its sid goes in the ID token, and the client is recorded on it. */
  session?: SessionRecord
}

/**
 * Answers an authorization request that has its login and consent: a code in
 * the query (RFC 6749 §4.1.2) or tokens in the fragment (§4.2.2, OIDC Core §3.2.2.5).
 */
export async function completeAuthorization(
  ctx: ServerContext,
  client: Client,
  request: AuthorizationRequest,
  outcome: AuthorizationOutcome,
  headers: Record<string, string | string[]> = {},
  requestId?: string,
): Promise<GrantkitResponse> {
  const now = Math.floor(ctx.now())
  const grantId = ctx.randomId()
  const target = { redirectUri: request.redirectUri, responseMode: request.responseMode, ...(request.state !== undefined && { state: request.state }) }
  // OIDC Back-Channel Logout §2.1: the ID token names the session, and the session remembers the client to tell when it ends.
  const session = outcome.session !== undefined && outcome.session.sub === outcome.sub ? outcome.session : undefined
  const sid = session?.sid
  if (session !== undefined) await recordSessionClient(ctx.storage.sessions, session, client.id)

  if (request.responseType === 'code') {
    const code = ctx.randomToken()
    await ctx.storage.authorizationCodes.save({
      codeHash: hashToken(code),
      clientId: client.id,
      redirectUri: request.redirectUri,
      redirectUriSent: request.redirectUriSent,
      scope: outcome.scope,
      sub: outcome.sub,
      grantId,
      authTime: outcome.authTime,
      ...(request.codeChallenge !== undefined && { codeChallenge: request.codeChallenge, codeChallengeMethod: request.codeChallengeMethod! }),
      ...(request.nonce !== undefined && { nonce: request.nonce }),
      ...(sid !== undefined && { sid }),
      // RFC 8707 §2.2: the token request may narrow these, never add to them.
      ...(request.resource !== undefined && { resource: request.resource }),
      ...(request.dpopJkt !== undefined && { dpopJkt: request.dpopJkt }),
      issuedAt: now,
      expiresAt: now + ctx.ttl.authorizationCode,
    })
    return redirectToClient(ctx, target, { code }, headers)
  }

  const types = request.responseType.split(' ')
  const params: Record<string, string | undefined> = {}
  let accessToken: string | undefined
  if (types.includes('token')) {
    // RFC 6749 §4.2.2: the implicit grant never issues a refresh token.
    let tokenTarget
    try {
      // RFC 8707 §2.1: an access token from the authorization endpoint is for the resources the request named.
      tokenTarget = accessTokenTarget(ctx.resourceServers, request.resource ?? [], Scope.parse(outcome.scope), ctx.accessTokenFormat)
    } catch (err) {
      // The person narrowed the scope to one the resources cannot carry: the client hears it at its redirect_uri.
      if (err instanceof OAuthError) throw new RedirectError(target, err, client.id)
      throw err
    }
    const body = await issueTokenSet(ctx, client, 'implicit', { sub: outcome.sub, ...tokenTarget, grantId }, requestId)
    accessToken = body.access_token
    params.access_token = body.access_token
    params.token_type = body.token_type
    params.expires_in = String(body.expires_in)
    params.scope = body.scope
  }
  if (types.includes('id_token')) {
    let claims: Record<string, unknown> | undefined
    // OIDC Core §5.4: with no access token to call userinfo with, the claims go in the ID token.
    if (accessToken === undefined && ctx.users !== undefined) {
      const all = await ctx.users.claims(outcome.sub)
      if (all !== undefined) {
        const { sub: _sub, ...rest } = claimsForScope(all, outcome.scope, outcome.sub)
        claims = rest
      }
    }
    params.id_token = issueIdToken(ctx, {
      client,
      sub: outcome.sub,
      authTime: outcome.authTime,
      ...(request.nonce !== undefined && { nonce: request.nonce }),
      ...(sid !== undefined && { sid }),
      ...(accessToken !== undefined && { accessToken }),
      ...(claims !== undefined && { claims }),
    })
  }
  return redirectToClient(ctx, target, params, headers)
}
