import type { MeterProvider, TracerProvider } from '@opentelemetry/api'
import { describe, expect, expectTypeOf, it } from 'vitest'
import type { ClientIdMetadataPolicy } from '../../src/clients/metadata-document.js'
import type { ClientRegistry } from '../../src/clients/registry.js'
import type { ResolvedOptions } from '../../src/config/resolve.js'
import type { GrantHandler } from '../../src/grants/types.js'
import type { Feature } from '../../src/features/types.js'
import type { KeyStore } from '../../src/keys/key-store.js'
import type { PageSettings } from '../../src/pages/settings.js'
import type { Logger } from '../../src/observability/logger.js'
import type { Storage } from '../../src/storage/types.js'
import type { TrustRegistry } from '../../src/trust/registry.js'
import type { UserSource } from '../../src/users/user-source.js'
import type { ResourceServers } from '../../src/tokens/resource-indicators.js'
import type { TokenExchangePolicy } from '../../src/grants/token-exchange.js'
import type { RegistrationPolicy, ResolvedSoftwareStatement } from '../../src/registration/options.js'

/**
 * What `resolveOptions` returns, written out: a change to an entry's check or
 * default that changes the type the server context sees fails `tsc`.
 */
interface Expected<P extends string> {
  readonly issuer: string
  readonly clients: ClientRegistry
  readonly clientCacheTtl: number
  readonly storage: Storage
  readonly keys: KeyStore
  readonly grants: ReadonlyMap<string, GrantHandler>
  readonly features: readonly Feature[]
  readonly accessTokenFormat: 'jwt' | 'opaque'
  readonly accessTokenAudience: string | string[]
  readonly ttl: {
    readonly accessToken: number
    readonly refreshToken: number
    readonly refreshTokenAbsolute: number
    readonly authorizationCode: number
    readonly deviceCode: number
    readonly idToken: number
    readonly pushedAuthorizationRequest: number
  }
  readonly scopes: ReadonlySet<string> | undefined
  readonly clockSkew: number
  readonly maxAssertionLifetime: number
  readonly maxBodyBytes: number
  readonly metadataMaxAge: number
  readonly paths: Readonly<Record<P, string>>
  readonly trust: TrustRegistry
  readonly users: UserSource | undefined
  readonly interaction: { readonly url: ((uid: string) => string) | undefined }
  readonly pages: PageSettings
  readonly sessionTtl: number
  readonly consentTtl: number
  readonly interactionTtl: number
  readonly requirePushedAuthorizationRequests: boolean
  readonly requireSignedRequestObject: boolean
  readonly pkce: { readonly required: 'public' | 'all'; readonly allowPlain: boolean }
  readonly deviceFlow: { readonly interval: number; readonly maxAttempts: number; readonly attemptWindow: number; readonly maxAttemptsPerAddress: number; readonly addressWindow: number }
  readonly passwordGrant: {
    readonly maxFailures: number
    readonly failureWindow: number
    readonly maxDelay: number
    readonly maxAttemptsPerAddress: number
    readonly addressWindow: number
    readonly knownDeviceTtl: number
  }
  readonly passwordHashing: {
    readonly memoryCost: number
    readonly timeCost: number
    readonly parallelism: number
    readonly allowWeak: boolean
    readonly maxConcurrent: number
    readonly maxQueued: number
    readonly queueTimeout: number
  }
  readonly cookieSecrets: readonly string[]
  readonly allowHttpRedirectUris: boolean
  readonly allowHttpIssuer: boolean
  readonly allowPrivateNetworkFetches: boolean
  readonly admin: {
    readonly enabled: boolean
    readonly scope: string
    readonly path: string
    readonly console: { readonly enabled: boolean; readonly path: string; readonly idleTimeout: number; readonly absoluteTimeout: number; readonly auditEvents: number }
  }
  readonly backchannelLogout: { readonly timeout: number; readonly maxAttempts: number; readonly retryDelay: number }
  readonly remoteDocuments: {
    readonly timeout: number
    readonly minCacheTtl: number
    readonly maxCacheTtl: number
    readonly maxEntries: number
    readonly refetchInterval: number
    readonly staleIfError: number
  }
  readonly clientIdMetadataDocuments: {
    readonly enabled: boolean
    readonly allowedHosts: readonly string[] | undefined
    readonly policy: ClientIdMetadataPolicy | undefined
  }
  readonly overload: {
    readonly maxRequestsInFlight: number | undefined
    readonly maxEventLoopDelay: number | undefined
    readonly eventLoopDelay: (() => number) | undefined
    readonly retryAfter: number
  }
  readonly registration: {
    readonly enabled: boolean
    readonly initialAccessToken: readonly Buffer[] | undefined
    readonly policy: RegistrationPolicy | undefined
    readonly softwareStatement: ResolvedSoftwareStatement | undefined
    readonly accessTokenTtl: number | undefined
  }
  readonly resourceServers: ResourceServers
  readonly requireResource: boolean
  readonly tokenExchange: { readonly policy: TokenExchangePolicy | undefined } | undefined
  readonly dpop: { readonly required: boolean; readonly requireNonce: boolean; readonly nonceLifetime: number; readonly proofMaxAge: number; readonly proofClockSkew: number; readonly algorithms: readonly string[] }
  readonly telemetry: { readonly tracerProvider: TracerProvider | undefined; readonly meterProvider: MeterProvider | undefined }
  readonly logger: Logger | undefined
  readonly deps: { readonly now: () => number; readonly randomId: () => string; readonly randomToken: () => string }
}

type Flat<T> = { [K in keyof T]: T[K] }

describe('ResolvedOptions', () => {
  it('has one typed property per option (checked by tsc)', () => {
    expectTypeOf<Flat<ResolvedOptions<'token' | 'jwks'>>>().toEqualTypeOf<Expected<'token' | 'jwks'>>()
    expect(true).toBe(true)
  })
})
