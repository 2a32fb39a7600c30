import type { AuthenticatedClient } from '../clients/authenticate.js'
import { clientVerificationKeys, type ClientKeySet } from '../clients/keys.js'
import type { Client } from '../clients/metadata.js'
import type { ServerContext } from '../context.js'
import type { FormParams, FormValues } from '../http/form.js'
import type { GrantkitRequest } from '../http/types.js'
import { issueTokenSet, prepareTokenSet } from '../tokens/issue.js'
import { createRefreshToken, rotateRefreshToken, shouldIssueRefreshToken } from '../tokens/refresh-token.js'
import { resolveScope, Scope } from '../tokens/scope.js'
import { validateAccessToken } from '../tokens/validate.js'
import { OAuthError } from '../errors.js'
import { BUSY_RETRY_AFTER, loginWithPassword } from '../users/login.js'
import type { RefreshTokenRecord, RotationOutcome, Storage } from '../storage/types.js'
import type { ActiveAccessToken, RefreshTokenInput, TokenIssue } from '../tokens/types.js'
import type { TrustRegistry } from '../trust/registry.js'
import type { UserAccount, UserSource } from '../users/user-source.js'
import { accessTokenTarget, checkRequestedResources, type AccessTokenTarget } from '../tokens/resource-indicators.js'
import type { GrantConfig, GrantContext, PreparedTokens, RefreshTokenRules, ResourceRules, TokenIssuer, TokenResponseBody } from './types.js'

/** The request-specific part of a grant's context. */
export interface GrantRequest {
  request: GrantkitRequest
  grantType: string
  params: FormParams
  values: FormValues
  client: Client
  clientAuthMethod: AuthenticatedClient['method']
  /** The checked DPoP proof's key thumbprint (RFC 9449 §5). */
  dpop?: { readonly jkt: string }
}

const NONE: readonly string[] = Object.freeze([])

/**
 * Builds, once per server, what every grant request shares, and returns the
 * function that makes one request's `GrantContext`. The capabilities are
 * prototype methods bound to the server here, not closures made per request:
 * a request allocates its context and, when a grant asks for them, one small
 * object per capability group.
 */
export function grantContextFactory(server: ServerContext): (r: GrantRequest) => GrantContext {
  const config: GrantConfig = {
    issuer: server.issuer,
    get tokenEndpoint() {
      return server.endpoints.token
    },
    ttl: server.ttl,
    clockSkew: server.clockSkew,
    maxAssertionLifetime: server.maxAssertionLifetime,
    tokenExchange: server.tokenExchange,
  }
  const shared: SharedCapabilities = { server, config }
  return (r) => new RequestGrantContext(shared, r)
}

interface SharedCapabilities {
  readonly server: ServerContext
  readonly config: GrantConfig
}

class RequestGrantContext implements GrantContext {
  readonly request: GrantkitRequest
  readonly grantType: string
  readonly params: FormParams
  readonly client: Client
  readonly clientAuthMethod: AuthenticatedClient['method']
  readonly dpop: { readonly jkt: string } | undefined
  readonly config: GrantConfig
  // Private to this module: grants get the capabilities, never the context.
  readonly #server: ServerContext
  private readonly allValues: FormValues
  private tokenIssuer: RequestTokens | undefined
  private refreshRules: RequestRefreshTokens | undefined
  private scopePolicy: RequestScopes | undefined
  private resourceRules: RequestResources | undefined

  constructor(shared: SharedCapabilities, r: GrantRequest) {
    this.#server = shared.server
    this.config = shared.config
    this.request = r.request
    this.grantType = r.grantType
    this.params = r.params
    this.allValues = r.values
    this.client = r.client
    this.clientAuthMethod = r.clientAuthMethod
    this.dpop = r.dpop
    this.now = shared.server.now
    this.randomId = shared.server.randomId
  }

  /** Seconds since the epoch; the server's own function, so it works detached too. */
  readonly now: () => number
  readonly randomId: () => string

  values(name: string): readonly string[] {
    return this.params.has(name) ? (this.allValues.get(name)?.filter((v) => v !== '') ?? NONE) : NONE
  }
  get tokens(): RequestTokens {
    return (this.tokenIssuer ??= new RequestTokens(this.#server, this))
  }
  get refreshTokens(): RequestRefreshTokens {
    return (this.refreshRules ??= new RequestRefreshTokens(this.#server, this))
  }
  get scopes(): RequestScopes {
    return (this.scopePolicy ??= new RequestScopes(this.#server, this))
  }
  get resources(): RequestResources {
    return (this.resourceRules ??= new RequestResources(this.#server, this))
  }
  once(namespace: string, key: string, until: number): Promise<boolean> {
    // A namespace without ":" keeps "a:b" + "c" apart from "a" + "b:c".
    if (namespace.includes(':')) throw new TypeError(`once: namespace "${namespace}" must not contain ":"`)
    return this.#server.storage.replay.markUsed(`${namespace}:${key}`, until)
  }
  async login(username: string, password: string): Promise<UserAccount | undefined> {
    // No browser here, so no known-device cookie (RFC 6749 §4.3): per account and per address only.
    const result = await loginWithPassword(this.#server, username, password, this.client.id, { remoteAddress: this.request.remoteAddress, requestId: this.request.requestId })
    // RFC 6749 §5.2 has no code for an overloaded server; temporarily_unavailable (§4.1.2.1) with 503 and
    // Retry-After (RFC 9110 §15.6.4, §10.2.3) is what clients already handle: try again shortly.
    if ('failure' in result && result.failure === 'busy') {
      throw new OAuthError('temporarily_unavailable', { detail: 'too many password checks at once', headers: { 'retry-after': BUSY_RETRY_AFTER } })
    }
    return 'account' in result ? result.account : undefined
  }
  get users(): UserSource | undefined {
    return this.#server.users
  }
  get trust(): TrustRegistry {
    return this.#server.trust
  }
  clientKeys(): ClientKeySet | undefined {
    return clientVerificationKeys(this.#server, this.client)
  }
  get storage(): Storage {
    return this.#server.storage
  }
  get events(): GrantContext['events'] {
    const hub = this.#server.events
    const requestId = this.request.requestId
    return { emit: (event) => hub.emit(event, requestId) }
  }
}

class RequestTokens implements TokenIssuer {
  constructor(
    private readonly server: ServerContext,
    private readonly c: RequestGrantContext,
  ) {}
  issue(issue: TokenIssue): Promise<TokenResponseBody> {
    return issueTokenSet(this.server, this.c.client, this.c.grantType, bind(issue, this.c.dpop), this.c.request.requestId)
  }
  prepare(issue: TokenIssue): PreparedTokens {
    return prepareTokenSet(this.server, this.c.client, this.c.grantType, bind(issue, this.c.dpop), this.c.request.requestId)
  }
  validate(token: string): Promise<ActiveAccessToken | null> {
    return validateAccessToken(this.server, token)
  }
}

class RequestRefreshTokens implements RefreshTokenRules {
  constructor(
    private readonly server: ServerContext,
    private readonly c: RequestGrantContext,
  ) {}
  shouldIssue(scope: string | Scope): boolean {
    return shouldIssueRefreshToken(this.c.client, String(scope))
  }
  async issue(input: Parameters<RefreshTokenRules['issue']>[0]): Promise<string> {
    const { server } = this
    const { client } = this.c
    const absoluteExpiresAt = input.absoluteExpiresAt ?? Math.floor(server.now()) + server.ttl.refreshTokenAbsolute
    const created = createRefreshToken(server, bindRefresh({ ...input, clientId: client.id, absoluteExpiresAt }, client, this.c.dpop))
    await server.storage.refreshTokens.save(created.record)
    return created.token
  }
  create(input: Parameters<RefreshTokenRules['create']>[0]): ReturnType<RefreshTokenRules['create']> {
    return createRefreshToken(this.server, bindRefresh({ ...input, clientId: this.c.client.id }, this.c.client, this.c.dpop))
  }
  rotate(presented: RefreshTokenRecord, next: RefreshTokenRecord, tokens: PreparedTokens): Promise<RotationOutcome> {
    return rotateRefreshToken(this.server.storage, presented, next, tokens.accessTokenRecord)
  }
}

/** RFC 9449 §5: with a proof, the access token is bound to its key. */
function bind(issue: TokenIssue, dpop: { readonly jkt: string } | undefined): TokenIssue {
  return dpop === undefined || issue.jkt !== undefined ? issue : { ...issue, jkt: dpop.jkt }
}

/**
 * RFC 9449 §5: a public client's refresh token is bound to the proof's key; a
 * confidential client's is not, since client authentication already
 * constrains it to its holder.
 */
function bindRefresh(input: RefreshTokenInput, client: Client, dpop: { readonly jkt: string } | undefined): RefreshTokenInput {
  return dpop === undefined || !client.isPublic ? input : { ...input, jkt: dpop.jkt }
}

class RequestScopes {
  constructor(
    private readonly server: ServerContext,
    private readonly c: RequestGrantContext,
  ) {}
  resolve(requested: string | undefined): Scope {
    return Scope.parse(resolveScope(this.server.scopes, this.c.client, requested))
  }
}

class RequestResources implements ResourceRules {
  constructor(
    private readonly server: ServerContext,
    private readonly c: RequestGrantContext,
  ) {}
  requested(name = 'resource'): readonly string[] {
    return checkRequestedResources(this.server.resourceServers, this.c.values(name), name)
  }
  target(resources: readonly string[], scope: Scope): AccessTokenTarget {
    return accessTokenTarget(this.server.resourceServers, resources, scope, this.server.accessTokenFormat)
  }
}
