import type { ServerContext } from '../context.js'
import type { VerificationKey } from '../crypto/jose.js'
import type { Client } from './metadata.js'

/**
 * The public keys that verify what a client signs: its private_key_jwt
 * client assertions, its JWT bearer assertions and its request objects
 * (RFC 9101). The one place that answers "which keys are this client's", so
 * that another source of keys (a `jwks_uri`) is added here once and every use
 * follows. Today: the registered `jwks`, imported once when the client was
 * prepared.
 *
 * @returns the key set, or undefined when the client registered none
 * @example
 * const keys = clientVerificationKeys(ctx, client)
 * if (keys === undefined) throw new OAuthError('invalid_request_object', { detail: 'client has no keys' })
 */
export function clientVerificationKeys(ctx: Pick<ServerContext, 'allowPrivateNetworkFetches'>, client: Client): VerificationKey | undefined {
  void ctx
  return client.keys
}
