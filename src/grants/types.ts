import type { ClientKeySet } from '../clients/keys.js'
import type { Client, ClientAuthMethod } from '../clients/metadata.js'
import type { GrantkitEventData } from '../events/events.js'
import type { FormParams } from '../http/form.js'
import type { GrantkitRequest } from '../http/types.js'
import type { AccessTokenRecord, RefreshTokenRecord, RotationOutcome, Storage } from '../storage/types.js'
import type { Scope } from '../tokens/scope.js'
import type { ActiveAccessToken, RefreshTokenInput, TokenIssue, TokenLifetimes } from '../tokens/types.js'
import type { AccessTokenTarget } from '../tokens/resource-indicators.js'
import type { TokenExchangePolicy } from './token-exchange.js'
import type { TrustRegistry } from '../trust/registry.js'
import type { UserAccount, UserSource } from '../users/user-source.js'

/** The successful token response of RFC 6749 §5.1 (and OIDC Core §3.1.3.3). */
export interface TokenResponseBody {
  access_token: string
  token_type: 'Bearer' | 'N_A' | string
  expires_in?: number
  scope?: string
  refresh_token?: string
  id_token?: string
  issued_token_type?: string
  [extension: string]: unknown
}

/** Issuing and checking this server's access tokens. */
export interface TokenIssuer {
  /**
   * Issues the access token (and an ID token when asked), builds the RFC 6749
   * §5.1 body and reports `token.issued`. The grant's client and type are the request's.
   */
  issue(issue: TokenIssue): Promise<TokenResponseBody>
  /**
   * Makes and signs the tokens of `issue` and builds the body, but stores
   * nothing: for a grant whose own one-time write must commit together with
   * the access token (a refresh rotation, through `refreshTokens.rotate`).
   */
  prepare(issue: TokenIssue): PreparedTokens
  /** The live access token this server issued for a token string, or null (RFC 8693 subject tokens, …). */
  validate(token: string): Promise<ActiveAccessToken | null>
}

/** Tokens made by `TokenIssuer.prepare`, not yet stored. */
export interface PreparedTokens {
  /** The record of an opaque access token, to store before responding; absent for a JWT access token, which is not stored. */
  readonly accessTokenRecord?: AccessTokenRecord & { tokenHash: string }
  /** Reports `token.issued` and returns the RFC 6749 §5.1 body. Call once, after the record is stored. */
  respond(): TokenResponseBody
}

/** This server's refresh-token rules: who gets one, how long it lives, that only its hash is stored. */
export interface RefreshTokenRules {
  /** Whether the request's client gets a refresh token for `scope` (OIDC Core §11 `offline_access`). */
  shouldIssue(scope: string | Scope): boolean
  /**
   * Creates and stores a refresh token for the request's client; returns the
   * token to hand out. A new chain ends `ttl.refreshTokenAbsolute` from now
   * unless `absoluteExpiresAt` continues an existing one.
   */
  issue(input: Omit<RefreshTokenInput, 'clientId' | 'absoluteExpiresAt'> & { absoluteExpiresAt?: number }): Promise<string>
  /** A refresh token and its record, not stored: for a rotation, whose compare-and-swap stores the successor. */
  create(input: Omit<RefreshTokenInput, 'clientId'>): { token: string; record: RefreshTokenRecord }
  /**
   * Rotates `presented` to `next` (compare-and-swap) and stores the access
   * token of `tokens` with it, in one atomic step where the store can
   * (`RefreshTokenStore.rotatesWithIssue`); otherwise the access token is
   * saved after the rotation, which is undone when that save fails. Either
   * way a thrown error means the presented token still works.
   */
  rotate(presented: RefreshTokenRecord, next: RefreshTokenRecord, tokens: PreparedTokens): Promise<RotationOutcome>
}

/**
 * Resource indicators (RFC 8707) for a grant: which resources a request names
 * and what an access token for them is.
 */
export interface ResourceRules {
  /**
   * The request's values of `name` (default `resource`; RFC 8693 `audience`
   * too), checked: absolute URIs without fragment naming registered resource
   * servers, repeats dropped. The grant must declare the parameter repeatable.
   *
   * @throws OAuthError `invalid_target`
   */
  requested(name?: string): readonly string[]
  /**
   * The access token for `resources` given the granted `scope`: `aud`, the
   * scopes every one of them lists, and their own format and lifetime. Spread
   * it into `tokens.issue`. With no resources, `{ scope }`.
   *
   * @throws OAuthError `invalid_target`, `invalid_scope`
   */
  target(resources: readonly string[], scope: Scope): AccessTokenTarget
}

/** The lifetimes and limits a grant checks against, in seconds, with every default applied. */
export interface GrantConfig {
  readonly issuer: string
  /** The token endpoint's URL: an assertion's `aud` may name it (RFC 7523 §3, RFC 7522 §3). */
  readonly tokenEndpoint: string
  readonly ttl: TokenLifetimes
  readonly clockSkew: number
  readonly maxAssertionLifetime: number
  /** Option `tokenExchange`: the policy hook of the token exchange grant (RFC 8693), if any. */
  readonly tokenExchange: { readonly policy: TokenExchangePolicy | undefined }
}

/**
 * What a grant handler gets: the request, its allow-listed parameters, the
 * authenticated client, and narrow capabilities to act with. Built-in grants
 * use nothing else.
 *
 * @example
 * async handle(ctx) {
 *   const scope = ctx.scopes.resolve(ctx.params.get('scope'))
 *   if (!(await ctx.once('my-grant', ctx.params.get('nonce')!, ctx.now() + 300))) throw new OAuthError('invalid_grant')
 *   return ctx.tokens.issue({ sub: ctx.client.id, scope: String(scope) })
 * }
 */
export interface GrantContext {
  readonly request: GrantkitRequest
  /** The `grant_type` of this request. */
  readonly grantType: string
  /** Only the parameters on the grant's allow-list, plus `grant_type`, `scope` and client authentication; one value each. */
  readonly params: FormParams
  /** Every value of an allow-listed parameter, for those the grant declared `repeatable` (RFC 8707 `resource`). */
  values(name: string): readonly string[]
  readonly client: Client
  readonly clientAuthMethod: ClientAuthMethod
  /**
   * The request's DPoP proof, checked (RFC 9449 §4.3): the thumbprint of its
   * key. Tokens issued through `tokens` and `refreshTokens` are bound to it
   * without the grant doing anything; undefined without a proof.
   */
  readonly dpop: { readonly jkt: string } | undefined
  /** Seconds since the epoch. */
  now(): number
  /** A fresh identifier (grant ids). */
  randomId(): string
  readonly config: GrantConfig
  readonly tokens: TokenIssuer
  readonly refreshTokens: RefreshTokenRules
  /** Resource indicators (RFC 8707): the resources a request names and the access token for them. */
  readonly resources: ResourceRules
  /** The scope rules of this server for the request's client. */
  readonly scopes: {
    /** The scope to grant: the request's, when the client and server allow every token; the client's default when absent (RFC 6749 §3.3). */
    resolve(requested: string | undefined): Scope
  }
  /**
   * One-time marks (JWT `jti`, SAML assertion IDs): true the first time `key`
   * is seen in `namespace` before `until` (seconds since the epoch), false
   * after. Atomic across processes sharing storage.
   */
  once(namespace: string, key: string, until: number): Promise<boolean>
  /**
   * Checks a username and password with the server's brute-force protection; undefined when they do not match or the name is locked.
   * Throws `OAuthError('temporarily_unavailable')` (503, `Retry-After`) when the bound on concurrent password checks refuses it.
   */
  login(username: string, password: string): Promise<UserAccount | undefined>
  /** People (for grants whose `requires` names `users`). */
  readonly users: UserSource | undefined
  /** Issuers whose assertions are accepted (RFC 7523, RFC 7522). */
  readonly trust: TrustRegistry
  /**
   * The request client's public keys, for what it signs itself: its inline
   * `jwks`, or its `jwks_uri` read through the server's guarded cache when a
   * key is asked for. Undefined when it registered neither.
   */
  clientKeys(): ClientKeySet | undefined
  /** The stores of the server: a grant uses those its one-time artefacts live in. */
  readonly storage: Storage
  /** Reports an event to the server's listeners, stamped with the time and this request's id. */
  readonly events: { emit(event: GrantkitEventData): void }
}

/** What a grant needs of the server besides storage: checked at construction against the clients registered for it. */
export type GrantPrerequisite =
  /** A user source that verifies passwords (the password grant). */
  | 'users'
  /** A way for a person to sign in: a user source for the built-in pages, or your own `interaction.url` (device flow). */
  | 'sign-in'

/**
 * A grant type at the token endpoint. Built-in grants and an embedder's own are
 * registered the same way: `grants: [...defaultGrants, myGrant]`.
 *
 * @example
 * const tokenExchange: GrantHandler = {
 *   grantType: 'urn:ietf:params:oauth:grant-type:token-exchange',
 *   parameters: ['subject_token', 'subject_token_type'],
 *   clientAuth: 'required',
 *   async handle(ctx) { return issueTokens(ctx, { sub: '…', scope: '' }) },
 * }
 */
export interface GrantHandler {
  /** The `grant_type` value: a name from RFC 6749 or an absolute URI (RFC 6749 §4.5). */
  readonly grantType: string
  /** Parameters this grant reads besides grant_type, scope and client authentication. Others are dropped. */
  readonly parameters: readonly string[]
  /**
   * `required`: only confidential clients (public ones get unauthorized_client).
   * `optional`: public clients may use it, identifying themselves with client_id.
   */
  readonly clientAuth: 'required' | 'optional'
  /** Parameters that may appear more than once (RFC 8707 `resource`, RFC 8693 `audience`); every other repeat is invalid_request (RFC 6749 §3.2). */
  readonly repeatable?: readonly string[]
  /** What the grant needs of the server; a client registered for it on a server without it is a TypeError at construction. */
  readonly requires?: readonly GrantPrerequisite[]
  /** Stores the grant uses, checked at construction like a feature's. */
  readonly stores?: readonly (keyof Storage)[]
  /** Checks the request and issues tokens, or throws an OAuthError. */
  handle(ctx: GrantContext): Promise<TokenResponseBody>
}
