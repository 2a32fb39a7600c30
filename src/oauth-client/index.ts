/**
 * grantkit/client: the OAuth 2.0 / OpenID Connect client side. A service calls
 * third-party APIs on its users' behalf; tokens stay on the server, encrypted
 * at rest, and are refreshed once for all callers. This file is the whole
 * public API of `grantkit/client`; it shares no code with the server core.
 */
export {
  createOAuthClient,
  type OAuthClient,
  type OAuthClientOptions,
  type PendingAuthorization,
  type StartAuthorizationOptions,
  type AuthorizationResult,
  type DeviceAuthorization,
} from './client.js'
export {
  defineProvider,
  type ProviderProfile,
  type ResolvedProfile,
  type ProviderQuirks,
  type ClientAuthMethod,
  type JwtBearerProfile,
  type SamlBearerProfile,
} from './provider.js'
export { google, salesforce, microsoftEntra, genericOidc, grantkit, type PresetOptions } from './presets.js'
export { ProviderError, ProtocolError, TokenUnavailableError, type ProtocolErrorCode, type TokenUnavailableReason } from './errors.js'
export type { TokenSet, ProviderMetadata, GrantName } from './types.js'
export { buildJwtAssertion, type JwtAssertionInput } from './assertions.js'
export { buildSamlAssertion, type SamlAssertionInput } from './saml-assertion.js'
export { parseWwwAuthenticate, isBearerInvalidToken, type Challenge } from './http.js'
export { isDpopInvalidToken, type DpopClientOptions } from './dpop.js'

export type { TokenStore, SealedTokens } from './storage/types.js'
export { TokenCipher, DecryptionError, generateEncryptionKey, type EncryptionOptions } from './storage/cipher.js'
export { createMemoryTokenStore } from './storage/memory.js'
export { createPostgresTokenStore, migratePostgresTokenStore, type PgQueryable, type PostgresTokenStoreOptions } from './storage/postgres.js'
export { createRedisTokenStore, type RedisLike, type RedisTokenStoreOptions } from './storage/redis.js'
