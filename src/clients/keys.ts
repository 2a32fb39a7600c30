/**
 * The one place a client's public keys come from, for everything that
 * verifies what a client signs: private_key_jwt client assertions, JWT
 * bearer assertions a client signs itself, and signed request objects. Inline
 * `jwks` were imported at registration; a `jwks_uri` is fetched through the
 * server's guarded cache of remote documents when a key is first needed.
 */
import type { ServerContext } from '../context.js'
import { isNoMatchingKey, type CryptoKey, type FlattenedJWSInput, type JWSHeaderParameters, type LocalKeySet } from '../crypto/jose.js'
import { publicKeySet, type Client } from './metadata.js'
import type { RemoteDocumentKind, RemoteDocuments } from './remote-documents.js'

/**
 * A client's public keys as jose's `jwtVerify` takes them: given a JWS
 * header (`kid`, `alg`) and the token, the key that verifies it; rejects when
 * the client has no such key (or its key set cannot be fetched).
 *
 * @example
 * const { payload } = await jwtVerify(token, keys, { algorithms: ['ES256'] })
 */
export type ClientKeySet = (protectedHeader: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>

/** Largest JWK Set read from a `jwks_uri`, in bytes: room for a rotation's worth of RSA keys. */
const MAX_JWKS_BYTES = 65_536

/** A JWK Set at a `jwks_uri` (RFC 7517 §5), checked and imported once per fetch. */
export const JWKS_DOCUMENT: RemoteDocumentKind<LocalKeySet> = {
  name: 'jwks',
  maxResponseBytes: MAX_JWKS_BYTES,
  parse: (body, url) => publicKeySet(body, url),
}

/**
 * The public keys that verify what `client` signs: its inline `jwks`, or a
 * key set that reads its `jwks_uri` through the cache when asked for a key;
 * undefined when it registered neither. Synchronous and cheap: nothing is
 * fetched until a signature is checked.
 *
 * When the fetched set has no key for the token's `kid`, the URL is fetched
 * once more (the client may have rotated its keys, OIDC Core §10.1.1), at
 * most once per `refetchInterval` per URL, so tokens naming made-up kids
 * cannot make the server hammer the client's host.
 *
 * @example
 * const keys = clientVerificationKeys(ctx, client)
 * if (keys !== undefined) await verifyJwt(assertion, keys, { algorithms: [...ASYMMETRIC_ALGORITHMS], now, clockTolerance })
 */
export function clientVerificationKeys(ctx: Pick<ServerContext, 'remoteDocuments'>, client: Client): ClientKeySet | undefined {
  if (client.keys !== undefined) return client.keys
  if (client.jwksUri === undefined) return undefined
  return remoteKeySet(ctx.remoteDocuments, client.jwksUri)
}

function remoteKeySet(documents: RemoteDocuments, url: string): ClientKeySet {
  return async (header, token) => {
    const cached = documents.get(JWKS_DOCUMENT, url)
    const keys = cached instanceof Promise ? await cached : cached
    try {
      return await keys(header, token)
    } catch (cause) {
      if (!isNoMatchingKey(cause)) throw cause
      const again = documents.refresh(JWKS_DOCUMENT, url)
      if (again === undefined) throw cause
      return (await again)(header, token)
    }
  }
}
