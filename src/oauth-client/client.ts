import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { setTimeout as delay } from 'node:timers/promises'
import { buildJwtAssertion } from './assertions.js'
import { applyClientAuth } from './client-auth.js'
import { MetadataCache } from './discovery.js'
import { ProtocolError, ProviderError, TokenUnavailableError } from './errors.js'
import { isBearerInvalidToken, postForm, providerErrorFrom, type HttpDeps } from './http.js'
import { validateIdToken } from './id-token.js'
import { defineProvider, isSafeEndpoint, type ProviderProfile, type ResolvedProfile } from './provider.js'
import { buildSamlAssertion } from './saml-assertion.js'
import { TokenCipher, type EncryptionOptions } from './storage/cipher.js'
import { createMemoryTokenStore } from './storage/memory.js'
import type { TokenStore } from './storage/types.js'
import { readTokenResponse } from './token-response.js'
import { DpopSigner, isDpopInvalidToken, isResourceNonceChallenge, type DpopClientOptions } from './dpop.js'
import { checkUserinfoSubject, requestUserinfo } from './userinfo.js'
import { GRANT_TYPE, type GrantName, type ProviderMetadata, type TokenSet } from './types.js'

/** Options of `createOAuthClient`. Durations are in seconds. */
export interface OAuthClientOptions {
  /** The providers this client talks to: presets or `defineProvider` profiles. */
  providers: readonly ProviderProfile[]
  /** Keys that encrypt tokens at rest (AES-256-GCM). Required: tokens are never stored in clear. */
  encryption: EncryptionOptions
  /** Where tokens live. Default: in memory (`createMemoryTokenStore`). */
  store?: TokenStore
  /** Seconds before expiry at which an access token is refreshed. Default 60 (at most half a token's lifetime). */
  refreshSkew?: number
  /** Seconds of clock difference tolerated on ID token times. Default 60. */
  clockTolerance?: number
  /** Seconds a refresh lease is held at most; more than twice `timeout`. Default 30. */
  leaseTtl?: number
  /** Seconds before a request to a provider is abandoned. Default 10. */
  timeout?: number
  /**
   * Seconds a started authorization may take to complete (the person signing
   * in at the provider). Past it, `completeAuthorization` refuses the callback
   * with `flow_expired`. Default 900 (15 minutes).
   */
  authorizationTtl?: number
  /**
   * DPoP (RFC 9449): the key proofs are signed with. With it, tokens of a
   * provider that advertises DPoP (or whose profile says `dpop: true`) are
   * bound to the key and used with proofs. Default: no DPoP unless a profile
   * asks for it.
   */
  dpop?: DpopClientOptions
  /** Replaceable sources of time, waiting and HTTP, for tests. */
  deps?: Partial<{
    fetch: typeof fetch
    /** Seconds since the epoch. */
    now: () => number
    /** Waits between device flow polls. */
    sleep: (ms: number, signal?: AbortSignal) => Promise<void>
  }>
}

/**
 * What `startAuthorization` asks you to keep until the callback: server-side,
 * in the person's session. It holds the PKCE verifier; never put it in a URL.
 */
export interface PendingAuthorization {
  provider: string
  state: string
  codeVerifier: string
  /** Present when `openid` was requested. */
  nonce?: string
  redirectUri: string
  scope: string
  /** Whose tokens these will be, if known when starting. */
  subject?: string
  /** Seconds since the epoch after which the callback is refused (`authorizationTtl`). */
  expiresAt: number
}

/** Options of `startAuthorization`. */
export interface StartAuthorizationOptions {
  /** Whose tokens these will be (your user's id); may instead be given to `completeAuthorization`. */
  subject?: string
  /** Default: the profile's scopes. */
  scopes?: string[]
  /** Default: the profile's redirectUri. */
  redirectUri?: string
  /** Extra authorization request parameters (`prompt`, `login_hint`, …). They override the profile's quirks. */
  params?: Record<string, string>
}

/** What `completeAuthorization` stored, and for whom. */
export interface AuthorizationResult {
  subject: string
  tokens: TokenSet
  /** Claims of the validated ID token, when there was one. */
  claims?: Record<string, unknown>
}

/**
 * An RFC 8628 §3.2 device authorization. Show `userCode` and
 * `verificationUri` (or `verificationUriComplete`) to the person; keep the
 * whole object server-side for `completeDeviceAuthorization`.
 */
export interface DeviceAuthorization {
  provider: string
  deviceCode: string
  userCode: string
  verificationUri: string
  verificationUriComplete?: string
  /** Seconds since the epoch. */
  expiresAt: number
  /** Seconds between polls. */
  interval: number
  scope?: string
}

/** A client of OAuth providers, holding tokens for your users and calling APIs with them. */
export interface OAuthClient {
  /** Starts the authorization code flow with PKCE (S256), state and, for `openid`, a nonce. */
  startAuthorization(provider: string, options?: StartAuthorizationOptions): Promise<{ url: string; pending: PendingAuthorization }>
  /**
   * Checks the callback (RFC 9207 `iss`, `state`, `error`), exchanges the code,
   * validates the ID token, and stores the tokens under the subject. Nothing is
   * stored when any check fails.
   *
   * A pending authorization completes once, in every process sharing the
   * store: before the code is sent, the flow is recorded as used (a hash of
   * its state, kept until it would have expired), and a second callback for
   * it — the same one again, or another code with the same state — is refused
   * with `ProtocolError` `flow_reused` without any request to the provider.
   * A flow whose code exchange failed is used too: start a new one.
   */
  completeAuthorization(callback: string | URL | URLSearchParams, pending: PendingAuthorization, options?: { subject?: string }): Promise<AuthorizationResult>
  /** Resource owner password credentials (RFC 6749 §4.3); the tokens are stored under `subject`. */
  password(provider: string, options: { subject: string; username: string; password: string; scopes?: string[] }): Promise<TokenSet>
  /** A token for the client itself (RFC 6749 §4.4), cached per client, scope and audience and renewed before expiry. Never stored. */
  clientCredentials(provider: string, options?: { scopes?: string[]; audience?: string }): Promise<TokenSet>
  /**
   * JWT bearer grant (RFC 7523): signs an assertion with `jwtBearer.privateJwk`
   * (or sends `assertion` as given) and stores the tokens under `subject`.
   * `assertionSubject` is the `sub` claim (default `subject`; null leaves it out).
   */
  jwtBearer(provider: string, options: { subject: string; assertionSubject?: string | null; scopes?: string[]; claims?: Record<string, unknown>; assertion?: string }): Promise<TokenSet>
  /** SAML 2.0 bearer grant (RFC 7522): signs an assertion for `nameId` (default `subject`) and stores the tokens under `subject`. */
  saml2Bearer(provider: string, options: { subject: string; nameId?: string; scopes?: string[]; assertion?: string }): Promise<TokenSet>
  /** Device authorization request (RFC 8628 §3.1). */
  startDeviceAuthorization(provider: string, options?: { scopes?: string[] }): Promise<DeviceAuthorization>
  /**
   * Polls (RFC 8628 §3.4) no faster than the interval, 5 s slower after each
   * `slow_down`, until the person answers; stores the tokens. A device
   * authorization is polled by one call, once: a second call (concurrent or
   * later, in any process sharing the store) is refused with `ProtocolError`
   * `flow_reused` before any request. After an abort, start a new one.
   */
  completeDeviceAuthorization(device: DeviceAuthorization, options: { subject: string; signal?: AbortSignal }): Promise<TokenSet>
  /** A valid access token, refreshed shortly before expiry; one refresh for all concurrent callers, in every process. */
  getAccessToken(provider: string, subject: string): Promise<string>
  /** The stored tokens (e.g. for `extra.instance_url`), or null when there are none usable. */
  getTokens(provider: string, subject: string): Promise<TokenSet | null>
  /**
   * `fetch` with `Authorization: Bearer`. On a 401 with `WWW-Authenticate:
   * Bearer error="invalid_token"` it refreshes and retries exactly once.
   */
  fetchWithToken(provider: string, subject: string, input: string | URL | Request, init?: RequestInit): Promise<Response>
  /** Revokes the stored tokens at the provider (RFC 7009) when it can, and deletes them. */
  disconnect(provider: string, subject: string): Promise<{ revoked: boolean; error?: unknown }>
  /** The provider's metadata, discovered once. */
  metadata(provider: string): Promise<ProviderMetadata>
  /**
   * The person's claims from the provider's `userinfo_endpoint` (OIDC Core
   * §5.3), with the stored access token (refreshed when due; a 401
   * `invalid_token` refreshes and retries once). The response's `sub` must be
   * the stored ID token's (OIDC Core §5.3.2), or it is refused with
   * `ProtocolError` `userinfo_sub_mismatch`. Needs tokens from a flow that
   * returned an ID token (the `openid` scope).
   */
  userinfo(provider: string, subject: string): Promise<Record<string, unknown>>
}

const RESERVED_PARAMS = new Set(['response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'code_challenge', 'code_challenge_method', 'nonce'])
const LEASE_POLL_MS = 50
/**
 * Seconds a used-flow record outlives the flow's own expiry: processes'
 * clocks (which judge `expiresAt`) and the store's clock (which expires the
 * record) may differ by this much without reopening a used flow.
 */
const USED_FLOW_MARGIN = 300

const random = (): string => randomBytes(32).toString('base64url')

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

function checkSubject(subject: unknown, path: string): string {
  if (typeof subject !== 'string' || subject === '') throw new TypeError(`${path}: must be a non-empty string`)
  return subject
}

function seconds(value: unknown, fallback: number, path: string): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new TypeError(`${path}: must be a number of seconds >= 0`)
  return value
}

function scopeOf(scopes: unknown, profile: ResolvedProfile, path: string): string {
  const list = scopes ?? profile.scopes
  if (!Array.isArray(list) || list.some((s) => typeof s !== 'string' || !/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(s))) {
    throw new TypeError(`${path}: must be an array of scope tokens`)
  }
  return [...new Set(list as string[])].join(' ')
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return delay(ms, undefined, signal === undefined ? {} : { signal })
}

/**
 * Creates an OAuth client for calling third-party APIs on your users' behalf.
 * Tokens stay on the server: they are encrypted in the store, refreshed there,
 * and attached to API calls by `fetchWithToken`.
 *
 * @example
 * const client = createOAuthClient({
 *   providers: [google({ clientId, clientSecret, redirectUri: 'https://app.example/cb/google' })],
 *   store: createPostgresTokenStore(pool),
 *   encryption: { keys: { k1: process.env.TOKEN_KEY! }, currentKeyId: 'k1' },
 * })
 * const { url, pending } = await client.startAuthorization('google', { subject: user.id })
 * session.pending = pending; res.redirect(url)
 * // …in the callback route:
 * await client.completeAuthorization(req.originalUrl, session.pending)
 * const res = await client.fetchWithToken('google', user.id, 'https://www.googleapis.com/oauth2/v3/userinfo')
 */
export function createOAuthClient(options: OAuthClientOptions): OAuthClient {
  if (typeof options !== 'object' || options === null) throw new TypeError('options: must be an object')
  if (!Array.isArray(options.providers) || options.providers.length === 0) throw new TypeError('providers: must be a non-empty array of provider profiles')
  const profiles = new Map<string, ResolvedProfile>()
  for (const p of options.providers) {
    const resolved = defineProvider(p)
    if (profiles.has(resolved.id)) throw new TypeError(`providers: "${resolved.id}" appears twice; give one an id of its own`)
    profiles.set(resolved.id, resolved)
  }
  const cipher = new TokenCipher(options.encryption)
  const store = options.store ?? createMemoryTokenStore()
  for (const m of ['get', 'put', 'delete', 'acquireLease', 'releaseLease', 'markUsed'] as const) {
    if (typeof store[m] !== 'function') throw new TypeError(`store.${m}: must be a function (see TokenStore)`)
  }
  const refreshSkew = seconds(options.refreshSkew, 60, 'refreshSkew')
  const clockTolerance = seconds(options.clockTolerance, 60, 'clockTolerance')
  const timeout = seconds(options.timeout, 10, 'timeout')
  const leaseTtl = seconds(options.leaseTtl, 30, 'leaseTtl')
  const authorizationTtl = seconds(options.authorizationTtl, 900, 'authorizationTtl')
  if (authorizationTtl === 0) throw new TypeError('authorizationTtl: must be more than 0 seconds, or every callback would come too late')
  // Under a lease: one token request (refresh) or two revocation requests (disconnect), each up to `timeout`.
  if (leaseTtl <= 2 * timeout) throw new TypeError('leaseTtl: must be more than twice timeout, or slow requests could outlive their lease')
  const deps = options.deps ?? {}
  const now = deps.now ?? (() => Date.now() / 1000)
  const sleep = deps.sleep ?? defaultSleep
  const http: HttpDeps = { fetch: deps.fetch ?? ((input, init) => fetch(input, init)), timeoutMs: timeout * 1000 }
  const metadata = new MetadataCache(http)
  const refreshing = new Map<string, Promise<TokenSet>>()
  const clientTokens = new Map<string, TokenSet>()
  const clientTokensInFlight = new Map<string, Promise<TokenSet>>()
  if (options.dpop !== undefined && (typeof options.dpop !== 'object' || options.dpop === null)) throw new TypeError('dpop: must be an object')
  // One key for every provider, made (or imported) once.
  const dpop = options.dpop !== undefined || [...profiles.values()].some((p) => p.dpop === true) ? new DpopSigner(options.dpop ?? {}, now) : undefined
  /** Token bodies that answered a request with a proof: only they may say token_type DPoP. */
  const dpopBodies = new WeakSet<object>()
  const readTokens = (profile: ResolvedProfile, body: Record<string, unknown>, at: number, scope: string | undefined): TokenSet => readTokenResponse(profile, body, at, scope, dpopBodies.has(body))

  /** Whether token requests to this provider carry a DPoP proof. */
  function usesDpop(profile: ResolvedProfile, meta: ProviderMetadata): boolean {
    if (dpop === undefined || profile.dpop === false) return false
    if (profile.dpop === true) return true
    const algs = meta.dpop_signing_alg_values_supported
    return options.dpop !== undefined && Array.isArray(algs) && algs.includes('ES256')
  }

  function profileOf(id: unknown): ResolvedProfile {
    const found = typeof id === 'string' ? profiles.get(id) : undefined
    if (found === undefined) throw new TypeError(`provider: "${String(id)}" is not configured (known: ${[...profiles.keys()].join(', ')})`)
    return found
  }

  function requireGrant(profile: ResolvedProfile, grant: GrantName): void {
    if (profile.grants !== undefined && !profile.grants.includes(grant)) {
      throw new TypeError(`provider "${profile.id}" does not support the ${grant} grant (its grants: ${profile.grants.join(', ')})`)
    }
  }

  /** True when the access token expires within the skew (at most half its lifetime, so short-lived tokens are not refreshed on every call). */
  function expiresSoon(tokens: TokenSet): boolean {
    if (tokens.expiresAt === undefined) return false
    const skew = Math.min(refreshSkew, (tokens.expiresAt - tokens.obtainedAt) / 2)
    return tokens.expiresAt - skew <= now()
  }

  /**
   * Sends a request with an access token: `Authorization: Bearer`, or for a
   * DPoP-bound token `Authorization: DPoP` and a proof for this very request
   * (RFC 9449 §7.1: htm, htu and ath).
   */
  async function sendWithToken(req: Request, tokens: TokenSet): Promise<Response> {
    if (tokens.tokenType === 'DPoP') {
      if (dpop === undefined) throw new TypeError('fetchWithToken: the stored token is DPoP-bound, but this client has no dpop key (options.dpop)')
      req.headers.set('authorization', `DPoP ${tokens.accessToken}`)
      req.headers.set('dpop', await dpop.proof(req.method, req.url, tokens.accessToken))
    } else req.headers.set('authorization', `Bearer ${tokens.accessToken}`)
    return http.fetch(req)
  }

  async function tokenRequest(profile: ResolvedProfile, params: Record<string, string | undefined>): Promise<Record<string, unknown>> {
    const meta = await metadata.get(profile)
    const body = new URLSearchParams()
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') body.set(k, v)
    const signer = usesDpop(profile, meta) ? dpop : undefined
    const send = async (): Promise<Record<string, unknown>> => {
      const headers: Record<string, string> = {}
      // Client assertions are made per attempt: a retry must not replay a jti.
      const attempt = new URLSearchParams(body)
      await applyClientAuth(profile, meta.token_endpoint, attempt, headers, now(), random())
      if (signer === undefined) return postForm(http, meta.token_endpoint, attempt, headers)
      headers.dpop = await signer.proof('POST', meta.token_endpoint)
      const answer = await postForm(http, meta.token_endpoint, attempt, headers, { onResponse: (res) => void signer.remember(meta.token_endpoint, res) })
      dpopBodies.add(answer)
      return answer
    }
    try {
      return await send()
    } catch (err) {
      // RFC 9449 §8: the server wants a nonce it has just sent; one retry with it.
      if (signer === undefined || !(err instanceof ProviderError) || err.error !== 'use_dpop_nonce') throw err
      return send()
    }
  }

  /** Validates the response's ID token, if any, and keeps its claims. */
  async function withIdToken(profile: ResolvedProfile, tokens: TokenSet, nonce: string | undefined): Promise<TokenSet> {
    if (tokens.idToken === undefined) return tokens
    const meta = await metadata.get(profile)
    const keys = await metadata.keys(profile)
    tokens.claims = await validateIdToken(tokens.idToken, { profile, metadata: meta, keys, nonce, now: now(), clockTolerance })
    return tokens
  }

  /**
   * Records a one-time flow as used, atomically in the shared store, before
   * anything of it reaches the provider. Only a hash of the flow's secret
   * (state, device code) is stored. Throws `flow_reused` for every caller
   * but the first.
   */
  async function claimFlow(kind: 'code' | 'device', provider: string, secret: string, expiresAt: number): Promise<void> {
    const key = createHash('sha256').update(JSON.stringify(['grantkit.client.flow.v1', kind, provider, secret]), 'utf8').digest('base64url')
    const ttl = Math.max(0, expiresAt - now()) + USED_FLOW_MARGIN
    if (!(await store.markUsed(key, ttl * 1000))) {
      throw new ProtocolError('flow_reused', `this ${kind === 'code' ? 'authorization' : 'device authorization'} of provider "${provider}" was already completed (or is being completed); start a new one`)
    }
  }

  async function save(provider: string, subject: string, tokens: TokenSet): Promise<void> {
    await store.put(provider, subject, cipher.seal(provider, subject, tokens))
  }

  async function load(provider: string, subject: string): Promise<TokenSet> {
    const sealed = await store.get(provider, subject)
    if (sealed === null) throw new TokenUnavailableError('not_connected', provider, subject)
    try {
      return cipher.open(provider, subject, sealed)
    } catch (cause) {
      // SECURITY: a record that does not open for this provider and subject is never used.
      throw new TokenUnavailableError('undecryptable', provider, subject, { cause })
    }
  }

  /**
   * Runs `work` holding the store's lease on (provider, subject). While
   * another holder has it, polls `whileWaiting`, which may end the wait with a
   * result (the other holder's refreshed tokens).
   */
  async function underLease<T>(provider: string, subject: string, work: () => Promise<T>, whileWaiting: () => Promise<T | undefined>): Promise<T> {
    const holder = random()
    const ttlMs = leaseTtl * 1000
    // A holder's lease runs out within ttlMs of when we started waiting; give it that, and some more.
    const deadline = Date.now() + ttlMs + Math.min(ttlMs, 5000)
    for (;;) {
      if (await store.acquireLease(provider, subject, holder, ttlMs)) {
        try {
          return await work()
        } finally {
          // A lease that cannot be given back expires by itself.
          await store.releaseLease(provider, subject, holder).catch(() => undefined)
        }
      }
      await delay(LEASE_POLL_MS)
      const done = await whileWaiting()
      if (done !== undefined) return done
      if (Date.now() > deadline) throw new TokenUnavailableError('lease_timeout', provider, subject)
    }
  }

  async function assertionGrant(profile: ResolvedProfile, grant: 'jwt_bearer' | 'saml2_bearer', assertionSubject: string | null, scope: string, extra: { claims?: Record<string, unknown>; assertion?: string } = {}): Promise<TokenSet> {
    requireGrant(profile, grant)
    const meta = await metadata.get(profile)
    let assertion = extra.assertion
    let scopeParam: string | undefined = scope
    if (grant === 'jwt_bearer' && assertion === undefined) {
      const config = profile.jwtBearer
      if (config === undefined) throw new TypeError(`providers["${profile.id}"].jwtBearer: is required to sign JWT bearer assertions`)
      const claims = { ...extra.claims }
      if (config.scopeInAssertion === true) {
        if (scope !== '') claims.scope = scope
        scopeParam = undefined
      }
      assertion = await buildJwtAssertion(config, {
        issuer: config.issuer ?? profile.clientId,
        subject: assertionSubject,
        audience: config.audience ?? meta.token_endpoint,
        now: now(),
        claims,
      })
    } else if (grant === 'saml2_bearer' && assertion === undefined) {
      const config = profile.saml
      if (config === undefined) throw new TypeError(`providers["${profile.id}"].saml: is required to sign SAML assertions`)
      if (assertionSubject === null) throw new TypeError('saml2Bearer: nameId is required')
      assertion = buildSamlAssertion(config, { nameId: assertionSubject, recipient: meta.token_endpoint, now: now() })
    }
    const body = await tokenRequest(profile, { grant_type: GRANT_TYPE[grant], assertion, scope: scopeParam })
    const tokens = readTokens(profile, body, now(), scope === '' ? undefined : scope)
    // An assertion we signed ourselves can be signed again when the token expires.
    if (extra.assertion === undefined) tokens.renew = { grant, assertionSubject, ...(scope !== '' && { scope }) }
    return tokens
  }

  /** A new access token from the refresh token (RFC 6749 §6), or from a new assertion. */
  async function renew(profile: ResolvedProfile, subject: string, current: TokenSet): Promise<TokenSet> {
    if (current.refreshToken !== undefined) {
      let body: Record<string, unknown>
      try {
        body = await tokenRequest(profile, { grant_type: 'refresh_token', refresh_token: current.refreshToken })
      } catch (error) {
        // RFC 6749 §5.2 invalid_grant: the grant is gone (revoked, expired), so the stored tokens can never work again.
        // Every caller hears the same thing: the first, those sharing this refresh, and later ones (not_connected).
        if (error instanceof ProviderError && error.error === 'invalid_grant') {
          await store.delete(profile.id, subject)
          throw new TokenUnavailableError('refresh_refused', profile.id, subject, { cause: error })
        }
        throw error
      }
      const next = readTokens(profile, body, now(), current.scope)
      const merged: TokenSet = {
        ...next,
        // RFC 6749 §6: without a new refresh token, the old one stays valid.
        refreshToken: next.refreshToken ?? current.refreshToken,
      }
      // An ID token in a refresh response may only restate the first (OIDC Core §12.2): keep the validated one.
      delete merged.idToken
      if (current.idToken !== undefined) merged.idToken = current.idToken
      if (current.claims !== undefined) merged.claims = current.claims
      if (current.extra !== undefined || next.extra !== undefined) merged.extra = { ...current.extra, ...next.extra }
      if (current.renew !== undefined) merged.renew = current.renew
      return merged
    }
    if (current.renew !== undefined) {
      return assertionGrant(profile, current.renew.grant, current.renew.assertionSubject, current.renew.scope ?? '')
    }
    throw new TokenUnavailableError('expired', profile.id, subject)
  }

  /**
   * One refresh per (provider, subject): callers in this process share a
   * promise, and processes share the store's lease. The holder re-reads under
   * the lease, so a refresh token is never sent twice.
   */
  function refreshShared(profile: ResolvedProfile, subject: string, rejected?: string): Promise<TokenSet> {
    const key = JSON.stringify([profile.id, subject, rejected ?? null])
    let running = refreshing.get(key)
    if (running === undefined) {
      const usable = (t: TokenSet) => t.accessToken !== rejected && !expiresSoon(t)
      // Discovery happens before the lease, so the lease covers one token request only.
      running = metadata.get(profile).then(() => underLease(
        profile.id,
        subject,
        async () => {
          const current = await load(profile.id, subject)
          if (usable(current)) return current
          const next = await renew(profile, subject, current)
          await save(profile.id, subject, next)
          return next
        },
        async () => {
          const current = await load(profile.id, subject)
          return usable(current) ? current : undefined
        },
      )).finally(() => refreshing.delete(key))
      refreshing.set(key, running)
    }
    return running
  }

  async function freshTokens(profile: ResolvedProfile, subject: string): Promise<TokenSet> {
    const current = await load(profile.id, subject)
    return expiresSoon(current) ? refreshShared(profile, subject) : current
  }

  return {
    metadata: (provider) => metadata.get(profileOf(provider)),

    async startAuthorization(provider, opts = {}) {
      const profile = profileOf(provider)
      requireGrant(profile, 'authorization_code')
      const redirectUri = opts.redirectUri ?? profile.redirectUri
      if (redirectUri === undefined) throw new TypeError(`startAuthorization: redirectUri is required (or set providers["${profile.id}"].redirectUri)`)
      if (opts.subject !== undefined) checkSubject(opts.subject, 'startAuthorization: subject')
      const scope = scopeOf(opts.scopes, profile, 'startAuthorization: scopes')
      const extra = { ...profile.quirks.authorizationParams, ...opts.params }
      for (const name of Object.keys(extra)) {
        if (RESERVED_PARAMS.has(name)) throw new TypeError(`startAuthorization: params.${name} is set by the client itself`)
      }
      const meta = await metadata.get(profile)
      if (meta.authorization_endpoint === undefined) throw new ProtocolError('invalid_metadata', `provider "${profile.id}" has no authorization_endpoint`)

      const pending: PendingAuthorization = { provider: profile.id, state: random(), codeVerifier: random(), redirectUri, scope, expiresAt: Math.floor(now()) + authorizationTtl }
      // OIDC Core §3.1.2.1: a nonce binds the ID token to this request.
      if (scope.split(' ').includes('openid')) pending.nonce = random()
      if (opts.subject !== undefined) pending.subject = opts.subject
      const url = new URL(meta.authorization_endpoint)
      const set = (k: string, v: string) => url.searchParams.set(k, v)
      set('response_type', 'code')
      set('client_id', profile.clientId)
      set('redirect_uri', redirectUri)
      if (scope !== '') set('scope', scope)
      set('state', pending.state)
      // RFC 7636 §4.2, RFC 9700 §2.1.1: always S256.
      set('code_challenge', createHash('sha256').update(pending.codeVerifier, 'ascii').digest('base64url'))
      set('code_challenge_method', 'S256')
      if (pending.nonce !== undefined) set('nonce', pending.nonce)
      for (const [k, v] of Object.entries(extra)) set(k, v)
      return { url: url.toString(), pending }
    },

    async completeAuthorization(callback, pending, opts = {}) {
      if (typeof pending !== 'object' || pending === null || typeof pending.state !== 'string' || typeof pending.codeVerifier !== 'string' || typeof pending.redirectUri !== 'string') {
        throw new TypeError('completeAuthorization: pending must be what startAuthorization returned')
      }
      const profile = profileOf(pending.provider)
      const subject = checkSubject(opts.subject ?? pending.subject, 'completeAuthorization: subject (give it here or to startAuthorization)')
      // A pending flow without an expiry (from before expiresAt existed) would need its used-record kept forever.
      if (typeof pending.expiresAt !== 'number' || !Number.isFinite(pending.expiresAt) || now() >= pending.expiresAt) {
        throw new ProtocolError('flow_expired', 'this authorization has expired (authorizationTtl); start a new one')
      }
      const params = callback instanceof URLSearchParams ? callback : new URL(callback, 'http://callback.invalid').searchParams
      for (const name of ['state', 'code', 'iss', 'error']) {
        if (params.getAll(name).length > 1) throw new ProtocolError('invalid_callback', `the callback repeats ${name}`)
      }
      const meta = await metadata.get(profile)
      // RFC 9207 §2.4: iss is checked before anything else in the response, errors included.
      const iss = params.get('iss')
      const expectedIss = meta.issuer ?? profile.issuer
      if (iss !== null && iss !== expectedIss) throw new ProtocolError('iss_mismatch', `the callback comes from issuer ${iss.slice(0, 200)}, not ${String(expectedIss)} (mix-up?)`)
      if (iss === null && meta.authorization_response_iss_parameter_supported === true) {
        throw new ProtocolError('iss_missing', `provider "${profile.id}" promises iss in callbacks (RFC 9207) and this one has none`)
      }
      // RFC 6749 §10.12: state ties the callback to the browser session that started the flow.
      const state = params.get('state')
      if (state === null || !sameString(state, pending.state)) throw new ProtocolError('state_mismatch', 'the callback state is not the one this authorization started with')
      const refused = providerErrorFrom(params)
      if (refused !== undefined) throw refused
      const code = params.get('code')
      if (code === null || code === '') throw new ProtocolError('invalid_callback', 'the callback has neither code nor error')
      // SECURITY: one completion per flow, decided by the shared store before the code leaves this process.
      // Whoever learns a finished flow's state could otherwise bring their own account's code in under it
      // (RFC 6749 §10.12), and the same callback replayed would be redeemed again.
      await claimFlow('code', profile.id, pending.state, pending.expiresAt)

      const body = await tokenRequest(profile, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: pending.redirectUri,
        code_verifier: pending.codeVerifier,
      })
      const tokens = readTokens(profile, body, now(), pending.scope === '' ? undefined : pending.scope)
      // OIDC Core §3.1.3.3: a code flow with openid returns an ID token.
      if (pending.nonce !== undefined && tokens.idToken === undefined) {
        throw new ProtocolError('invalid_token_response', 'openid was requested and the token response has no id_token')
      }
      await withIdToken(profile, tokens, pending.nonce)
      await save(profile.id, subject, tokens)
      return { subject, tokens, ...(tokens.claims !== undefined && { claims: tokens.claims }) }
    },

    async password(provider, opts) {
      const profile = profileOf(provider)
      requireGrant(profile, 'password')
      const subject = checkSubject(opts?.subject, 'password: subject')
      const scope = scopeOf(opts.scopes, profile, 'password: scopes')
      const body = await tokenRequest(profile, { grant_type: 'password', username: opts.username, password: opts.password, scope })
      const tokens = await withIdToken(profile, readTokens(profile, body, now(), scope || undefined), undefined)
      await save(profile.id, subject, tokens)
      return tokens
    },

    async clientCredentials(provider, opts = {}) {
      const profile = profileOf(provider)
      requireGrant(profile, 'client_credentials')
      const scope = scopeOf(opts.scopes, profile, 'clientCredentials: scopes')
      const key = JSON.stringify([profile.id, profile.clientId, scope.split(' ').sort(), opts.audience ?? null])
      const cached = clientTokens.get(key)
      if (cached !== undefined && !expiresSoon(cached)) return cached
      let running = clientTokensInFlight.get(key)
      if (running === undefined) {
        running = (async () => {
          const body = await tokenRequest(profile, {
            grant_type: 'client_credentials',
            scope,
            ...(opts.audience !== undefined && { [profile.quirks.audienceParameter ?? 'resource']: opts.audience }),
          })
          const tokens = readTokens(profile, body, now(), scope || undefined)
          // A token of unknown lifetime is not cached: there would be no telling when to renew it.
          if (tokens.expiresAt !== undefined) clientTokens.set(key, tokens)
          return tokens
        })().finally(() => clientTokensInFlight.delete(key))
        clientTokensInFlight.set(key, running)
      }
      return running
    },

    async jwtBearer(provider, opts) {
      const profile = profileOf(provider)
      const subject = checkSubject(opts?.subject, 'jwtBearer: subject')
      const assertionSubject = opts.assertionSubject === undefined ? subject : opts.assertionSubject
      const scope = scopeOf(opts.scopes, profile, 'jwtBearer: scopes')
      const tokens = await assertionGrant(profile, 'jwt_bearer', assertionSubject, scope, {
        ...(opts.claims !== undefined && { claims: opts.claims }),
        ...(opts.assertion !== undefined && { assertion: opts.assertion }),
      })
      await save(profile.id, subject, tokens)
      return tokens
    },

    async saml2Bearer(provider, opts) {
      const profile = profileOf(provider)
      const subject = checkSubject(opts?.subject, 'saml2Bearer: subject')
      const scope = scopeOf(opts.scopes, profile, 'saml2Bearer: scopes')
      const tokens = await assertionGrant(profile, 'saml2_bearer', opts.nameId ?? subject, scope, opts.assertion !== undefined ? { assertion: opts.assertion } : {})
      await save(profile.id, subject, tokens)
      return tokens
    },

    async startDeviceAuthorization(provider, opts = {}) {
      const profile = profileOf(provider)
      requireGrant(profile, 'device_code')
      const scope = scopeOf(opts.scopes, profile, 'startDeviceAuthorization: scopes')
      const meta = await metadata.get(profile)
      const endpoint = meta.device_authorization_endpoint
      if (endpoint === undefined) throw new ProtocolError('invalid_metadata', `provider "${profile.id}" has no device_authorization_endpoint`)
      const body = new URLSearchParams()
      if (scope !== '') body.set('scope', scope)
      const headers: Record<string, string> = {}
      await applyClientAuth(profile, endpoint, body, headers, now(), random())
      const raw = await postForm(http, endpoint, body, headers)
      for (const [alias, name] of Object.entries(profile.quirks.deviceResponseAliases ?? {})) {
        if (raw[name] === undefined && raw[alias] !== undefined) raw[name] = raw[alias]
      }
      // RFC 8628 §3.2: device_code, user_code, verification_uri and expires_in are required.
      for (const name of ['device_code', 'user_code', 'verification_uri']) {
        if (typeof raw[name] !== 'string' || raw[name] === '') throw new ProtocolError('unexpected_response', `device authorization response has no ${name}`)
      }
      const expiresIn = raw.expires_in
      if (typeof expiresIn !== 'number' || !(expiresIn > 0)) throw new ProtocolError('unexpected_response', 'device authorization response has no expires_in')
      // RFC 8628 §3.2: interval defaults to 5 seconds.
      const interval = typeof raw.interval === 'number' && raw.interval > 0 ? raw.interval : 5
      const device: DeviceAuthorization = {
        provider: profile.id,
        deviceCode: raw.device_code as string,
        userCode: raw.user_code as string,
        verificationUri: raw.verification_uri as string,
        expiresAt: Math.floor(now()) + expiresIn,
        interval,
      }
      if (typeof raw.verification_uri_complete === 'string') device.verificationUriComplete = raw.verification_uri_complete
      if (scope !== '') device.scope = scope
      return device
    },

    async completeDeviceAuthorization(device, opts) {
      const profile = profileOf(device?.provider)
      const subject = checkSubject(opts?.subject, 'completeDeviceAuthorization: subject')
      if (typeof device.deviceCode !== 'string' || typeof device.expiresAt !== 'number') throw new TypeError('completeDeviceAuthorization: device must be what startDeviceAuthorization returned')
      // SECURITY: one poller per device code, in every process: a second call would store the same person's tokens again, perhaps under another subject.
      await claimFlow('device', profile.id, device.deviceCode, device.expiresAt)
      let interval = device.interval
      for (;;) {
        // RFC 8628 §3.5: wait the interval before each poll.
        await sleep(interval * 1000, opts.signal)
        if (now() >= device.expiresAt) throw new ProviderError({ error: 'expired_token', errorDescription: 'the device code expired before the person answered' })
        let body: Record<string, unknown>
        try {
          body = await tokenRequest(profile, { grant_type: GRANT_TYPE.device_code, device_code: device.deviceCode })
        } catch (error) {
          if (error instanceof ProviderError && error.error === 'authorization_pending') continue
          // RFC 8628 §3.5: slow_down adds 5 seconds to the interval, for this and every later poll.
          if (error instanceof ProviderError && error.error === 'slow_down') {
            interval += 5
            continue
          }
          throw error
        }
        const tokens = await withIdToken(profile, readTokens(profile, body, now(), device.scope), undefined)
        await save(profile.id, subject, tokens)
        return tokens
      }
    },

    async getAccessToken(provider, subject) {
      const profile = profileOf(provider)
      checkSubject(subject, 'getAccessToken: subject')
      return (await freshTokens(profile, subject)).accessToken
    },

    async getTokens(provider, subject) {
      const profile = profileOf(provider)
      checkSubject(subject, 'getTokens: subject')
      try {
        return await load(profile.id, subject)
      } catch (error) {
        if (error instanceof TokenUnavailableError) return null
        throw error
      }
    },

    async fetchWithToken(provider, subject, input, init) {
      const profile = profileOf(provider)
      checkSubject(subject, 'fetchWithToken: subject')
      const tokens = await freshTokens(profile, subject)
      let request: Request
      if (input instanceof Request) request = new Request(input, init)
      else {
        const base = profile.quirks.apiBaseUrl?.(tokens)
        let url: URL
        try {
          url = base === undefined ? new URL(input) : new URL(input, base)
        } catch {
          throw new TypeError(`fetchWithToken: "${String(input)}" is not an absolute URL${base === undefined ? '' : ` nor relative to ${base}`}`)
        }
        request = new Request(url, init)
      }
      // SECURITY: a bearer token goes only over https, and only where the profile allows.
      const origin = new URL(request.url).origin
      if (!isSafeEndpoint(request.url)) throw new TypeError(`fetchWithToken: refusing to send a token to ${origin} (https only, or http on loopback)`)
      if (profile.apiOrigins !== undefined && !profile.apiOrigins.includes(origin)) {
        throw new TypeError(`fetchWithToken: ${origin} is not in providers["${profile.id}"].apiOrigins`)
      }
      const spare = request.clone()
      // A DPoP request may be sent once more for a nonce (RFC 9449 §9), and then once more after a refresh.
      const spareForNonce = tokens.tokenType === 'DPoP' ? request.clone() : undefined
      let first = await sendWithToken(request, tokens)
      if (spareForNonce !== undefined) {
        if (dpop!.remember(request.url, first) && isResourceNonceChallenge(first)) {
          await first.body?.cancel().catch(() => undefined)
          first = await sendWithToken(spareForNonce, tokens)
        } else void spareForNonce.body?.cancel().catch(() => undefined)
      }
      const rejected = await (profile.quirks.isInvalidToken ?? (tokens.tokenType === 'DPoP' ? isDpopInvalidToken : isBearerInvalidToken))(first)
      if (!rejected) {
        void spare.body?.cancel().catch(() => undefined)
        return first
      }
      await first.body?.cancel().catch(() => undefined)
      // RFC 6750 §3.1 invalid_token: refresh (even if the token looked fresh) and retry once.
      const renewed = await refreshShared(profile, subject, tokens.accessToken)
      return sendWithToken(spare, renewed)
    },

    async userinfo(provider, subject) {
      const profile = profileOf(provider)
      checkSubject(subject, 'userinfo: subject')
      const meta = await metadata.get(profile)
      const endpoint = meta.userinfo_endpoint
      if (endpoint === undefined) throw new ProtocolError('invalid_metadata', `provider "${profile.id}" has no userinfo_endpoint`)
      let tokens = await freshTokens(profile, subject)
      const idTokenSub = tokens.claims?.sub
      if (typeof idTokenSub !== 'string') {
        throw new TypeError(`userinfo: the tokens of "${profile.id}" for this subject come without an ID token to check the answer against (OIDC Core §5.3.2); connect with the openid scope`)
      }
      const ask = async (set: TokenSet): Promise<Awaited<ReturnType<typeof requestUserinfo>>> => {
        const isInvalid = profile.quirks.isInvalidToken ?? (set.tokenType === 'DPoP' ? isDpopInvalidToken : isBearerInvalidToken)
        if (set.tokenType !== 'DPoP') return requestUserinfo(http, endpoint, async () => ({ authorization: `Bearer ${set.accessToken}` }), isInvalid)
        if (dpop === undefined) throw new TypeError('userinfo: the stored token is DPoP-bound, but this client has no dpop key (options.dpop)')
        const credentials = async () => ({ authorization: `DPoP ${set.accessToken}`, dpop: await dpop.proof('GET', endpoint, set.accessToken) })
        try {
          return await requestUserinfo(http, endpoint, credentials, isInvalid, (res) => void dpop.remember(endpoint, res))
        } catch (err) {
          // RFC 9449 §9: the server wants a nonce it has just sent; one retry with it.
          if (!(err instanceof ProviderError) || err.error !== 'use_dpop_nonce') throw err
          return requestUserinfo(http, endpoint, credentials, isInvalid, (res) => void dpop.remember(endpoint, res))
        }
      }
      let answer = await ask(tokens)
      if ('invalidToken' in answer) {
        // RFC 6750 §3.1 invalid_token: refresh (even if the token looked fresh) and ask once more.
        tokens = await refreshShared(profile, subject, tokens.accessToken)
        answer = await ask(tokens)
        if ('invalidToken' in answer) throw new ProviderError({ error: 'invalid_token', errorDescription: 'the userinfo endpoint refused a freshly refreshed access token', status: 401 })
      }
      checkUserinfoSubject(answer.claims, idTokenSub)
      return answer.claims
    },

    async disconnect(provider, subject) {
      const profile = profileOf(provider)
      checkSubject(subject, 'disconnect: subject')
      // Discovery happens before the lease, so the lease covers the revocation requests only.
      let endpoint: string | undefined
      let discoveryFailure: unknown
      try {
        endpoint = (await metadata.get(profile)).revocation_endpoint
      } catch (error) {
        discoveryFailure = error
      }
      const run = async (): Promise<{ revoked: boolean; error?: unknown }> => {
        let tokens: TokenSet | undefined
        try {
          tokens = await load(profile.id, subject)
        } catch (error) {
          if (!(error instanceof TokenUnavailableError)) throw error
        }
        let revoked = false
        let failure: unknown = tokens === undefined ? undefined : discoveryFailure
        if (tokens !== undefined && failure === undefined) {
          try {
            if (endpoint !== undefined) {
              // RFC 7009 §2.1: the refresh token first, which also ends its grant's access tokens; then the access token.
              const list: Array<[string | undefined, string]> = [[tokens.refreshToken, 'refresh_token'], [tokens.accessToken, 'access_token']]
              for (const [token, hint] of list) {
                if (token === undefined) continue
                const body = new URLSearchParams({ token, token_type_hint: hint })
                const headers: Record<string, string> = {}
                await applyClientAuth(profile, endpoint, body, headers, now(), random())
                await postForm(http, endpoint, body, headers, { bodyRequired: false })
              }
              revoked = true
            }
          } catch (error) {
            failure = error
          }
        }
        // Deleted whatever the provider said: the person asked to disconnect.
        await store.delete(profile.id, subject)
        return failure === undefined ? { revoked } : { revoked, error: failure }
      }
      // Under the lease, so that a refresh in flight cannot write the tokens back afterwards.
      return underLease(profile.id, subject, run, async () => ((await store.get(profile.id, subject)) === null ? { revoked: false } : undefined))
    },
  }
}
