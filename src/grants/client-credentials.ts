import type { GrantHandler } from './types.js'

/**
 * RFC 6749 §4.4: a confidential client asks for a token for itself.
 * No refresh token is issued (§4.4.3 says it SHOULD NOT be).
 */
export const clientCredentials: GrantHandler = {
  grantType: 'client_credentials',
  // RFC 8707 §2: resource may be repeated.
  parameters: ['resource'],
  repeatable: ['resource'],
  // RFC 6749 §4.4: MUST only be used by confidential clients.
  clientAuth: 'required',
  async handle(ctx) {
    const resources = ctx.resources.requested()
    const scope = ctx.scopes.resolve(ctx.params.get('scope'))
    // RFC 9068 §2.2: with no resource owner, sub is the client's own identifier.
    return ctx.tokens.issue({ sub: ctx.client.id, ...ctx.resources.target(resources, scope) })
  },
}
