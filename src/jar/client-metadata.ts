import type { ClientMetadata } from '../clients/metadata.js'
import { ASYMMETRIC_ALGORITHMS, HMAC_ALGORITHMS } from '../crypto/jose.js'

/**
 * Checks the client metadata of pushed and signed authorization requests:
 * `require_pushed_authorization_requests` (RFC 9126 §6),
 * `require_signed_request_object` (RFC 9101 §10.5) and
 * `request_object_signing_alg` (RFC 9101 §10.5, OIDC Registration §2). A
 * mistake is a TypeError naming the field.
 *
 * @example
 * checkRequestMetadata({ client_id: 'web', require_signed_request_object: true, jwks }, 'clients[0]')
 */
export function checkRequestMetadata(metadata: ClientMetadata, path: string): void {
  for (const name of ['require_pushed_authorization_requests', 'require_signed_request_object'] as const) {
    const v = metadata[name]
    if (v !== undefined && typeof v !== 'boolean') throw new TypeError(`${path}.${name}: must be a boolean`)
  }
  const alg = metadata.request_object_signing_alg
  if (alg !== undefined && !(ASYMMETRIC_ALGORITHMS as readonly unknown[]).includes(alg)) {
    // SECURITY: an unsigned request object proves nothing; an HMAC one would need a secret the server also holds.
    const why = alg === 'none' ? '"none" is refused: request objects must be signed' : (HMAC_ALGORITHMS as readonly unknown[]).includes(alg) ? `"${String(alg)}" is symmetric, not supported` : `"${String(alg)}" is not supported`
    throw new TypeError(`${path}.request_object_signing_alg: ${why}; use one of ${ASYMMETRIC_ALGORITHMS.join(', ')}`)
  }
  // A client that must sign, or that named an algorithm, needs keys to verify with.
  if ((metadata.require_signed_request_object === true || alg !== undefined) && metadata.jwks === undefined && metadata.jwks_uri === undefined) {
    throw new TypeError(`${path}.jwks: is required to verify the client's request objects (require_signed_request_object or request_object_signing_alg)`)
  }
}
