import type { ServerContext } from '../context.js'
import { StorageUnavailableError } from '../errors.js'
import { validateAccessToken } from '../tokens/validate.js'
import type { TokenVerifier } from './types.js'

/**
 * Verifies tokens of an authorization server in the same process: JWT and
 * opaque, expiry, and revocation of the token or its grant, all through
 * `validateAccessToken`. Nothing goes over the network.
 */
export function createLocalVerifier(ctx: ServerContext): TokenVerifier {
  return async (token) => {
    try {
      const active = await validateAccessToken(ctx, token)
      if (active === null) return { status: 'invalid', detail: 'not a live access token of this server' }
      return {
        status: 'active',
        token: {
          sub: active.sub,
          clientId: active.clientId,
          scope: active.scope.split(' ').filter((s) => s !== ''),
          exp: active.expiresAt,
          iat: active.issuedAt,
          aud: active.audience,
          claims: active.claims,
          ...(active.jkt !== undefined && { jkt: active.jkt }),
        },
      }
    } catch (cause) {
      // A storage outage means revocation cannot be checked: fail closed, retry later.
      if (cause instanceof StorageUnavailableError) return { status: 'unavailable', cause }
      throw cause
    }
  }
}
