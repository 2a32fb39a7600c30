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
  Storage,
  StoredClientStores,
} from './types.js'
import { consentKey } from './codec.js'
import { AUDIT_EVENT_CAP, deviceCodeKeepUntil, isLive } from './policy.js'
import { MemoryClients } from './memory-clients.js'

/**
 * A map whose entries vanish at their expiry. Reads never return an expired
 * entry; each write also looks at the next two entries of a cursor that walks
 * the map, so expired entries go at a constant cost per write and memory stays
 * bounded without a timer.
 */
class ExpiringMap<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>()
  private cursor: Iterator<[string, { value: V; expiresAt: number }]> | undefined
  constructor(private readonly now: () => number) {}

  get(key: string): V | undefined {
    const e = this.entries.get(key)
    if (e === undefined) return undefined
    if (!isLive(e.expiresAt, this.now())) {
      this.entries.delete(key)
      return undefined
    }
    return e.value
  }

  set(key: string, value: V, expiresAt: number): void {
    this.entries.set(key, { value, expiresAt })
    // Two entries per write: the cursor walks the map faster than it grows.
    const now = this.now()
    for (let i = 0; i < 2; i++) {
      this.cursor ??= this.entries.entries()
      const next = this.cursor.next()
      if (next.done === true) {
        this.cursor = undefined
        break
      }
      if (!isLive(next.value[1].expiresAt, now)) this.entries.delete(next.value[0])
    }
  }

  /** Like set, but an existing live entry keeps its expiry when that is later. */
  setAtLeast(key: string, value: V, expiresAt: number): void {
    const e = this.entries.get(key)
    this.set(key, value, e !== undefined && e.expiresAt > expiresAt ? e.expiresAt : expiresAt)
  }

  delete(key: string): boolean {
    return this.entries.delete(key)
  }

  /** Live entries whose key passes `match`: a walk of the whole map, for rare admin listings. */
  *matching(match: (key: string) => boolean): Generator<[string, V, number]> {
    const now = this.now()
    for (const [key, e] of this.entries) if (isLive(e.expiresAt, now) && match(key)) yield [key, e.value, e.expiresAt]
  }

}

/*
 * JavaScript runs each of these methods to completion between awaits, so a
 * method that reads and writes with no await in between is atomic in one
 * process: that is what makes consume/rotate/markUsed safe here.
 */

class MemoryAccessTokens implements AccessTokenStore {
  private readonly tokens: ExpiringMap<AccessTokenRecord>
  private readonly revokedJtis: ExpiringMap<true>
  constructor(now: () => number) {
    this.tokens = new ExpiringMap(now)
    this.revokedJtis = new ExpiringMap(now)
  }
  async save(record: AccessTokenRecord & { tokenHash: string }): Promise<void> {
    this.put(record)
  }
  /** The synchronous save, for a refresh rotation to store its access token in the same step. */
  put(record: AccessTokenRecord & { tokenHash: string }): void {
    this.tokens.set(record.tokenHash, record, record.expiresAt)
  }
  async find(tokenHash: string): Promise<AccessTokenRecord | null> {
    return this.tokens.get(tokenHash) ?? null
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
  private readonly codes: ExpiringMap<{ record: AuthorizationCodeRecord; consumed: boolean }>
  constructor(now: () => number) {
    this.codes = new ExpiringMap(now)
  }
  async save(record: AuthorizationCodeRecord): Promise<void> {
    this.codes.set(record.codeHash, { record, consumed: false }, record.expiresAt)
  }
  async consume(codeHash: string): Promise<CodeConsumption> {
    const entry = this.codes.get(codeHash)
    if (entry === undefined) return { outcome: 'not_found' }
    if (entry.consumed) return { outcome: 'reused', grantId: entry.record.grantId }
    // The tombstone stays until the code would have expired, to detect a replay.
    entry.consumed = true
    return { outcome: 'consumed', record: entry.record }
  }
}

class MemoryRefreshTokens implements RefreshTokenStore {
  readonly rotatesWithIssue = true
  private readonly tokens: ExpiringMap<{ record: RefreshTokenRecord; rotated: boolean }>
  constructor(
    now: () => number,
    private readonly accessTokens: MemoryAccessTokens,
  ) {
    this.tokens = new ExpiringMap(now)
  }
  async save(record: RefreshTokenRecord): Promise<void> {
    this.tokens.set(record.tokenHash, { record, rotated: false }, record.expiresAt)
  }
  async find(tokenHash: string): Promise<RefreshTokenLookup | null> {
    const e = this.tokens.get(tokenHash)
    return e === undefined ? null : { record: e.record, rotated: e.rotated }
  }
  async rotate(oldHash: string, next: RefreshTokenRecord, issue?: RotationIssue): Promise<RotationOutcome> {
    const e = this.tokens.get(oldHash)
    if (e === undefined) return 'not_found'
    if (e.rotated) return 'reused'
    // No await from here on: the rotation and what it issues happen in one step.
    if (issue?.accessToken !== undefined) this.accessTokens.put(issue.accessToken)
    e.rotated = true
    this.tokens.set(next.tokenHash, { record: next, rotated: false }, next.expiresAt)
    return 'rotated'
  }
  async revoke(tokenHash: string): Promise<void> {
    this.tokens.delete(tokenHash)
  }
}

class MemoryGrants implements GrantStore {
  private readonly revoked: ExpiringMap<true>
  constructor(now: () => number) {
    this.revoked = new ExpiringMap(now)
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
  constructor(now: () => number) {
    this.seen = new ExpiringMap(now)
  }
  async markUsed(key: string, expiresAt: number): Promise<boolean> {
    if (this.seen.get(key) !== undefined) return false
    this.seen.set(key, true, expiresAt)
    return true
  }
}

class MemoryInteractions implements InteractionStore {
  private readonly items: ExpiringMap<InteractionRecord>
  constructor(now: () => number) {
    this.items = new ExpiringMap(now)
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
  constructor(now: () => number) {
    this.items = new ExpiringMap(now)
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
  constructor(now: () => number) {
    this.items = new ExpiringMap(now)
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
  constructor(now: () => number) {
    this.counters = new ExpiringMap(now)
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
  constructor(private readonly now: () => number) {
    this.byDevice = new ExpiringMap(now)
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
}

class MemoryTokenCutoffs implements TokenCutoffStore {
  private readonly items: ExpiringMap<number>
  constructor(now: () => number) {
    this.items = new ExpiringMap(now)
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
export function createMemoryStorage(options: MemoryStorageOptions = {}): Storage & DeviceFlowStores & StoredClientStores & TokenCutoffStores & AuditEventStores {
  const now = options.now ?? (() => Date.now() / 1000)
  const accessTokens = new MemoryAccessTokens(now)
  return {
    accessTokens,
    authorizationCodes: new MemoryAuthorizationCodes(now),
    refreshTokens: new MemoryRefreshTokens(now, accessTokens),
    grants: new MemoryGrants(now),
    replay: new MemoryReplay(now),
    interactions: new MemoryInteractions(now),
    sessions: new MemorySessions(now),
    consents: new MemoryConsents(now),
    rateLimits: new MemoryRateLimits(now),
    deviceCodes: new MemoryDeviceCodes(now),
    clients: new MemoryClients(),
    tokenCutoffs: new MemoryTokenCutoffs(now),
    auditEvents: new MemoryAuditEvents(now),
  }
}
