/**
 * The one server configuration the conformance suite runs through every
 * adapter: a client per grant, a tiny user source (no scrypt), and a trusted
 * JWT issuer for the jwt-bearer grant.
 */
import { createHash, randomBytes } from 'node:crypto'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose'
import { DEVICE_CODE_GRANT, JWT_BEARER_GRANT, type AuthorizationServerOptions, type ClientMetadata } from '../../src/index.js'
import { alice, plainUsers } from '../helpers.js'

export { DEVICE_CODE_GRANT, JWT_BEARER_GRANT }

/** alice / wonderland, subject `alice-sub`. */
export const users = plainUsers(alice({ name: 'Alice Liddell', email: 'alice@example.com', email_verified: true }))

export const WEB_CALLBACK = 'https://app.example/cb'
export const SPA_CALLBACK = 'https://spa.example/cb'
export const IDP = 'https://idp.example'

export const clients: ClientMetadata[] = [
  { client_id: 'svc', client_secret: 'svc-secret', grant_types: ['client_credentials'], scope: 'api:read api:write' },
  { client_id: 'post', client_secret: 'post-secret', token_endpoint_auth_method: 'client_secret_post', grant_types: ['client_credentials'], scope: 'api:read' },
  {
    client_id: 'web',
    client_secret: 'web-secret',
    client_name: 'Web App',
    grant_types: ['authorization_code', 'refresh_token'],
    redirect_uris: [WEB_CALLBACK],
    scope: 'openid profile email offline_access api:read',
  },
  {
    client_id: 'spa',
    token_endpoint_auth_method: 'none',
    grant_types: ['implicit'],
    response_types: ['id_token token'],
    redirect_uris: [SPA_CALLBACK],
    scope: 'openid profile',
  },
  { client_id: 'legacy', client_secret: 'legacy-secret', grant_types: ['password', 'refresh_token'], scope: 'api:read' },
  { client_id: 'tv', client_name: 'Living Room TV', token_endpoint_auth_method: 'none', grant_types: [DEVICE_CODE_GRANT, 'refresh_token'], scope: 'openid offline_access api:read' },
  { client_id: 'robot', client_secret: 'robot-secret', grant_types: [JWT_BEARER_GRANT], scope: 'api:read' },
  { client_id: 'rs', client_secret: 'rs-secret', grant_types: ['client_credentials'], introspection_allowed: true },
]

/** The key of the trusted IdP whose assertions the jwt-bearer grant accepts. */
export interface IdpKey {
  privateKey: CryptoKey
  publicJwk: JWK
}

export async function makeIdpKey(): Promise<IdpKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  return { privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid: 'idp-1', alg: 'ES256', use: 'sig' } }
}

/** Options of the server under test, for the issuer the adapter was started at. */
export function serverOptions(idp: IdpKey): (issuer: string) => AuthorizationServerOptions {
  return (issuer) => ({
    issuer,
    clients,
    users,
    trust: { jwtIssuers: [{ issuer: IDP, jwks: { keys: [idp.publicJwk] } }] },
  })
}

/** An RFC 7523 assertion from the trusted IdP about alice, for `audience`. */
export function idpAssertion(idp: IdpKey, audience: string, jti = randomBytes(12).toString('hex')): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: 'idp-1' })
    .setIssuer(IDP)
    .setSubject('alice-sub')
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime('2m')
    .setJti(jti)
    .sign(idp.privateKey)
}

/** An RFC 7636 verifier and its S256 challenge. */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}
