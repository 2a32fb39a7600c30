import type { ServerContext } from '../context.js'
import type { Feature } from '../features/types.js'

/**
 * DPoP (RFC 9449) as a unit: what discovery says of it (RFC 9449 §5.1), the
 * client metadata (§5.2) and the options it owns. The proofs themselves are
 * checked by the token and userinfo endpoints; leave this feature out of
 * `features` and they ignore the `DPoP` header (tokens are then Bearer only).
 */
export const dpopFeature: Feature = {
  name: 'dpop',
  clientMetadata: ['dpop_bound_access_tokens'],
  options: ['dpop', 'dpop.required', 'dpop.requireNonce', 'dpop.nonceLifetime', 'dpop.proofMaxAge', 'dpop.proofClockSkew', 'dpop.algorithms'],
  discovery: (ctx) => {
    const policy = (ctx as ServerContext).dpop
    return policy === undefined ? {} : { dpop_signing_alg_values_supported: [...policy.algorithms] }
  },
}
