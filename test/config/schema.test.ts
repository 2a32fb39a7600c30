import { describe, expect, expectTypeOf, it } from 'vitest'
import { defaults } from '../../src/config/defaults.js'
import type { AuthorizationServerOptions } from '../../src/config/options.js'
import { optionRows, optionSchema, resolveEntry, type OptionEntry, type OptionSchema } from '../../src/config/schema.js'
import type { KeyStore } from '../../src/index.js'

// ---------------------------------------------------------------------------
// Type level, checked by `tsc --noEmit`: the public interface and the schema
// name the same options. A name in one and not the other makes the assignment
// below fail to compile, and the compiler prints the name.

type SchemaKeys = keyof OptionSchema
type MissingFromSchema = Exclude<keyof AuthorizationServerOptions, SchemaKeys>
type MissingFromInterface = Exclude<SchemaKeys, keyof AuthorizationServerOptions>
const everyOptionHasAnEntry: [MissingFromSchema] extends [never] ? true : MissingFromSchema = true
const everyEntryIsAnOption: [MissingFromInterface] extends [never] ? true : MissingFromInterface = true

/** The members of an option given as an object (the non-collaborator form of `keys`). */
/** Named keys only: `paths` also takes the names of an embedder's own endpoints through an index signature. */
type KnownKeys<T> = keyof { [P in keyof T as string extends P ? never : P]: T[P] }
type MembersOf<K extends SchemaKeys> = KnownKeys<Exclude<NonNullable<AuthorizationServerOptions[K]>, KeyStore>>
type EntryMembers<K extends SchemaKeys> = OptionSchema[K] extends { members: infer M } ? keyof M : never
type Grouped = 'ttl' | 'pkce' | 'deviceFlow' | 'passwordGrant' | 'passwordHashing' | 'paths' | 'interaction' | 'deps' | 'trust' | 'keys' | 'backchannelLogout' | 'admin' | 'registration' | 'dpop'
type MemberGaps = { [K in Grouped]: [Exclude<MembersOf<K>, EntryMembers<K>> | Exclude<EntryMembers<K>, MembersOf<K>>] extends [never] ? never : K }[Grouped]
const everyMemberHasAnEntry: [MemberGaps] extends [never] ? true : MemberGaps = true

describe('the option schema', () => {
  it('has an entry for every option of AuthorizationServerOptions and its members (checked by tsc)', () => {
    expect([everyOptionHasAnEntry, everyEntryIsAnOption, everyMemberHasAnEntry]).toEqual([true, true, true])
  })

  it('keeps the exported defaults object of 0.1: same shape, same values, same types', () => {
    expect(defaults).toEqual({
      accessTokenFormat: 'jwt',
      ttl: { accessToken: 3600, refreshToken: 1_209_600, refreshTokenAbsolute: 2_592_000, authorizationCode: 60, deviceCode: 600, idToken: 3600, pushedAuthorizationRequest: 60 },
      sessionTtl: 86_400,
      consentTtl: 31_536_000,
      interactionTtl: 600,
      pkce: { required: 'public', allowPlain: false },
      // 0.1's members keep their names and values; the members after them are new (issue 12).
      passwordGrant: { maxFailures: 5, failureWindow: 900, maxDelay: 300, maxAttemptsPerAddress: 50, addressWindow: 300, knownDeviceTtl: 2_592_000 },
      deviceFlow: { interval: 5, maxAttempts: 10, attemptWindow: 900, maxAttemptsPerAddress: 60, addressWindow: 60 },
      clockSkew: 60,
      maxAssertionLifetime: 300,
      signingAlgorithm: 'ES256',
      metadataMaxAge: 300,
      paths: {
        token: '/token',
        jwks: '/jwks',
        authorization: '/authorize',
        userinfo: '/userinfo',
        interaction: '/interaction',
        revocation: '/revoke',
        introspection: '/introspect',
        deviceAuthorization: '/device_authorization',
        deviceVerification: '/device',
      },
      maxBodyBytes: 65_536,
      // New in 0.3: stored clients (issue 14).
      clientCacheTtl: 30,
      // New in 0.2 (issue 14): back-channel logout deliveries.
      backchannelLogout: { timeout: 5, maxAttempts: 4, retryDelay: 2 },
      // New in 0.3 (issue 14): the admin API, off.
      admin: { enabled: false, scope: 'grantkit:admin', path: '/admin/api', console: { enabled: false, path: '/admin', idleTimeout: 900, absoluteTimeout: 28_800, auditEvents: 200 } },
      // New in 0.3 (issue 14): dynamic client registration, off by default.
      registration: { enabled: false },
      // New in 0.3 (issue 15): fetching jwks_uri and metadata documents; metadata documents off by default.
      remoteDocuments: { timeout: 5, minCacheTtl: 300, maxCacheTtl: 86_400, maxEntries: 1000, refetchInterval: 60, staleIfError: 3600 },
      clientIdMetadataDocuments: { enabled: false },
      // New in 0.3 (issue 16): load shedding, no bound unless set.
      overload: { retryAfter: 1 },
      // New in 0.3 (issue 16): Argon2id at OWASP's minimum; bounded password checks (maxConcurrent is computed).
      passwordHashing: { memoryCost: 19_456, timeCost: 2, parallelism: 1, maxQueued: 32, queueTimeout: 5 },
      // New in 0.3 (issue 15): DPoP.
      dpop: { required: false, requireNonce: false, nonceLifetime: 300, proofMaxAge: 60, proofClockSkew: 5 },
    })
    expectTypeOf(defaults).toEqualTypeOf<{
      accessTokenFormat: 'jwt' | 'opaque'
      ttl: { accessToken: number; refreshToken: number; refreshTokenAbsolute: number; authorizationCode: number; deviceCode: number; idToken: number; pushedAuthorizationRequest: number }
      sessionTtl: number
      consentTtl: number
      interactionTtl: number
      pkce: { required: 'public' | 'all'; allowPlain: boolean }
      passwordGrant: { maxFailures: number; failureWindow: number; maxDelay: number; maxAttemptsPerAddress: number; addressWindow: number; knownDeviceTtl: number }
      deviceFlow: { interval: number; maxAttempts: number; attemptWindow: number; maxAttemptsPerAddress: number; addressWindow: number }
      clockSkew: number
      maxAssertionLifetime: number
      signingAlgorithm: 'ES256' | 'ES384' | 'ES512' | 'RS256' | 'PS256' | 'EdDSA'
      metadataMaxAge: number
      overload: { retryAfter: number }
      paths: {
        token: string
        jwks: string
        authorization: string
        userinfo: string
        interaction: string
        revocation: string
        introspection: string
        deviceAuthorization: string
        deviceVerification: string
      }
      maxBodyBytes: number
      clientCacheTtl: number
      backchannelLogout: { timeout: number; maxAttempts: number; retryDelay: number }
      admin: { enabled: boolean; scope: string; path: string; console: { enabled: boolean; path: string; idleTimeout: number; absoluteTimeout: number; auditEvents: number } }
      registration: { enabled: boolean }
      remoteDocuments: { timeout: number; minCacheTtl: number; maxCacheTtl: number; maxEntries: number; refetchInterval: number; staleIfError: number }
      clientIdMetadataDocuments: { enabled: boolean }
      passwordHashing: { memoryCost: number; timeCost: number; parallelism: number; maxQueued: number; queueTimeout: number }
      dpop: { required: boolean; requireNonce: boolean; nonceLifetime: number; proofMaxAge: number; proofClockSkew: number }
    }>()
  })

  it('gives every entry a one-sentence doc, a type and a feature', () => {
    for (const { path, entry } of optionRows()) {
      expect(entry.doc, path).toMatch(/^\S[\s\S]*\.$/)
      expect(entry.type, path).not.toBe('')
      expect(entry.feature, path).toMatch(/^[a-z-]+$/)
    }
  })

  it('accepts every plain default with its own check', () => {
    for (const { path, entry } of optionRows()) {
      if (entry.default === undefined) continue
      expect(entry.check(entry.default, path, { input: { issuer: 'https://as.example' } }), path).toEqual(entry.default)
    }
  })

  it('marks the members of a collaborator option as not JSON-configurable, and JSON defaults as JSON', () => {
    for (const [name, entry] of Object.entries(optionSchema) as Array<[string, OptionEntry<unknown>]>) {
      for (const [member, m] of Object.entries(entry.members ?? {})) {
        if (!entry.json) expect(m.json, `${name}.${member}`).toBe(false)
      }
      if (entry.json && entry.default !== undefined) expect(JSON.parse(JSON.stringify(entry.default)), name).toEqual(entry.default)
    }
    const collaborators = Object.entries(optionSchema).filter(([, e]) => !e.json).map(([name]) => name)
    expect(collaborators.sort()).toEqual(['deps', 'features', 'grants', 'interaction', 'keys', 'logger', 'storage', 'telemetry', 'tokenExchange'])
  })

  it('resolves an absent option to its default and refuses a given null', () => {
    const ctx = { input: {} }
    expect(resolveEntry(optionSchema.sessionTtl, undefined, 'sessionTtl', ctx)).toBe(86_400)
    expect(resolveEntry(optionSchema.ttl, { accessToken: 10 }, 'ttl', ctx)).toEqual({ ...defaults.ttl, accessToken: 10 })
    expect(() => resolveEntry(optionSchema.ttl, null, 'ttl', ctx)).toThrow('ttl: must be an object of lifetimes in seconds')
    expect(() => resolveEntry(optionSchema.issuer, undefined, 'issuer', ctx)).toThrow('issuer: is required (an https URL)')
  })

  it('resolves collaborators when absent: a fresh storage and key store each time', () => {
    const ctx = { input: {} }
    const a = resolveEntry(optionSchema.storage, undefined, 'storage', ctx)
    const b = resolveEntry(optionSchema.storage, undefined, 'storage', ctx)
    expect(a).not.toBe(b)
    expect(resolveEntry(optionSchema.keys, undefined, 'keys', ctx).signingKey(0)).toBeDefined()
  })
})
