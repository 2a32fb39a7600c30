/**
 * Storage is split into one small interface per artefact, so each grant depends
 * only on what it uses. Every one-time operation is a single method that the
 * implementation makes atomic: there is no "find, then mark used" pair for a
 * caller to race through. All times are seconds since the epoch.
 */

/** An access token as recorded for introspection and revocation. */
export interface AccessTokenRecord {
  /** Unique id; the `jti` of a JWT access token. */
  id: string
  /** SHA-256 of an opaque token (base64url). Absent for JWT tokens, which are not stored. */
  tokenHash?: string
  clientId: string
  /** Resource owner, or the client id for client_credentials. */
  sub: string
  /** Space-separated scope granted. */
  scope: string
  audience: string[]
  /** The authorization this token descends from, when revoking that must kill it. */
  grantId?: string
  issuedAt: number
  expiresAt: number
  /** Extra claims carried with the token (for example `auth_time`, `acr`). */
  claims?: Record<string, unknown>
  /** RFC 7638 thumbprint of the DPoP key the token is bound to (RFC 9449 §6.2 `cnf.jkt`); absent for a bearer token. */
  jkt?: string
}

/** Opaque access tokens by hash, and the revoked jtis of JWT access tokens. */
export interface AccessTokenStore {
  /** Records an opaque token. */
  save(record: AccessTokenRecord & { tokenHash: string }): Promise<void>
  /** The live (unexpired, unrevoked) record for a hash, or null. */
  find(tokenHash: string): Promise<AccessTokenRecord | null>
  /**
   * Optional: `find` and the latest live cutoff (TokenCutoffStore.latest) of
   * the record's three cutoff keys (`cutoffKeys` of `grantkit`: client,
   * consent, subject), read in one round trip. A storage with tokenCutoffs
   * should have it: without it, validation makes a second round trip for the
   * cutoff. `cutoff` must be as fresh as `latest` would read it: a cutoff set
   * at any process is in force at the next call.
   */
  findWithCutoff?(tokenHash: string): Promise<{ record: AccessTokenRecord; cutoff: number | null } | null>
  /** Revokes an opaque token. Unknown hashes are ignored. */
  revoke(tokenHash: string): Promise<void>
  /** Records a JWT access token's jti as revoked until it would have expired. */
  revokeJti(jti: string, expiresAt: number): Promise<void>
  isJtiRevoked(jti: string): Promise<boolean>
}

/** An authorization code (RFC 6749 §4.1.2), bound to everything it was issued for. */
export interface AuthorizationCodeRecord {
  codeHash: string
  clientId: string
  redirectUri: string
  /** Whether redirect_uri was present in the authorization request (RFC 6749 §4.1.3). */
  redirectUriSent: boolean
  scope: string
  sub: string
  grantId: string
  authTime: number
  codeChallenge?: string
  codeChallengeMethod?: 'S256' | 'plain'
  nonce?: string
  /** The browser session the code was issued through: the `sid` of its ID token (OIDC Back-Channel Logout §2.1). */
  sid?: string
  claims?: Record<string, unknown>
  /** The resources (RFC 8707 §2.1) the authorization request named; the token request may narrow them. */
  resource?: string[]
  /** RFC 9449 §10: the thumbprint of the DPoP key the code is bound to (`dpop_jkt`). */
  dpopJkt?: string
  issuedAt: number
  expiresAt: number
}

/** What consuming an authorization code found. */
export type CodeConsumption =
  | { outcome: 'consumed'; record: AuthorizationCodeRecord }
  /** Redeemed before: the caller revokes what the first redemption issued (RFC 6749 §4.1.2). */
  | { outcome: 'reused'; grantId: string }
  | { outcome: 'not_found' }

/** Authorization codes by hash; `consume` is the one-time, atomic redemption. */
export interface AuthorizationCodeStore {
  save(record: AuthorizationCodeRecord): Promise<void>
  /** Atomic remove-and-return: of concurrent callers exactly one gets 'consumed'. */
  consume(codeHash: string): Promise<CodeConsumption>
}

/** A refresh token (RFC 6749 §6), one link in its grant's rotation chain. */
export interface RefreshTokenRecord {
  tokenHash: string
  grantId: string
  clientId: string
  sub: string
  scope: string
  issuedAt: number
  expiresAt: number
  /** The grant's absolute end: rotation never extends past it. */
  absoluteExpiresAt: number
  authTime?: number
  /** The browser session it was issued through (OIDC Back-Channel Logout §2.1 `sid`), for the ID tokens it refreshes. */
  sid?: string
  claims?: Record<string, unknown>
  /** The resources (RFC 8707) the grant was authorized for: a refresh may name any of them, and no other. */
  resource?: string[]
  /** RFC 7638 thumbprint of the DPoP key a public client's refresh token is bound to (RFC 9449 §5). */
  jkt?: string
}

/** What a refresh-token rotation found: it won, the token was rotated before, or there is none. */
export type RotationOutcome = 'rotated' | 'reused' | 'not_found'

/** A refresh token as found: rotated-away tokens are still found, so that reuse can be detected (RFC 9700 §4.14.2). */
export interface RefreshTokenLookup {
  record: RefreshTokenRecord
  /** True once the token has been exchanged for its successor. */
  rotated: boolean
}

/**
 * What a refresh issues besides the successor, stored by `rotate` in the same
 * atomic step (one transaction, one script), so that a failure leaves nothing
 * half done.
 */
export interface RotationIssue {
  /** The opaque access token issued with the successor. Absent for JWT access tokens, which are not stored. */
  accessToken?: AccessTokenRecord & { tokenHash: string }
}

/** Refresh tokens by hash, with an atomic compare-and-swap rotation. */
export interface RefreshTokenStore {
  save(record: RefreshTokenRecord): Promise<void>
  /** The unexpired, unrevoked token for a hash, rotated or not; null when there is none. */
  find(tokenHash: string): Promise<RefreshTokenLookup | null>
  /**
   * Compare-and-swap: succeeds once per token; later calls say 'reused'. When
   * the store declares `rotatesWithIssue`, it also stores what `issue` holds, in
   * the same atomic step, and only when the outcome is 'rotated'.
   */
  rotate(oldHash: string, next: RefreshTokenRecord, issue?: RotationIssue): Promise<RotationOutcome>
  /**
   * True when `rotate` stores its third argument with the rotation, atomically.
   * A store without it is given two arguments, and grantkit saves the access
   * token afterwards, undoing the rotation (best effort) when that save fails.
   */
  readonly rotatesWithIssue?: boolean
  /** Revokes one token. */
  revoke(tokenHash: string): Promise<void>
}

/** Revoked authorizations: every token carrying a revoked grantId is dead. */
export interface GrantStore {
  /** Marks a grant revoked until `until` (the latest any of its tokens could expire). */
  revoke(grantId: string, until: number): Promise<void>
  isRevoked(grantId: string): Promise<boolean>
}

/** One-time identifiers: JWT `jti`s, SAML assertion IDs. */
export interface ReplayStore {
  /** Set-if-absent. True the first time a key is seen before it expires; false after. */
  markUsed(key: string, expiresAt: number): Promise<boolean>
}

/**
 * A validated authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1), kept
 * while a person signs in and consents.
 */
export interface AuthorizationRequest {
  clientId: string
  redirectUri: string
  /** Whether redirect_uri was in the request, which decides whether the token request must repeat it (RFC 6749 §4.1.3). */
  redirectUriSent: boolean
  responseType: string
  responseMode: 'query' | 'fragment'
  scope: string
  state?: string
  nonce?: string
  codeChallenge?: string
  codeChallengeMethod?: 'S256' | 'plain'
  /** OIDC `prompt` values. */
  prompt: string[]
  /** OIDC `max_age`, seconds. */
  maxAge?: number
  loginHint?: string
  /** OIDC `ui_locales`: well-formed language tags, most preferred first, for the pages a person sees. */
  uiLocales?: string[]
  /** RFC 8707 §2.1 `resource` values, each a registered resource server. */
  resource?: string[]
  /** RFC 9449 §10 `dpop_jkt`: the code may be redeemed only with a DPoP proof by this key. */
  dpopJkt?: string
}

/** A login or consent step in progress. */
export interface InteractionRecord {
  uid: string
  request: AuthorizationRequest
  /** SHA-256 of the cookie that binds the interaction to the browser that started it. */
  browserHash: string
  /** Anti-CSRF value for forms of this interaction. */
  csrf: string
  /** Set when the interaction approves a device (RFC 8628 §3.3) rather than answering a redirect. */
  device?: { userCodeHash: string }
  /** Who is signed in: from the browser session when the interaction starts, or from the login step. */
  login?: {
    sub: string
    authTime: number
    fresh: boolean
    /** The browser session signed in to, by hash of its secret: where the client is recorded when the interaction completes. */
    session?: string
  }
  expiresAt: number
}

/** Login/consent steps in progress, by uid; `consume` finishes one exactly once. */
export interface InteractionStore {
  save(record: InteractionRecord): Promise<void>
  find(uid: string): Promise<InteractionRecord | null>
  /** Atomic remove-and-return, so an interaction finishes once. */
  consume(uid: string): Promise<InteractionRecord | null>
}

/** A browser session (single sign-on). The cookie holds a secret; only its hash is stored. */
export interface SessionRecord {
  idHash: string
  sub: string
  authTime: number
  expiresAt: number
  /**
   * The session's public identifier: the `sid` claim of ID tokens and logout
   * tokens (OIDC Back-Channel Logout §2.1), and the id of `server.sessions`.
   * Random, unrelated to the cookie secret. Absent in records written before
   * grantkit 0.2; such a session is given one the next time it is read.
   */
  sid?: string
  /** Clients that received a code or tokens through this session, to be told when it ends. */
  clients?: string[]
}

/**
 * Browser sessions by hash of the cookie secret. The optional methods serve
 * logout and `server.sessions`; the built-in backends have them all. A backend
 * without them still serves single sign-on, but `server.sessions` names the
 * missing method, and without `addClient` the clients of a session are
 * recorded by `find` then `save` (two authorizations at the same instant may
 * then lose one, which would not be told of the logout).
 */
export interface SessionStore {
  /** Saves or replaces the session under `idHash`, with its sid and clients. */
  save(record: SessionRecord): Promise<void>
  find(idHash: string): Promise<SessionRecord | null>
  delete(idHash: string): Promise<void>
  /** Atomic: adds `clientId` to the live session's `clients` unless already there. Unknown or expired sessions are ignored. */
  addClient?(idHash: string, clientId: string): Promise<void>
  /** Every live session of a person, in no particular order. */
  listBySub?(sub: string): Promise<SessionRecord[]>
  /** The live session with this `sid`, or null. */
  findBySid?(sid: string): Promise<SessionRecord | null>
}

/** Scopes a person granted a client, remembered so that consent is asked again only for more. */
export interface ConsentStore {
  find(sub: string, clientId: string): Promise<string | null>
  save(sub: string, clientId: string, scope: string, expiresAt: number): Promise<void>
  revoke(sub: string, clientId: string): Promise<void>
  /**
   * Every live consent of a person, in no particular order: for the admin API
   * and `grantkit grants list`. Optional; the built-in backends have it.
   */
  listBySub?(sub: string): Promise<ConsentRecord[]>
}

/** One remembered consent, as `ConsentStore.listBySub` returns it. */
export interface ConsentRecord {
  clientId: string
  /** Space-separated scope granted. */
  scope: string
  expiresAt: number
}

/** Counters in fixed windows, for throttling (password failures, device code guesses). */
export interface RateLimitStore {
  /** Adds one to a counter that resets at `windowEndsAt`; returns the new count. Atomic. */
  increment(key: string, windowEndsAt: number): Promise<number>
  reset(key: string): Promise<void>
}

/** A device authorization (RFC 8628 §3.2) and where it stands. */
export interface DeviceCodeRecord {
  deviceCodeHash: string
  /** SHA-256 of the normalized user code (upper case, no dash). */
  userCodeHash: string
  clientId: string
  scope: string
  /** Seconds the device must wait between polls; grows by 5 on each slow_down (RFC 8628 §3.5). */
  interval: number
  issuedAt: number
  expiresAt: number
  status: 'pending' | 'approved' | 'denied' | 'consumed'
  lastPolledAt?: number
  /** Set on approval. */
  sub?: string
  authTime?: number
  /** The scope the person granted (may be narrower). */
  grantedScope?: string
}

/** A person's answer to a device authorization. */
export type DeviceDecision = { status: 'approved'; sub: string; authTime: number; scope: string } | { status: 'denied' }

/** Device authorizations (RFC 8628) and their atomic poll and decision steps. */
export interface DeviceCodeStore {
  /** Keeps the record at least until `expiresAt`, so a late poll can be told expired_token. */
  save(record: DeviceCodeRecord): Promise<void>
  /** A pending, unexpired authorization by user code hash, or null. */
  findByUserCode(userCodeHash: string): Promise<DeviceCodeRecord | null>
  /** Atomic: pending → approved or denied. False when it was no longer pending (or expired). */
  decide(userCodeHash: string, decision: DeviceDecision): Promise<boolean>
  /**
   * One poll, atomically: records `now` as the last poll and, when approved,
   * marks it consumed, so exactly one poll collects the tokens. Returns the
   * record as it was before this poll, or null when there is none for this client.
   */
  poll(deviceCodeHash: string, clientId: string, now: number): Promise<DeviceCodeRecord | null>
  /** Sets a longer polling interval after a slow_down. */
  slowDown(deviceCodeHash: string, interval: number): Promise<void>
}

/** A signing key as shared between processes, with its place in the rotation schedule. */
export interface SigningKeyRecord {
  kid: string
  /** The private key set, sealed by the shared key store with its key-encryption key (never plain JSON in 0.2). */
  privateJwk: string
  /** Seconds since the epoch: from then on the key signs. */
  activeFrom: number
  retiredAt?: number
  publishedUntil?: number
  createdAt: number
}

/** Where processes that act as one server share their signing keys. */
export interface KeyStorage {
  /** Every key still published, oldest first. */
  list(): Promise<SigningKeyRecord[]>
  /**
   * Atomic: stores `record` only when the store holds no key at all, so that
   * processes starting together agree on one first key. Returns the keys after.
   */
  initialize(record: SigningKeyRecord): Promise<SigningKeyRecord[]>
  /** Adds a key (a rotation) and sets the retirement of the keys it replaces, in one step. */
  rotate(record: SigningKeyRecord, retire: { retiredAt: number; publishedUntil: number }): Promise<void>
  /**
   * Compare-and-swap of one record's `privateJwk`: replaced only while it still
   * equals `from`; false otherwise. Used by `grantkit keys seal` to seal the
   * records of an existing deployment. Optional: a storage without it cannot
   * be sealed in place.
   */
  replace?(kid: string, from: string, to: string): Promise<boolean>
}

/**
 * A client kept in storage (beside the static list of the configuration):
 * its RFC 7591 metadata, and the hashes of the secrets that authenticate it.
 * Secrets themselves are never stored.
 */
export interface StoredClientRecord {
  clientId: string
  /** RFC 7591 §2 metadata as registered, without `client_secret` and `client_secret_hash` (the hashes are below). */
  metadata: Record<string, unknown>
  /** The current secret: `sha256:` and the base64url SHA-256 of it. Absent for clients without one. */
  secretHash?: string
  /** Seconds since the epoch at which the current secret stops working; 0 means never (RFC 7591 §3.2.1). */
  secretExpiresAt: number
  /** The secret replaced by the last rotation, which keeps working until `previousSecretValidUntil`. */
  previousSecretHash?: string
  /** Seconds since the epoch at which the previous secret stops working. */
  previousSecretValidUntil?: number
  /**
   * The registration access token of a client registered dynamically (RFC 7592 §3):
   * `sha256:` and the base64url SHA-256 of it. Absent for clients made otherwise,
   * which RFC 7592 management cannot reach.
   */
  registrationTokenHash?: string
  /** Seconds since the epoch at which the registration access token stops working; absent: never. */
  registrationTokenExpiresAt?: number
  /** Seconds since the epoch: registration (RFC 7591 `client_id_issued_at`). */
  createdAt: number
  /** Seconds since the epoch of the last change. */
  updatedAt: number
  /** 1 at creation, one more at each change: what `update` compares and swaps. */
  version: number
}

/**
 * Clients kept in storage. Every write is atomic; `update` is a
 * compare-and-swap on `version`, so two processes changing one client at once
 * cannot both win and lose the other's change.
 */
export interface ClientStore {
  /** Stores a new client. Atomic: false, and nothing written, when the id exists. */
  create(record: StoredClientRecord): Promise<boolean>
  /** The client, or null. */
  get(clientId: string): Promise<StoredClientRecord | null>
  /**
   * Replaces the client only while its stored version is `expectedVersion`
   * (`record.version` is the new one). False, and nothing written, otherwise,
   * also when the client is gone.
   */
  update(record: StoredClientRecord, expectedVersion: number): Promise<boolean>
  /** Deletes the client. True when it existed. */
  delete(clientId: string): Promise<boolean>
  /**
   * One page of clients in ascending order of `clientId` (code-point order),
   * those after `after` (exclusive), at most `limit`.
   */
  list(page: { after?: string; limit: number }): Promise<StoredClientRecord[]>
}

/**
 * Revocation by cutoff, for what cannot be enumerated: "every token of client
 * X issued at or before T is dead" (`client:X`), or of person S at client X
 * (`consent:…`). Token validation, introspection, refresh and code
 * redemption consult it whenever the storage has it.
 */
export interface TokenCutoffStore {
  /** Records cutoff `at` for `key`, kept until `until`; a later cutoff already stored for the key wins. */
  set(key: string, at: number, until: number): Promise<void>
  /** The latest live cutoff among `keys`, or null when none is set. One round trip. */
  latest(keys: readonly string[]): Promise<number | null>
}

/** The store of revocation cutoffs (admin API: revoke every token of a client, or of a person's consent). */
export interface TokenCutoffStores {
  tokenCutoffs: TokenCutoffStore
}

/**
 * One `admin.audit` event as kept by an `AuditEventStore`: who changed what,
 * and whether it worked. Never a secret, token or code.
 */
export interface AuditEventRecord {
  type: 'admin.audit'
  actor: { sub: string; clientId: string } | { cli: string }
  action: string
  target: Record<string, string>
  outcome: 'success' | 'failure'
  error?: string
  /** Milliseconds since the epoch. */
  timestamp: number
  requestId: string | undefined
}

/**
 * Recent audit events, shared by the processes of one server and kept across
 * restarts, for the admin console's audit page. Bounded: old events go (by
 * age, or by count in a capped list).
 */
export interface AuditEventStore {
  /** Appends an event, kept at least until `keepUntil` (seconds since the epoch) unless the store's cap removes it first. */
  append(event: AuditEventRecord, keepUntil: number): Promise<void>
  /** The newest events first, at most `limit`. */
  recent(limit: number): Promise<AuditEventRecord[]>
}

/** The store of audit events (admin console). */
export interface AuditEventStores {
  auditEvents: AuditEventStore
}

/**
 * The stores every server needs, whatever features it enables: issuing,
 * introspecting and revoking tokens, refresh rotation, and one-time marks.
 */
export interface CoreStores {
  accessTokens: AccessTokenStore
  refreshTokens: RefreshTokenStore
  grants: GrantStore
  replay: ReplayStore
}

/**
 * The stores of interactive authorization (the authorization endpoint, login,
 * consent, single sign-on). A backend for machine-to-machine use only may leave
 * them out while it serves no authorization endpoint.
 */
export interface InteractiveStores {
  authorizationCodes: AuthorizationCodeStore
  interactions: InteractionStore
  sessions: SessionStore
  consents: ConsentStore
}

/** The stores of throttling (password failures, device code guesses). */
export interface ThrottlingStores {
  rateLimits: RateLimitStore
}

/** The stores of the device authorization grant (RFC 8628). */
export interface DeviceFlowStores {
  deviceCodes: DeviceCodeStore
}

/** The stores of signing keys shared by several processes acting as one server. */
export interface SharedKeyStores {
  keys: KeyStorage
}

/**
 * A pushed authorization request (RFC 9126 §2): the parameters the client
 * pushed, checked as the authorization endpoint would, kept until the
 * `request_uri` that names them is used once or expires.
 */
export interface PushedAuthorizationRequestRecord {
  /** SHA-256 (base64url) of the whole `request_uri`; the value itself is never stored. */
  requestUriHash: string
  /** The client that pushed it, authenticated at the PAR endpoint; only it may use the request_uri (RFC 9126 §4). */
  clientId: string
  /**
   * The authorization request parameters, in order, as name and value: the
   * claims of a signed request object when one was pushed (RFC 9101 §6.3), else
   * the form's parameters without those of client authentication.
   */
  parameters: Array<[string, string]>
  /** True when the parameters came from a signed request object (RFC 9101), for `require_signed_request_object`. */
  signed: boolean
  /** Seconds since the epoch; the request_uri is dead from then on. */
  expiresAt: number
}

/** Pushed authorization requests by the hash of their `request_uri`; `consume` is the one-time, atomic use. */
export interface PushedAuthorizationRequestStore {
  save(record: PushedAuthorizationRequestRecord): Promise<void>
  /** Atomic remove-and-return of a live record: of concurrent callers exactly one gets it, the rest null. */
  consume(requestUriHash: string): Promise<PushedAuthorizationRequestRecord | null>
}

/** The store of pushed authorization requests (RFC 9126). */
export interface PushedAuthorizationStores {
  pushedAuthorizationRequests: PushedAuthorizationRequestStore
}

/** The store of clients kept in storage beside the static list (`server.clients`). */
export interface StoredClientStores {
  clients: ClientStore
}

/**
 * Every store the core uses, grouped by the feature that needs it. Stores of a
 * feature that a server may leave off are optional: a backend without them
 * type-checks and works while that feature is off, and a store added for a
 * new feature later comes as a new optional group, so existing backends keep
 * compiling. `FEATURE_STORES` says which stores each feature needs; the core
 * reaches an optional store through `requireStore`, which names what is
 * missing.
 *
 * The interactive and throttling groups are still required (the core serves the
 * authorization endpoint and throttles logins unconditionally today).
 */
export interface Storage extends CoreStores, InteractiveStores, ThrottlingStores, Partial<DeviceFlowStores>, Partial<SharedKeyStores>, Partial<StoredClientStores>, Partial<TokenCutoffStores>, Partial<PushedAuthorizationStores>, Partial<AuditEventStores> {
  /**
   * A cheap check that the storage can serve now: reachable, and its schema
   * as recent as this grantkit needs. Throws `StorageUnavailableError`, or
   * `StorageNotMigratedError` when a migration was not run. What
   * `checkHealth` calls. Optional: without it, the health check looks up one
   * access token that does not exist.
   */
  probe?(): Promise<void>
}
