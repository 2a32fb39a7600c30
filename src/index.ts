/**
 * grantkit: an embeddable OAuth 2.0 and OpenID Connect authorization server.
 * This file is the whole public API of the core; everything else is internal.
 */
export { createAuthorizationServer, type AuthorizationServer } from './server.js'
export type { AuthorizationServerOptions } from './config/options.js'
export type { PagesOptions } from './pages/settings.js'
export type { PageThemeOptions } from './pages/theme.js'
export type { ColorName } from './pages/style.js'
export { MESSAGE_KEYS, type Catalogue, type MessageKey } from './pages/i18n/keys.js'
export type { TelemetryOptions } from './observability/telemetry.js'
export { defaults } from './config/defaults.js'
export type { GrantkitRequest, GrantkitResponse } from './http/types.js'
export { OAuthError, StorageUnavailableError, StorageNotMigratedError, type OAuthErrorCode, type OAuthErrorOptions } from './errors.js'
export { RedirectError } from './endpoints/failure.js'
export type { RedirectTarget } from './authorize/target.js'
export { AUTHORIZATION_LIMITS } from './authorize/parse.js'
export {
  defaultFeatures,
  authorizationFeature,
  pushedAuthorizationFeature,
  requestObjectFeature,
  tokenFeature,
  userinfoFeature,
  jwksFeature,
  revocationFeature,
  introspectionFeature,
  deviceFlowFeature,
  interactionPagesFeature,
  logoutFeature,
  registrationFeature,
  clientIdMetadataFeature,
  discoveryFeature,
  type Feature,
  type Endpoint,
  type ErrorStyle,
  type EndpointContext,
} from './features/index.js'
export type { GrantkitEvent, GrantkitEventData, GrantkitEventType, GrantkitEventOf, EventEnvelope } from './events/events.js'
export type { Logger, LogLevel } from './observability/logger.js'
export { checkHealth, type HealthReport, type HealthCheck, type HealthOptions } from './observability/health.js'
export type { ErrorSummary } from './observability/error-summary.js'

export { StaticClientRegistry, type ClientRegistry } from './clients/registry.js'
export { prepareClient, hashClientSecret, type Client, type ClientMetadata, type ClientAuthMethod } from './clients/metadata.js'
export type { ClientKeySet } from './clients/keys.js'
export { clientIdUrlProblem, type ClientIdMetadataPolicy } from './clients/metadata-document.js'
export {
  ClientManagementError,
  SECRET_ROTATION_OVERLAP,
  type ClientManager,
  type ClientManagementErrorCode,
  type ClientRegistration,
  type ClientWithSecret,
  type ManagedClient,
  type RotateSecretOptions,
  type RegistrationTokenHash,
} from './clients/manager.js'
export { RegistrationPolicyError, type RegistrationErrorCode } from './registration/errors.js'
export type {
  RegistrationOptions,
  RegistrationPolicy,
  RegistrationPolicyContext,
  SoftwareStatementOptions,
  SoftwareStatementIssuer,
} from './registration/options.js'

export { defaultGrants, authorizationCode, clientCredentials, refreshToken, password, deviceCode, jwtBearer, saml2Bearer, tokenExchange } from './grants/index.js'
export { TOKEN_EXCHANGE_GRANT, TOKEN_TYPES, type TokenExchangePolicy, type TokenExchangeRequest, type TokenExchangeParty } from './grants/token-exchange.js'
export type { ResourceRules } from './grants/types.js'
export type { ResourceServerOptions, AccessTokenTarget } from './tokens/resource-indicators.js'
export { mcpProfile, type McpProfile, type McpProfileOptions } from './profiles/mcp.js'
export { SAML2_BEARER_GRANT } from './grants/saml2-bearer.js'
export { DEVICE_CODE_GRANT } from './grants/device-code.js'
export { JWT_BEARER_GRANT } from './grants/jwt-bearer.js'
export { shouldIssueRefreshToken, type RefreshTokenInput } from './tokens/refresh-token.js'
export { claimsForScope } from './tokens/id-token.js'
export type { ActiveAccessToken } from './tokens/validate.js'
export { cutoffKeys } from './tokens/cutoff.js'
export {
  createResourceProtector,
  type ResourceProtector,
  type ResourceProtectorOptions,
  type RemoteJwksOptions,
  type ResourceDpopOptions,
  type RemoteIntrospectionOptions,
  type ProtectionResult,
  type ProtectedResourceMetadataOptions,
} from './resource/protector.js'
export { protectedResourceMetadataUrl, PROTECTED_RESOURCE_WELL_KNOWN } from './resource/metadata.js'
export type { VerifiedToken } from './resource/types.js'
export { verifyPkce } from './tokens/pkce.js'
export { resolveAssertionGrant } from './tokens/assertion-grant.js'
export type { InteractionDetails, InteractionResult } from './interaction/interactions.js'
export type { SessionInfo, SessionsApi } from './logout/sessions.js'
export { BACKCHANNEL_LOGOUT_EVENT } from './logout/logout-token.js'
export { StaticUserSource, authenticateUser, type UserSource, type UserAccount, type UserClaims, type StaticUser, type StaticUserSourceOptions } from './users/user-source.js'
export { hashPassword, hashPasswordAsync, verifyPasswordHash, OWASP_MINIMUM_COST, type PasswordHashCost, type PasswordVerdict } from './users/password.js'
export { createTrustRegistry, type TrustOptions, type JwtIssuerTrust, type SamlIdpTrust, type TrustRegistry } from './trust/registry.js'
export type { GrantHandler, GrantContext, GrantConfig, GrantPrerequisite, TokenIssuer, RefreshTokenRules, TokenResponseBody } from './grants/types.js'
export { issueTokens, type TokenIssue } from './tokens/issue.js'
export { parseScope, Scope } from './tokens/scope.js'

export { KeyRing, type KeyStore, type KeyRingOptions, type ScheduledKey } from './keys/key-store.js'
export { createSharedKeyStore, createMemoryKeyStorage, sealKeyRecords, type SealReport, type SharedKeyStore, type SharedKeyStoreOptions } from './keys/shared-key-store.js'
export { createAesKeyWrapper, parseKeyEncryptionKey, type KeyWrapper } from './keys/key-wrapper.js'
export {
  generateSigningKey,
  importSigningKey,
  exportPrivateJwk,
  jwkThumbprint,
  type SigningKey,
  type SigningAlgorithm,
  type PrivateJwk,
  type PublicJwk,
} from './keys/signing-key.js'

export { createMemoryStorage, type MemoryStorageOptions } from './storage/memory.js'
export type * from './storage/types.js'
export { FEATURE_STORES, requireStore, missingStores, checkStorage, type StorageFeature, type StoreName } from './storage/features.js'
export { DEVICE_CODE_GRACE, deviceCodeKeepUntil } from './storage/policy.js'
export { encodeRecord, decodeRecord, RECORD_VERSION, RecordVersionError } from './storage/codec.js'

export { randomToken, hashToken } from './crypto/random.js'
