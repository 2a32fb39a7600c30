// OAuth 2.0 Token Exchange (RFC 8693) as a grant of your own, registered the
// way grantkit registers its built-in grants: `grants: [...defaultGrants, tokenExchange]`.
//
// What it does: a confidential client (say an API gateway) holding a person's
// access token from this server exchanges it for a new access token for one
// downstream service, with at most the scope the original carried. This is
// impersonation (§1.1): no actor_token, so the new token's sub is the person's.
import { OAuthError, Scope } from '../../dist/index.js'

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token'

/** RFC 8693 §2.2.2 names invalid_request for a bad request or subject token. */
const invalidRequest = (description, detail) => new OAuthError('invalid_request', { description, detail })

/**
 * Creates the token exchange grant.
 *
 * @param {{ targets: string[] }} options `targets`: the resource URIs and
 *   audience names tokens may be exchanged for. Anything else is invalid_target.
 * @example
 * const server = createAuthorizationServer({ grants: [...defaultGrants, createTokenExchange({ targets: ['https://orders.example.com'] })], … })
 */
export function createTokenExchange({ targets }) {
  const allowed = new Set(targets)
  return {
    grantType: TOKEN_EXCHANGE,
    // The token endpoint drops every other parameter and refuses repeated ones, except these two (RFC 8693 §2.1).
    parameters: ['subject_token', 'subject_token_type', 'requested_token_type', 'audience', 'resource', 'actor_token', 'actor_token_type'],
    repeatable: ['audience', 'resource'],
    // Only confidential clients: exchanging a token is a privilege of a known party.
    clientAuth: 'required',

    async handle(ctx) {
      const p = ctx.params

      // RFC 8693 §2.1: subject_token and subject_token_type are REQUIRED.
      const subjectToken = p.get('subject_token')
      const subjectTokenType = p.get('subject_token_type')
      if (subjectToken === undefined || subjectTokenType === undefined) {
        throw invalidRequest('subject_token and subject_token_type are required.')
      }
      // RFC 8693 §3: only tokens of a type we can validate: our own access tokens.
      if (subjectTokenType !== ACCESS_TOKEN_TYPE) {
        throw invalidRequest(`subject_token_type must be ${ACCESS_TOKEN_TYPE}.`, `subject_token_type ${subjectTokenType.slice(0, 100)}`)
      }
      // RFC 8693 §2.1: requested_token_type is optional; access tokens are all this grant issues.
      const requested = p.get('requested_token_type')
      if (requested !== undefined && requested !== ACCESS_TOKEN_TYPE) {
        throw invalidRequest(`requested_token_type must be ${ACCESS_TOKEN_TYPE}.`, `requested_token_type ${requested.slice(0, 100)}`)
      }
      // RFC 8693 §2.1: actor_token_type is REQUIRED when actor_token is present. Delegation is not offered here at all.
      if (p.has('actor_token') || p.has('actor_token_type')) {
        throw invalidRequest('actor_token is not supported: this server offers impersonation only.')
      }

      // RFC 8693 §2.2.2: a subject token that is invalid for any reason is invalid_request (a MUST), not invalid_grant.
      const subject = await ctx.tokens.validate(subjectToken)
      if (subject === null) throw invalidRequest('The subject_token is invalid, expired or revoked.', 'subject_token not live')

      // RFC 8693 §2.2.2: unwilling to issue for a resource or audience: invalid_target.
      const audience = []
      for (const name of ['resource', 'audience']) {
        for (const target of ctx.values(name)) {
          if (!allowed.has(target)) {
            throw new OAuthError('invalid_target', {
              description: 'The server will not issue a token for the requested resource or audience.',
              detail: `${name} ${target.slice(0, 200)}`,
            })
          }
          if (!audience.includes(target)) audience.push(target)
        }
      }

      // The new token never carries more than the subject token did, nor more than this client may hold.
      const held = Scope.parse(subject.scope)
      const requestedScope = p.get('scope')
      const scope = requestedScope === undefined ? held.filter((s) => ctx.client.scopes.has(s)) : Scope.parse(requestedScope)
      for (const s of scope) {
        if (!held.has(s) || !ctx.client.scopes.has(s)) {
          throw new OAuthError('invalid_scope', { detail: `scope "${s}" is not in the subject token or not allowed for ${ctx.client.id}` })
        }
      }

      const body = await ctx.tokens.issue({
        sub: subject.sub,
        scope,
        // Revoking the person's grant also kills the exchanged token.
        ...(subject.grantId !== undefined && { grantId: subject.grantId }),
        ...(audience.length > 0 && { audience: audience.length === 1 ? audience[0] : audience }),
      })
      // RFC 8693 §2.2.1: issued_token_type is REQUIRED; token_type is Bearer for an access token.
      return { ...body, issued_token_type: ACCESS_TOKEN_TYPE }
    },
  }
}
