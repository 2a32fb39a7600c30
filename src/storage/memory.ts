import type {
  AuditEventRecord,
  AuditEventStore,
  AuditEventStores,
  AccessTokenRecord,
  AccessTokenStore,
  AuthorizationCodeRecord,
  AuthorizationCodeStore,
  CodeConsumption,
  ConsentStore,
  ConsentRecord,
  TokenCutoffStore,
  TokenCutoffStores,
  DeviceCodeRecord,
  DeviceCodeStore,
  DeviceDecision,
  DeviceFlowStores,
  GrantStore,
  InteractionRecord,
  InteractionStore,
  RateLimitStore,
  RefreshTokenLookup,
  RefreshTokenRecord,
  RefreshTokenStore,
  ReplayStore,
  RotationIssue,
  RotationOutcome,
  SessionRecord,
  SessionStore,
  PushedAuthorizationRequestRecord,
  PushedAuthorizationRequestStore,
  PushedAuthorizationStores,
  Storage,
  StoredClientStores,
} from './types.js'
import { consentKey } from './codec.js'
import { AUDIT_EVENT_CAP, deviceCodeKeepUntil, isLive } from './policy.js'
import { MemoryClients } from './memory-clients.js'
import { ExpiringMap, RecordBudget } from './memory-expiring.js'

/*
 * JavaScript runs each of these methods to completion between awaits, so a
 * method that reads and writes with no await in between is atomic in one
 * process: that is what makes consume/rotate/markUsed safe here.
 */

/**
 * What memory storage keeps of an opaque access token: fixed fields (one
 * hidden class), the hash as the map key rather than a field, and scope and
 * audience shared between the tokens that have the same.
 */
class StoredAccessToken {
  constructor(
    readonly id: string,
    readonly clientId: string,
    readonly sub: string,
    readonly scope: string,
    readonly audience: readonly string[],
    readonly grantId: string | undefined,
    readonly claims: Record<string, unknown> | undefined,
    readonly issuedAt: number,
    /** RFC 9449 §6.2: the DPoP key thumbprint of a bound token. */
    readonly jkt: string | undefined,
  ) {}
}

/**
 * Shares equal strings and audience lists between records, so that a million
 * tokens of one client and scope hold one copy (and not a slice of each
 * request's body). Bounded: past `limit` distinct values, values are kept as
 * given.
 */
class Interner {
  private readonly strings = new Map<string, string>()
  /** One-value lists by their value; longer ones by their JSON, an encoding no two lists share. */
  private readonly singles = new Map<string, readonly string[]>()
  private readonly lists = new Map<string, readonly string[]>()
  constructor(private readonly limit = 4096) {}
  string(value: string): string {
    const known = this.strings.get(value)
    if (known !== undefined) return known
    if (this.strings.size >= this.limit) return value
    // A flat copy: the value may be a slice that holds a whole request body.
    const flat = Buffer.from(value, 'utf8').toString('utf8')
    this.strings.set(flat, flat)
    return flat
  }
  list(values: readonly string[]): readonly string[] {
    // SECURITY: the key must never let two different audiences meet (["a\u0000b"] and ["a", "b"]).
    const table = values.length === 1 ? this.singles : this.lists
    const key = values.length === 1 ? values[0]! : JSON.stringify(values)
    const known = table.get(key)
    if (known !== undefined) return known
    const list = Object.freeze(values.map((v) => this.string(v)))
    if (table.size < this.limit) table.set(key, list)
    return list
  }
}

class MemoryAccessTokens implements AccessTokenStore {
  private readonly tokens: ExpiringMap<StoredAccessToken>
  private readonly revokedJtis: ExpiringMap<true>
  private readonly shared = new Interner()
  constructor(now: () => number, budget: RecordBudget | undefined) {
    this.tokens = new ExpiringMap(now, budget, 'evictable')
    this.revokedJtis = new ExpiringMap(now, budget, 'always')
  }
  async save(record: AccessTokenRecord & { tokenHash: string }): Promise<void> {
    this.put(record)
  }
  /** The synchronous save, for a refresh rotation to store its access token in the same step. */
  put(record: AccessTokenRecord & { tokenHash: string }): void {
    const shared = this.shared
    const stored = new StoredAccessToken(
      record.id,
      shared.string(record.clientId),
      record.sub === record.clientId ? shared.string(record.sub) : record.sub,
      shared.string(record.scope),
      shared.list(record.audience),
      record.grantId,
      record.claims,
      record.issuedAt,
      record.jkt,
    )
    this.tokens.set(record.tokenHash, stored, record.expiresAt)
  }
  async find(tokenHash: string): Promise<AccessTokenRecord | null> {
    const t = this.tokens.get(tokenHash)
    if (t === undefined) return null
    const record: AccessTokenRecord = { id: t.id, tokenHash, clientId: t.clientId, sub: t.sub, scope: t.scope, audience: [...t.audience], issuedAt: t.issuedAt, expiresAt: this.tokens.expiresAt(tokenHash) }
    if (t.grantId !== undefined) record.grantId = t.grantId
    if (t.claims !== undefined) record.claims = t.claims
    if (t.jkt !== undefined) record.jkt = t.jkt
    return record
  }
  async revoke(tokenHash: string): Promise<void> {
    this.tokens.delete(tokenHash)
  }
  async revokeJti(jti: string, expiresAt: number): Promise<void> {
    this.revokedJtis.setAtLeast(jti, true, expiresAt)
  }
  async isJtiRevoked(jti: string): Promise<boolean> {
    return this.revokedJtis.get(jti) === true
  }
}

class MemoryAuthorizationCodes implements AuthorizationCodeStore {
  /** A consumed code is kept (never evicted) until it would have expired, to detect a replay. */
  private readonly codes: ExpiringMap<AuthorizationCodeRecord>
  constructor(now: () => number, budget: RecordBudget | undefined) {
    this.codes = new ExpiringMap(now, budget, 'evictable')
  }
  async save(record: AuthorizationCodeRecord): Promise<void> {
    this.codes.set(record.codeHash, record, record.expiresAt)
  }
  async consume(codeHash: string): Promise<CodeConsumption> {
    const record = this.codes.get(codeHash)
    if (record === undefined) return { outcome: 'not_found' }
    if (this.codes.isKept(codeHash)) return { outcome: 'reused', grantId: record.grantId }
    // The tombstone stays until the code would have expired, to detect a replay.
    this.codes.keep(codeHash, true)
    return { outcome: 'consumed', record }
  }
}

class MemoryRefreshTokens implements RefreshTokenStore {
  readonly rotatesWithIssue = true
  /** A rotated token is kept (never evicted) until it expires, so that its reuse is detected. */
  private readonly tokens: ExpiringMap<RefreshTokenRecord>
  constructor(
    now: () => number,
    private readonly accessTokens: MemoryAccessTokens,
    private readonly budget: RecordBudget | undefined,
  ) {
    this.tokens = new ExpiringMap(now, budget, 'evictable')
  }
  async save(record: RefreshTokenRecord): Promise<void> {
    this.tokens.set(record.tokenHash, record, record.expiresAt)
  }
  async find(tokenHash: string): Promise<RefreshTokenLookup | null> {
    const record = this.tokens.get(tokenHash)
    return record === undefined ? null : { record, rotated: this.tokens.isKept(tokenHash) }
  }
  async rotate(oldHash: string, next: RefreshTokenRecord, issue?: RotationIssue): Promise<RotationOutcome> {
    if (this.tokens.get(oldHash) === undefined) return 'not_found'
    if (this.tokens.isKept(oldHash)) return 'reused'
    // No await from here on: the rotation and what it issues happen in one step.
    // Marked rotated first, so that making room cannot evict the old token itself.
    this.tokens.keep(oldHash, true)
    try {
      this.budget?.reserve(issue?.accessToken !== undefined ? 2 : 1)
    } catch (err) {
      this.tokens.keep(oldHash, false)
      throw err
    }
    if (issue?.accessToken !== undefined) this.accessTokens.put(issue.accessToken)
    this.tokens.set(next.tokenHash, next, next.expiresAt)
    return 'rotated'
  }
  async revoke(tokenHash: string): Promise<void> {
    this.tokens.delete(tokenHash)
  }
}

class MemoryGrants implements GrantStore {
  private readonly revoked: ExpiringMap<true>
  constructor(now: () => number, budget: RecordBudget | undefined) {
    this.revoked = new ExpiringMap(now, budget, 'always')
  }
  async revoke(grantId: string, until: number): Promise<void> {
    // A later, shorter revocation never cuts an earlier one short.
    this.revoked.setAtLeast(grantId, true, until)
  }
  async isRevoked(grantId: string): Promise<boolean> {
    return this.revoked.get(grantId) === true
  }
}

class MemoryReplay implements ReplayStore {
  private readonly seen: ExpiringMap<true>
  constructor(now: () => number, budget: RecordBudget | undefined) {
    this.seen = new ExpiringMap(now, budget)
  }
  async markUsed(key: string, expiresAt: number): Promise<boolean> {
    if (this.seen.get(key) !== undefined) return false
    this.seen.set(key, true, expiresAt)
    return true
  }
}

class MemoryInteractions implements InteractionStore {
  private readonly items: ExpiringMap<InteractionRecord>
  constructor(now: () => number, budget: RecordBudget | undefined) {
    this.items = new ExpiringMap(now, budget, 'evictable')
  }
  async save(record: InteractionRecord): Promise<void> {
    this.items.set(record.uid, record, record.expiresAt)
  }
  async find(uid: string): Promise<InteractionRecord | null> {
    return this.items.get(uid) ?? null
  }
  async consume(uid: string): Promise<InteractionRecord | null> {
    const record = this.items.get(uid)
    if (record === undefined) return null
    this.items.delete(uid)
    return record
  }
}

class MemorySessions implements SessionStore {
  private readonly items: ExpiringMap<SessionRecord>
  /** sid → idHash. */
  private readonly bySid: ExpiringMap<string>
  /** sub → idHashes; an entry lives as long as the person's longest session, and dead members are dropped when read. */
  private readonly bySub: ExpiringMap<Set<string>>
  constructor(now: () => number, budget: RecordBudget | undefined) {
    // The indexes are not counted: they follow the sessions, and losing an entry could hide a session from logout.
    this.items = new ExpiringMap(now, budget, 'evictable')
    this.bySid = new ExpiringMap(now)
    this.bySub = new ExpiringMap(now)
  }
  async save(record: SessionRecord): Promise<void> {
    const stored = { ...record, ...(record.clients !== undefined && { clients: [...record.clients] }) }
    this.items.set(record.idHash, stored, record.expiresAt)
    if (record.sid !== undefined) this.bySid.set(record.sid, record.idHash, record.expiresAt)
    const hashes = this.bySub.get(record.sub) ?? new Set<string>()
    hashes.add(record.idHash)
    this.bySub.setAtLeast(record.sub, hashes, record.expiresAt)
  }
  async find(idHash: string): Promise<SessionRecord | null> {
    return this.copy(this.items.get(idHash))
  }
  async delete(idHash: string): Promise<void> {
    const record = this.items.get(idHash)
    this.items.delete(idHash)
    if (record?.sid !== undefined) this.bySid.delete(record.sid)
    if (record !== undefined) this.bySub.get(record.sub)?.delete(idHash)
  }
  async addClient(idHash: string, clientId: string): Promise<void> {
    const record = this.items.get(idHash)
    if (record === undefined) return
    record.clients ??= []
    if (!record.clients.includes(clientId)) record.clients.push(clientId)
  }
  async listBySub(sub: string): Promise<SessionRecord[]> {
    const hashes = this.bySub.get(sub)
    if (hashes === undefined) return []
    const out: SessionRecord[] = []
    for (const idHash of hashes) {
      const record = this.items.get(idHash)
      // A session saved again for another person no longer belongs here.
      if (record === undefined || record.sub !== sub) hashes.delete(idHash)
      else out.push(this.copy(record)!)
    }
    return out
  }
  async findBySid(sid: string): Promise<SessionRecord | null> {
    const idHash = this.bySid.get(sid)
    const record = idHash === undefined ? undefined : this.items.get(idHash)
    return record?.sid === sid ? this.copy(record) : null
  }
  /** Callers get copies: a record changed after a read must not change the store. */
  private copy(record: SessionRecord | undefined): SessionRecord | null {
    if (record === undefined) return null
    return { ...record, ...(record.clients !== undefined && { clients: [...record.clients] }) }
  }
}

class MemoryConsents implements ConsentStore {
  private readonly items: ExpiringMap<string>
  constructor(now: () => number, budget: RecordBudget | undefined) {
    this.items = new ExpiringMap(now, budget, 'evictable')
  }
  async find(sub: string, clientId: string): Promise<string | null> {
    return this.items.get(consentKey(sub, clientId)) ?? null
  }
  async save(sub: string, clientId: string, scope: string, expiresAt: number): Promise<void> {
    this.items.set(consentKey(sub, clientId), scope, expiresAt)
  }
  async revoke(sub: string, clientId: string): Promise<void> {
    this.items.delete(consentKey(sub, clientId))
  }
  async listBySub(sub: string): Promise<ConsentRecord[]> {
    const prefix = consentKey(sub, '').slice(0, -3)
    const out: ConsentRecord[] = []
    for (const [key, scope, expiresAt] of this.items.matching((k) => k.startsWith(prefix))) {
      const [s, clientId] = JSON.parse(key) as [string, string]
      if (s === sub) out.push({ clientId, scope, expiresAt })
    }
    return out
  }
}

class MemoryRateLimits implements RateLimitStore {
  private readonly counters: ExpiringMap<{ count: number }>
  constructor(now: () => number, budget: RecordBudget | undefined) {
    this.counters = new ExpiringMap(now, budget)
  }
  async increment(key: string, windowEndsAt: number): Promise<number> {
    const c = this.counters.get(key)
    if (c !== undefined) return ++c.count
    this.counters.set(key, { count: 1 }, windowEndsAt)
    return 1
  }
  async reset(key: string): Promise<void> {
    this.counters.delete(key)
  }
}

class MemoryDeviceCodes implements DeviceCodeStore {
  private readonly byDevice: ExpiringMap<DeviceCodeRecord>
  private readonly byUser: ExpiringMap<string>
  constructor(private readonly now: () => number, budget: RecordBudget | undefined) {
    // Losing a device authorization fails closed: the device hears invalid_grant. The user-code index is not counted.
    this.byDevice = new ExpiringMap(now, budget, 'evictable')
    this.byUser = new ExpiringMap(now)
  }
  async save(record: DeviceCodeRecord): Promise<void> {
    // Kept past expiry (policy.ts) so that a late poll hears expired_token, not invalid_grant.
    this.byDevice.set(record.deviceCodeHash, { ...record }, deviceCodeKeepUntil(record))
    this.byUser.set(record.userCodeHash, record.deviceCodeHash, record.expiresAt)
  }
  private pendingByUser(userCodeHash: string): DeviceCodeRecord | undefined {
    const deviceHash = this.byUser.get(userCodeHash)
    const record = deviceHash === undefined ? undefined : this.byDevice.get(deviceHash)
    return record !== undefined && record.status === 'pending' && isLive(record.expiresAt, this.now()) ? record : undefined
  }
  async findByUserCode(userCodeHash: string): Promise<DeviceCodeRecord | null> {
    const r = this.pendingByUser(userCodeHash)
    return r === undefined ? null : { ...r }
  }
  async decide(userCodeHash: string, decision: DeviceDecision): Promise<boolean> {
    const r = this.pendingByUser(userCodeHash)
    if (r === undefined) return false
    r.status = decision.status
    if (decision.status === 'approved') {
      r.sub = decision.sub
      r.authTime = decision.authTime
      r.grantedScope = decision.scope
    }
    return true
  }
  async poll(deviceCodeHash: string, clientId: string, now: number): Promise<DeviceCodeRecord | null> {
    const r = this.byDevice.get(deviceCodeHash)
    if (r === undefined || r.clientId !== clientId) return null
    const before = { ...r }
    r.lastPolledAt = now
    if (r.status === 'approved') r.status = 'consumed'
    return before
  }
  async slowDown(deviceCodeHash: string, interval: number): Promise<void> {
    const r = this.byDevice.get(deviceCodeHash)
    if (r !== undefined) r.interval = interval
  }
}

/** Options of `createMemoryStorage`. */
export interface MemoryStorageOptions {
  /** Clock in seconds since the epoch. Default: the system clock. */
  now?: () => number
  /**
   * Most records the storage holds at once, counted over every store (access
   * and refresh tokens, codes, sessions, consents, interactions, device
   * authorizations, replay and revocation markers, throttling counters), for a
   * development server that must not grow without end. Default: no bound.
   *
   * When a new record finds it full, expired records go first; then the live
   * record that expires soonest among those whose loss only fails closed
   * (an access or refresh token not yet rotated, an unredeemed code, a
   * session, a consent, an interaction, a device authorization): that token
   * stops working, that person signs in or consents again. Never given up:
   * rotated refresh tokens and redeemed codes (they detect reuse), replay
   * markers, throttling counters and revocations. When only those are left, a
   * new record is refused with `StorageUnavailableError` (the endpoint answers
   * 503 and issues nothing), except a revocation, which is always stored.
   *
   * An opaque access token takes about 260 bytes (bench/memory.mjs).
   *
   * @example
   * createMemoryStorage({ maxRecords: 100_000 })
   */
  maxRecords?: number
}

class MemoryTokenCutoffs implements TokenCutoffStore {
  private readonly items: ExpiringMap<number>
  constructor(now: () => number, budget: RecordBudget | undefined) {
    this.items = new ExpiringMap(now, budget, 'always')
  }
  async set(key: string, at: number, until: number): Promise<void> {
    const current = this.items.get(key)
    if (current === undefined || current < at) this.items.setAtLeast(key, at, until)
  }
  async latest(keys: readonly string[]): Promise<number | null> {
    let out: number | null = null
    for (const key of keys) {
      const at = this.items.get(key)
      if (at !== undefined && (out === null || at > out)) out = at
    }
    return out
  }
}

class MemoryPushedAuthorizationRequests implements PushedAuthorizationRequestStore {
  private readonly items: ExpiringMap<PushedAuthorizationRequestRecord>
  constructor(now: () => number, budget: RecordBudget | undefined) {
    // Evicting a pushed request only makes its request_uri fail (a denial, never a replay).
    this.items = new ExpiringMap(now, budget, 'evictable')
  }
  async save(record: PushedAuthorizationRequestRecord): Promise<void> {
    this.items.set(record.requestUriHash, record, record.expiresAt)
  }
  async consume(requestUriHash: string): Promise<PushedAuthorizationRequestRecord | null> {
    // get and delete with no await between them: one caller of the event loop gets it.
    const record = this.items.get(requestUriHash)
    if (record === undefined) return null
    this.items.delete(requestUriHash)
    return record
  }
}

/**
 * An in-process ReplayStore alone, with expiry: for a resource protector that
 * checks DPoP proofs without an authorization server's storage. Not shared
 * between processes.
 *
 * @example
 * const replay = createMemoryReplayStore(() => Date.now() / 1000)
 */
export function createMemoryReplayStore(now: () => number = () => Date.now() / 1000): ReplayStore {
  return new MemoryReplay(now, undefined)
}

class MemoryAuditEvents implements AuditEventStore {
  private readonly items: Array<{ event: AuditEventRecord; keepUntil: number }> = []
  constructor(private readonly now: () => number) {}
  async append(event: AuditEventRecord, keepUntil: number): Promise<void> {
    this.items.push({ event: structuredClone(event), keepUntil })
    if (this.items.length > AUDIT_EVENT_CAP) this.items.splice(0, this.items.length - AUDIT_EVENT_CAP)
  }
  async recent(limit: number): Promise<AuditEventRecord[]> {
    const now = this.now()
    const out: AuditEventRecord[] = []
    for (let i = this.items.length - 1; i >= 0 && out.length < limit; i--) {
      const item = this.items[i]!
      if (isLive(item.keepUntil, now)) out.push(structuredClone(item.event))
    }
    return out
  }
}

/**
 * In-process storage with expiry: the default. Everything is lost on restart
 * and nothing is shared between processes; use the PostgreSQL or Redis storage
 * for more than one process.
 *
 * @example
 * const storage = createMemoryStorage({ now: () => clock.now() })
 */
export function createMemoryStorage(options: MemoryStorageOptions = {}): Storage & DeviceFlowStores & StoredClientStores & TokenCutoffStores & PushedAuthorizationStores & AuditEventStores {
  const now = options.now ?? (() => Date.now() / 1000)
  const max = options.maxRecords
  if (max !== undefined && !(Number.isSafeInteger(max) && max >= 1)) throw new TypeError('createMemoryStorage: maxRecords must be a positive integer')
  const budget = max === undefined ? undefined : new RecordBudget(max)
  const accessTokens = new MemoryAccessTokens(now, budget)
  return {
    accessTokens,
    authorizationCodes: new MemoryAuthorizationCodes(now, budget),
    refreshTokens: new MemoryRefreshTokens(now, accessTokens, budget),
    grants: new MemoryGrants(now, budget),
    replay: new MemoryReplay(now, budget),
    interactions: new MemoryInteractions(now, budget),
    sessions: new MemorySessions(now, budget),
    consents: new MemoryConsents(now, budget),
    rateLimits: new MemoryRateLimits(now, budget),
    deviceCodes: new MemoryDeviceCodes(now, budget),
    clients: new MemoryClients(),
    tokenCutoffs: new MemoryTokenCutoffs(now, budget),
    pushedAuthorizationRequests: new MemoryPushedAuthorizationRequests(now, budget),
    auditEvents: new MemoryAuditEvents(now),
  }
}
