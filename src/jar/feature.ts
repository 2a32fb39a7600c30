import type { ServerContext } from '../context.js'
import { ASYMMETRIC_ALGORITHMS } from '../crypto/jose.js'
import type { Feature } from '../features/types.js'

/**
 * Signed request objects (RFC 9101): the `request` parameter at the
 * authorization endpoint and inside pushed requests. No endpoint of its own;
 * the authorization and PAR endpoints verify request objects while this
 * feature is on, and answer `request_not_supported` when it is left out.
 * Fetching request objects from a client's URL (`request_uri` other than a
 * PAR one) is not supported.
 */
export const requestObjectFeature: Feature = {
  name: 'request-objects',
  clientMetadata: ['request_object_signing_alg', 'require_signed_request_object'],
  options: ['requireSignedRequestObject'],
  discovery: (c) => {
    const ctx = c as ServerContext
    return {
      // OIDC Discovery §3 and RFC 8414 §2.
      request_parameter_supported: true,
      // OIDC Discovery §3: true means fetching from a client's URL; only PAR's request_uri is accepted, so false.
      request_uri_parameter_supported: false,
      // SECURITY: asymmetric only; never none, never HMAC (RFC 9101 §10.1 leaves the choice to the server).
      request_object_signing_alg_values_supported: [...ASYMMETRIC_ALGORITHMS],
      // RFC 9101 §10.5.
      require_signed_request_object: ctx.requireSignedRequestObject,
    }
  },
}
