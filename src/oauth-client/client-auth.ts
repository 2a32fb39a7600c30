import { basicCredentials } from './http.js'
import { importSigningKey, signJwt, type SigningKey } from './jwt.js'
import type { ResolvedProfile } from './provider.js'

/** RFC 7523 §2.2 */
const JWT_BEARER_CLIENT_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
/** Seconds a client assertion lives: one request's worth. */
const CLIENT_ASSERTION_LIFETIME = 60

/** Per-profile imported keys, so a JWK is parsed once. */
const keyCache = new WeakMap<object, Promise<SigningKey>>()

/** Imports a private JWK once per JWK object. */
export function cachedKey(jwk: object): Promise<SigningKey> {
  let found = keyCache.get(jwk)
  if (found === undefined) {
    found = importSigningKey(jwk as never)
    keyCache.set(jwk, found)
  }
  return found
}

/**
 * Adds the client's credentials to a request to `endpoint` (RFC 6749 §2.3,
 * RFC 7523 §2.2): one method per request, the one the profile says.
 * For private_key_jwt, iss = sub = client_id and aud = the endpoint's URL
 * (the token endpoint for token requests).
 */
export async function applyClientAuth(
  profile: ResolvedProfile,
  endpoint: string,
  body: URLSearchParams,
  headers: Record<string, string>,
  now: number,
  jti: string,
): Promise<void> {
  switch (profile.authMethod) {
    case 'client_secret_basic':
      headers.authorization = basicCredentials(profile.clientId, profile.clientSecret!)
      return
    case 'client_secret_post':
      body.set('client_id', profile.clientId)
      body.set('client_secret', profile.clientSecret!)
      return
    case 'private_key_jwt': {
      const key = await cachedKey(profile.privateJwk!)
      const iat = Math.floor(now)
      const assertion = await signJwt(key, { iss: profile.clientId, sub: profile.clientId, aud: endpoint, iat, exp: iat + CLIENT_ASSERTION_LIFETIME, jti })
      body.set('client_id', profile.clientId)
      body.set('client_assertion_type', JWT_BEARER_CLIENT_ASSERTION)
      body.set('client_assertion', assertion)
      return
    }
    case 'none':
      // RFC 6749 §2.1: a public client names itself.
      body.set('client_id', profile.clientId)
      return
  }
}
