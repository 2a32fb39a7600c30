import type { Redis } from 'ioredis'
import { StatementBatcher } from '../batch.js'
import type {
  AccessTokenRecord,
  AuditEventRecord,
  AuditEventStore,
  AccessTokenStore,
  AuthorizationCodeRecord,
  AuthorizationCodeStore,
  CodeConsumption,
  ConsentStore,
  ConsentRecord,
  TokenCutoffStore,
  DeviceCodeRecord,
  DeviceCodeStore,
  DeviceDecision,
  GrantStore,
  InteractionRecord,
  InteractionStore,
  PushedAuthorizationRequestRecord,
  PushedAuthorizationRequestStore,
  KeyStorage,
  RateLimitStore,
  RefreshTokenLookup,
  RefreshTokenRecord,
  RefreshTokenStore,
  ReplayStore,
  RotationIssue,
  RotationOutcome,
  SessionRecord,
  SessionStore,
  SigningKeyRecord,
} from '../types.js'
import { consentKey, decodeRecord, encodeRecord } from '../codec.js'
import { cutoffKeys } from '../../tokens/cutoff.js'
import { AUDIT_EVENT_CAP, deviceCodeKeepUntil, isKeyPublished, isLive, KEY_SET_IDLE_TTL } from '../policy.js'
import type { Connection } from './connection.js'
import type { ScriptName } from './scripts.js'

/** What every store shares: the connection, the scripts, key names and the clock. */
export interface RedisContext {
  conn: Connection
  client: Redis
  /** Whether the client is a Redis Cluster: keys used together then carry a hash tag, and no command spans slots. */
  cluster: boolean
  script(name: ScriptName, keys: string[], args: (string | number)[]): Promise<unknown>
  /**
   * The full key of an artefact: prefix, kind, id. `group` names the keys it
   * is used with in one script or MULTI; on a cluster they share a hash tag
   * (keys.ts), on one server it changes nothing.
   */
  key(kind: string, id: string, group?: string): string
  /** Seconds since the epoch. */
  now(): number
  /** The cutoff store, for the access token read that folds the cutoffs in. */
  cutoffs: TokenCutoffStore
}

/**
 * Milliseconds from now until `expiresAt` (seconds), for PX/PEXPIRE; <= 0 when
 * already past. Relative on purpose: the TTL then follows the storage's own
 * clock, whatever the clock of the Redis host (or a test's fake clock) says.
 */
function ttlMs(ctx: RedisContext, expiresAt: number): number {
  return Math.ceil((expiresAt - ctx.now()) * 1000)
}

/** SET with a TTL, or DEL when the record is already expired (it would read as absent anyway). */
async function setUntil(ctx: RedisContext, op: string, key: string, value: string, expiresAt: number, before?: number): Promise<void> {
  const ttl = ttlMs(ctx, expiresAt)
  await ctx.conn.run<unknown>(op, () => (ttl > 0 ? ctx.client.set(key, value, 'PX', ttl) : ctx.client.del(key)), before)
}

/** A serialized record (codec.ts) that is still live by the storage clock, or null. */
function live<T extends { expiresAt: number }>(ctx: RedisContext, kind: string, json: string | null): T | null {
  if (json === null) return null
  const record = decodeRecord<T>(kind, json)
  return isLive(record.expiresAt, ctx.now()) ? record : null
}

/** Flat [field, value, ...] as a Lua script returns a hash. */
function pairs(flat: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  const list = flat as string[]
  for (let i = 0; i + 1 < list.length; i += 2) out[list[i]!] = list[i + 1]!
  return out
}

/** Separate commands' results in the shape of `pipeline().exec()`: [error, result] each. */
function settled(commands: Promise<unknown>[]): Promise<[Error | null, unknown][]> {
  return Promise.all(commands.map((c) => c.then((v): [Error | null, unknown] => [null, v], (e: unknown): [Error | null, unknown] => [e as Error, null])))
}

/** What findWithCutoff answers. */
type Found = { record: AccessTokenRecord; cutoff: number | null } | null

export class RedisAccessTokens implements AccessTokenStore {
  /** Concurrent saves as one script (../batch.ts); on a cluster, where keys of one command must share a slot, none. */
  private readonly saving: StatementBatcher<AccessTokenRecord & { tokenHash: string }, void> | undefined
  private readonly reading: StatementBatcher<string, Found> | undefined

  constructor(
    private readonly ctx: RedisContext,
    private readonly timeoutMs: number,
  ) {
    const prefixes = (['client:', 'consent:', 'sub:'] as const).map((kind) => ctx.key('cutoff', kind)) as [string, string, string]
    // The script appends ids to these prefixes: only when that is how keys are named, and all keys are on one server.
    const suffixed = prefixes.every((p, i) => ctx.key('cutoff', `${['client:', 'consent:', 'sub:'][i]}x`) === `${p}x`)
    const single = (ctx.client as { isCluster?: boolean }).isCluster !== true
    if (single) this.saving = new StatementBatcher((records, deadline) => this.saveBatch(records, deadline), timeoutMs, 'redis')
    if (suffixed && single) {
      this.cutoffPrefixes = prefixes
      this.reading = new StatementBatcher((hashes, deadline) => this.findBatch(hashes, deadline), timeoutMs, 'redis')
      this.findWithCutoff = (tokenHash) => this.reading!.run(tokenHash)
    }
  }
  save(record: AccessTokenRecord & { tokenHash: string }): Promise<void> {
    return this.saving === undefined ? this.saveOne(record) : this.saving.run(record)
  }
  private async saveOne(record: AccessTokenRecord & { tokenHash: string }, before?: number): Promise<void> {
    await setUntil(this.ctx, 'accessTokens.save', this.ctx.key('at', record.tokenHash), encodeRecord(record), record.expiresAt, before)
  }
  /**
   * The deadline to hold a lone call of a batch to, when it waited (behind a
   * slow batch): then only its time left. Not when it went out at once, which
   * keeps the usual call free of a timer of its own.
   */
  private left(deadline: number): number | undefined {
    return deadline - Date.now() < this.timeoutMs - 5 ? deadline : undefined
  }
  /**
   * One SET alone (nothing else waited), else one script for the whole batch,
   * within the deadline of its oldest call.
   */
  private async saveBatch(records: (AccessTokenRecord & { tokenHash: string })[], deadline: number): Promise<void[]> {
    if (records.length === 1) await this.saveOne(records[0]!, this.left(deadline))
    else {
      const args = records.flatMap((r) => [encodeRecord(r), ttlMs(this.ctx, r.expiresAt)])
      await this.ctx.conn.run('accessTokens.save', () => this.ctx.script('saveAccessTokens', records.map((r) => this.ctx.key('at', r.tokenHash)), args), deadline)
    }
    return new Array<void>(records.length)
  }
  private async findBatch(hashes: string[], deadline: number): Promise<Found[]> {
    if (hashes.length === 1) return [await this.findFolded(hashes[0]!, this.left(deadline))]
    const replies = (await this.ctx.conn.run(
      'accessTokens.findWithCutoff',
      () => this.ctx.script('findAccessTokensWithCutoff', hashes.map((h) => this.ctx.key('at', h)), this.cutoffPrefixes!),
      deadline,
    )) as ((string | null)[] | null)[]
    return Promise.all(replies.map((reply) => this.folded(reply)))
  }
  async find(tokenHash: string): Promise<AccessTokenRecord | null> {
    const json = await this.ctx.conn.run('accessTokens.find', () => this.ctx.client.get(this.ctx.key('at', tokenHash)))
    return live<AccessTokenRecord>(this.ctx, 'access token', json)
  }
  /** Undefined on a cluster (the script reads keys of other slots) or a key layout whose ids are not suffixes. */
  readonly findWithCutoff?: (tokenHash: string) => Promise<{ record: AccessTokenRecord; cutoff: number | null } | null>
  private readonly cutoffPrefixes: [string, string, string] | undefined
  private async findFolded(tokenHash: string, before?: number): Promise<Found> {
    const prefixes = this.cutoffPrefixes!
    const reply = (await this.ctx.conn.run('accessTokens.findWithCutoff', () => this.ctx.script('findWithCutoff', [this.ctx.key('at', tokenHash)], prefixes), before)) as
      | (string | null)[]
      | null
    return this.folded(reply)
  }
  /** A reply of the findWithCutoff script, as the store answers it. */
  private async folded(reply: (string | null)[] | null): Promise<Found> {
    const record = live<AccessTokenRecord>(this.ctx, 'access token', reply === null ? null : reply[0]!)
    if (record === null) return null
    // Ids the script does not build keys for (rare): the cutoffs in a second round trip, as without the fold.
    if (reply!.length < 4) return { record, cutoff: await this.ctx.cutoffs.latest(cutoffKeys(record.clientId, record.sub)) }
    return { record, cutoff: latestLive(reply!.slice(1), this.ctx.now()) }
  }
  async revoke(tokenHash: string): Promise<void> {
    await this.ctx.conn.run('accessTokens.revoke', () => this.ctx.client.del(this.ctx.key('at', tokenHash)))
  }
  async revokeJti(jti: string, expiresAt: number): Promise<void> {
    await setUntil(this.ctx, 'accessTokens.revokeJti', this.ctx.key('jti', jti), String(expiresAt), expiresAt)
  }
  async isJtiRevoked(jti: string): Promise<boolean> {
    const until = await this.ctx.conn.run('accessTokens.isJtiRevoked', () => this.ctx.client.get(this.ctx.key('jti', jti)))
    return until !== null && isLive(Number(until), this.ctx.now())
  }
}

/** Hash fields: r record JSON (dropped once consumed), x expiresAt, g grantId, c consumed flag. */
export class RedisAuthorizationCodes implements AuthorizationCodeStore {
  constructor(private readonly ctx: RedisContext) {}
  async save(record: AuthorizationCodeRecord): Promise<void> {
    const fields = ['r', encodeRecord(record), 'x', record.expiresAt, 'g', record.grantId, 'c', '0']
    await this.ctx.conn.run('authorizationCodes.save', () =>
      this.ctx.script('putHash', [this.ctx.key('code', record.codeHash)], [ttlMs(this.ctx, record.expiresAt), ...fields]),
    )
  }
  async consume(codeHash: string): Promise<CodeConsumption> {
    const result = (await this.ctx.conn.run('authorizationCodes.consume', () =>
      this.ctx.script('consumeCode', [this.ctx.key('code', codeHash)], [this.ctx.now()]),
    )) as [string, string] | null
    if (result === null) return { outcome: 'not_found' }
    if (result[0] === 'reused') return { outcome: 'reused', grantId: result[1] }
    return { outcome: 'consumed', record: decodeRecord<AuthorizationCodeRecord>('authorization code', result[1]) }
  }
}

/** Hash fields: r record JSON, x expiresAt, o rotated flag. */
export class RedisRefreshTokens implements RefreshTokenStore {
  readonly rotatesWithIssue = true
  constructor(private readonly ctx: RedisContext) {}
  private fields(record: RefreshTokenRecord): (string | number)[] {
    return ['r', encodeRecord(record), 'x', record.expiresAt, 'o', '0']
  }
  async save(record: RefreshTokenRecord): Promise<void> {
    await this.ctx.conn.run('refreshTokens.save', () =>
      this.ctx.script('putHash', [this.ctx.key('rt', record.tokenHash)], [ttlMs(this.ctx, record.expiresAt), ...this.fields(record)]),
    )
  }
  async find(tokenHash: string): Promise<RefreshTokenLookup | null> {
    const [json, expiresAt, rotated] = await this.ctx.conn.run('refreshTokens.find', () =>
      this.ctx.client.hmget(this.ctx.key('rt', tokenHash), 'r', 'x', 'o'),
    )
    if (json == null || expiresAt == null || !isLive(Number(expiresAt), this.ctx.now())) return null
    return { record: decodeRecord<RefreshTokenRecord>('refresh token', json), rotated: rotated === '1' }
  }
  async rotate(oldHash: string, next: RefreshTokenRecord, issue?: RotationIssue): Promise<RotationOutcome> {
    const keys = [this.ctx.key('rt', oldHash), this.ctx.key('rt', next.tokenHash)]
    const access = issue?.accessToken
    if (this.ctx.cluster) return this.rotateAcrossSlots(keys[0]!, keys[1]!, next, access)
    if (access === undefined) {
      return (await this.ctx.conn.run('refreshTokens.rotate', () =>
        this.ctx.script('rotateRefresh', keys, [this.ctx.now(), ttlMs(this.ctx, next.expiresAt), ...this.fields(next)]),
      )) as RotationOutcome
    }
    // One script: a process killed or a connection lost around it leaves either everything or nothing.
    keys.push(this.ctx.key('at', access.tokenHash))
    const args = [this.ctx.now(), ttlMs(this.ctx, next.expiresAt), ttlMs(this.ctx, access.expiresAt), encodeRecord(access), ...this.fields(next)]
    return (await this.ctx.conn.run('refreshTokens.rotate', () => this.ctx.script('rotateRefreshIssue', keys, args))) as RotationOutcome
  }
  async revoke(tokenHash: string): Promise<void> {
    await this.ctx.conn.run('refreshTokens.revoke', () => this.ctx.client.del(this.ctx.key('rt', tokenHash)))
  }

  /**
   * Rotation on a Redis Cluster, where the old token, its successor and the
   * access token are found by their own hashes and so live in different
   * slots: no script can hold all three. The successor and the access token
   * are written first, under hashes of values nobody holds yet; then one
   * single-key script decides (not found, reused, or marked rotated, exactly
   * once across racing callers: RFC 9700 section 4.14.2). A loser deletes what
   * it wrote. A process that dies in between leaves at worst an unreachable
   * record that expires by its TTL, never a usable token without its rotation.
   */
  private async rotateAcrossSlots(oldKey: string, nextKey: string, next: RefreshTokenRecord, access: RotationIssue['accessToken'] | undefined): Promise<RotationOutcome> {
    const accessKey = access === undefined ? undefined : this.ctx.key('at', access.tokenHash)
    return this.ctx.conn.run('refreshTokens.rotate', async () => {
      const writes: Promise<unknown>[] = [this.ctx.script('putHash', [nextKey], [ttlMs(this.ctx, next.expiresAt), ...this.fields(next)])]
      if (access !== undefined) {
        const ttl = ttlMs(this.ctx, access.expiresAt)
        if (ttl > 0) writes.push(this.ctx.client.set(accessKey!, encodeRecord(access), 'PX', ttl))
      }
      await Promise.all(writes)
      const outcome = (await this.ctx.script('markRotated', [oldKey], [this.ctx.now()])) as RotationOutcome
      if (outcome !== 'rotated') await Promise.all([this.ctx.client.del(nextKey), ...(accessKey === undefined ? [] : [this.ctx.client.del(accessKey)])])
      return outcome
    })
  }
}

export class RedisGrants implements GrantStore {
  constructor(private readonly ctx: RedisContext) {}
  async revoke(grantId: string, until: number): Promise<void> {
    await setUntil(this.ctx, 'grants.revoke', this.ctx.key('grant', grantId), String(until), until)
  }
  async isRevoked(grantId: string): Promise<boolean> {
    const until = await this.ctx.conn.run('grants.isRevoked', () => this.ctx.client.get(this.ctx.key('grant', grantId)))
    return until !== null && isLive(Number(until), this.ctx.now())
  }
}

export class RedisReplay implements ReplayStore {
  constructor(private readonly ctx: RedisContext) {}
  async markUsed(key: string, expiresAt: number): Promise<boolean> {
    const fresh = await this.ctx.conn.run('replay.markUsed', () =>
      this.ctx.script('markUsed', [this.ctx.key('replay', key)], [this.ctx.now(), expiresAt, ttlMs(this.ctx, expiresAt)]),
    )
    return fresh === 1
  }
}

export class RedisInteractions implements InteractionStore {
  constructor(private readonly ctx: RedisContext) {}
  async save(record: InteractionRecord): Promise<void> {
    await setUntil(this.ctx, 'interactions.save', this.ctx.key('int', record.uid), encodeRecord(record), record.expiresAt)
  }
  async find(uid: string): Promise<InteractionRecord | null> {
    const json = await this.ctx.conn.run('interactions.find', () => this.ctx.client.get(this.ctx.key('int', uid)))
    return live<InteractionRecord>(this.ctx, 'interaction', json)
  }
  async consume(uid: string): Promise<InteractionRecord | null> {
    // GETDEL: of concurrent callers, one gets the value and the others nil.
    const json = await this.ctx.conn.run('interactions.consume', () => this.ctx.client.getdel(this.ctx.key('int', uid)))
    return live<InteractionRecord>(this.ctx, 'interaction', json)
  }
}

/** Keys: `par:<hash>` the record JSON, with a TTL at its expiry. */
export class RedisPushedAuthorizationRequests implements PushedAuthorizationRequestStore {
  constructor(private readonly ctx: RedisContext) {}
  async save(record: PushedAuthorizationRequestRecord): Promise<void> {
    await setUntil(this.ctx, 'pushedAuthorizationRequests.save', this.ctx.key('par', record.requestUriHash), encodeRecord(record), record.expiresAt)
  }
  async consume(requestUriHash: string): Promise<PushedAuthorizationRequestRecord | null> {
    // GETDEL: of concurrent callers, one gets the value and the others nil.
    const json = await this.ctx.conn.run('pushedAuthorizationRequests.consume', () => this.ctx.client.getdel(this.ctx.key('par', requestUriHash)))
    return live<PushedAuthorizationRequestRecord>(this.ctx, 'pushed authorization request', json)
  }
}

/**
 * Keys: `sess:<hash>` the record JSON (as 0.1 wrote it, without clients),
 * `sessc:<hash>` its clients (a set, so adding one is a single SADD),
 * `sid:<sid>` the hash of the session with that sid, `subsess:<sub>` the
 * hashes of a person's sessions. The indexes are additive: a 0.1 process
 * ignores them, and records it wrote load with no sid or clients.
 */
export class RedisSessions implements SessionStore {
  constructor(private readonly ctx: RedisContext) {}
  /** The record and its client set: one hash tag on a cluster, as addSessionClient and delete use them together. */
  private recordKeys(idHash: string): [string, string] {
    return [this.ctx.key('sess', idHash, idHash), this.ctx.key('sessc', idHash, idHash)]
  }
  async save(record: SessionRecord): Promise<void> {
    const { clients = [], ...rest } = record
    const [recordKey, clientsKey] = this.recordKeys(record.idHash)
    const keys = [recordKey, clientsKey, this.ctx.key('sid', record.sid ?? ''), this.ctx.key('subsess', record.sub)]
    const ttl = ttlMs(this.ctx, record.expiresAt)
    const args = [ttl, encodeRecord(rest), record.idHash, record.sid === undefined ? '0' : '1', ...clients]
    if (!this.ctx.cluster) {
      await this.ctx.conn.run('sessions.save', () => this.ctx.script('saveSession', keys, args))
      return
    }
    // On a cluster the sid and per-person indexes live in other slots. The
    // record goes first; an index entry whose session is missing or belongs
    // to another person is ignored by findBySid and pruned by listBySub.
    await this.ctx.conn.run('sessions.save', async () => {
      const saved = await this.ctx.script('saveSessionRecord', [recordKey, clientsKey], [ttl, encodeRecord(rest), ...clients])
      if (saved !== 1) return
      const indexes: Promise<unknown>[] = [this.ctx.script('addToIndex', [keys[3]!], [ttl, record.idHash])]
      if (record.sid !== undefined) indexes.push(this.ctx.client.set(keys[2]!, record.idHash, 'PX', ttl))
      await Promise.all(indexes)
    })
  }
  async find(idHash: string): Promise<SessionRecord | null> {
    return (await this.read('sessions.find', [idHash]))[0] ?? null
  }
  async delete(idHash: string): Promise<void> {
    const [record] = await this.read('sessions.delete', [idHash])
    const keys: string[] = this.recordKeys(idHash)
    if (this.ctx.cluster) {
      // One DEL per slot: the record and its clients share a tag, the indexes do not.
      await this.ctx.conn.run('sessions.delete', () =>
        Promise.all([
          this.ctx.client.del(...keys),
          ...(record?.sid !== undefined ? [this.ctx.client.del(this.ctx.key('sid', record.sid))] : []),
          ...(record !== undefined ? [this.ctx.client.srem(this.ctx.key('subsess', record.sub), idHash)] : []),
        ]),
      )
      return
    }
    if (record?.sid !== undefined) keys.push(this.ctx.key('sid', record.sid))
    await this.ctx.conn.run('sessions.delete', async () => {
      const tx = this.ctx.client.multi().del(...keys)
      if (record !== undefined) tx.srem(this.ctx.key('subsess', record.sub), idHash)
      return tx.exec()
    })
  }
  async addClient(idHash: string, clientId: string): Promise<void> {
    await this.ctx.conn.run('sessions.addClient', () => this.ctx.script('addSessionClient', this.recordKeys(idHash), [clientId]))
  }
  async listBySub(sub: string): Promise<SessionRecord[]> {
    const setKey = this.ctx.key('subsess', sub)
    const hashes = await this.ctx.conn.run('sessions.listBySub', () => this.ctx.client.smembers(setKey))
    if (hashes.length === 0) return []
    const found = await this.read('sessions.listBySub', hashes)
    const live = found.filter((r) => r.sub === sub)
    const stale = hashes.filter((h) => !live.some((r) => r.idHash === h))
    if (stale.length > 0) await this.ctx.conn.run('sessions.listBySub', () => this.ctx.client.srem(setKey, ...stale))
    return live
  }
  async findBySid(sid: string): Promise<SessionRecord | null> {
    const idHash = await this.ctx.conn.run('sessions.findBySid', () => this.ctx.client.get(this.ctx.key('sid', sid)))
    if (idHash === null) return null
    const record = await this.find(idHash)
    return record?.sid === sid ? record : null
  }
  /** The live sessions among `hashes`, each with its clients, in one round trip. */
  private async read(op: string, hashes: string[]): Promise<SessionRecord[]> {
    const results = await this.ctx.conn.run(op, () => {
      // A cluster pipeline must stay on one node; separate commands are routed
      // (and auto-pipelined) per node instead, in the same one round trip.
      if (this.ctx.cluster) return settled(hashes.flatMap((h) => [this.ctx.client.get(this.recordKeys(h)[0]), this.ctx.client.smembers(this.recordKeys(h)[1])]))
      const pipe = this.ctx.client.pipeline()
      for (const h of hashes) pipe.get(this.ctx.key('sess', h)).smembers(this.ctx.key('sessc', h))
      return pipe.exec()
    })
    const out: SessionRecord[] = []
    for (let i = 0; i < hashes.length; i++) {
      const [getError, json] = results?.[2 * i] ?? [null, null]
      const [setError, clients] = results?.[2 * i + 1] ?? [null, []]
      if (getError !== null) throw getError
      if (setError !== null) throw setError
      const record = live<SessionRecord>(this.ctx, 'session', json as string | null)
      if (record === null) continue
      const all = [...new Set([...(record.clients ?? []), ...(clients as string[])])]
      if (all.length > 0) record.clients = all
      else delete record.clients
      out.push(record)
    }
    return out
  }
}

export class RedisConsents implements ConsentStore {
  constructor(private readonly ctx: RedisContext) {}
  // A consent and the person's index share the tag {sub} on a cluster: save and revoke are one MULTI, listBySub one MGET.
  private keyOf(sub: string, clientId: string): string {
    return this.ctx.key('consent', consentKey(sub, clientId), sub)
  }
  /** A person's consented client ids, for listBySub; entries may outlive their consent and are pruned when read. */
  private indexOf(sub: string): string {
    return this.ctx.key('subconsent', sub, sub)
  }
  async find(sub: string, clientId: string): Promise<string | null> {
    const json = await this.ctx.conn.run('consents.find', () => this.ctx.client.get(this.keyOf(sub, clientId)))
    return live<{ scope: string; expiresAt: number }>(this.ctx, 'consent', json)?.scope ?? null
  }
  async save(sub: string, clientId: string, scope: string, expiresAt: number): Promise<void> {
    const ttl = ttlMs(this.ctx, expiresAt)
    if (ttl <= 0) return this.revoke(sub, clientId)
    const index = this.indexOf(sub)
    await this.ctx.conn.run('consents.save', async () => {
      const tx = this.ctx.client.multi().set(this.keyOf(sub, clientId), encodeRecord({ scope, expiresAt }), 'PX', ttl).sadd(index, clientId)
      // The index lives as long as the longest consent in it (GT: never shortened).
      tx.pexpire(index, ttl, 'GT').pexpire(index, ttl, 'NX')
      return tx.exec()
    })
  }
  async revoke(sub: string, clientId: string): Promise<void> {
    await this.ctx.conn.run('consents.revoke', () => this.ctx.client.multi().del(this.keyOf(sub, clientId)).srem(this.indexOf(sub), clientId).exec())
  }
  async listBySub(sub: string): Promise<ConsentRecord[]> {
    const index = this.indexOf(sub)
    const ids = await this.ctx.conn.run('consents.listBySub', () => this.ctx.client.smembers(index))
    if (ids.length === 0) return []
    const values = await this.ctx.conn.run('consents.listBySub', () => this.ctx.client.mget(...ids.map((id) => this.keyOf(sub, id))))
    const out: ConsentRecord[] = []
    const stale: string[] = []
    ids.forEach((clientId, i) => {
      const record = live<{ scope: string; expiresAt: number }>(this.ctx, 'consent', values[i] ?? null)
      if (record === null) stale.push(clientId)
      else out.push({ clientId, scope: record.scope, expiresAt: record.expiresAt })
    })
    if (stale.length > 0) await this.ctx.conn.run('consents.listBySub', () => this.ctx.client.srem(index, ...stale))
    return out
  }
}

/** Hash fields: n count, w window end. */
export class RedisRateLimits implements RateLimitStore {
  constructor(private readonly ctx: RedisContext) {}
  async increment(key: string, windowEndsAt: number): Promise<number> {
    const count = await this.ctx.conn.run('rateLimits.increment', () =>
      this.ctx.script('increment', [this.ctx.key('rl', key)], [this.ctx.now(), windowEndsAt, ttlMs(this.ctx, windowEndsAt)]),
    )
    return Number(count)
  }
  async reset(key: string): Promise<void> {
    await this.ctx.conn.run('rateLimits.reset', () => this.ctx.client.del(this.ctx.key('rl', key)))
  }
}

/**
 * Hash fields: r the record's fixed part (JSON), x expiresAt, e kept until,
 * u userCodeHash, k clientId, s status, i interval, p lastPolledAt, d decision
 * (JSON of sub, authTime, grantedScope). A second key maps the user code to
 * the device code, until the device code expires.
 */
export class RedisDeviceCodes implements DeviceCodeStore {
  constructor(private readonly ctx: RedisContext) {}

  private static fields(record: DeviceCodeRecord): (string | number)[] {
    const { status, interval, lastPolledAt, sub, authTime, grantedScope, ...fixed } = record
    const fields: (string | number)[] = ['r', encodeRecord(fixed), 'x', record.expiresAt, 'e', deviceCodeKeepUntil(record)]
    fields.push('u', record.userCodeHash, 'k', record.clientId, 's', status, 'i', interval)
    if (lastPolledAt !== undefined) fields.push('p', lastPolledAt)
    if (sub !== undefined || authTime !== undefined || grantedScope !== undefined) fields.push('d', JSON.stringify({ sub, authTime, grantedScope }))
    return fields
  }

  private static record(h: Record<string, string>): DeviceCodeRecord {
    const record = decodeRecord<DeviceCodeRecord>('device code', h.r!)
    record.status = h.s as DeviceCodeRecord['status']
    record.interval = Number(h.i)
    if (h.p !== undefined) record.lastPolledAt = Number(h.p)
    if (h.d !== undefined) {
      const d = JSON.parse(h.d) as Pick<DeviceCodeRecord, 'sub' | 'authTime' | 'grantedScope'>
      if (d.sub !== undefined) record.sub = d.sub
      if (d.authTime !== undefined) record.authTime = d.authTime
      if (d.grantedScope !== undefined) record.grantedScope = d.grantedScope
    }
    return record
  }

  async save(record: DeviceCodeRecord): Promise<void> {
    const keys = [this.ctx.key('dc', record.deviceCodeHash), this.ctx.key('uc', record.userCodeHash)]
    const args = [ttlMs(this.ctx, deviceCodeKeepUntil(record)), ttlMs(this.ctx, record.expiresAt), record.deviceCodeHash, ...RedisDeviceCodes.fields(record)]
    if (this.ctx.cluster) {
      // The record and the user code → device code mapping are found by
      // different hashes, so they live in different slots. The record goes
      // first: the mapping never points at a record not yet written, and the
      // reads check the user code stored in the record.
      const [keepTtl, userTtl, deviceHash, ...fields] = args
      await this.ctx.conn.run('deviceCodes.save', async () => {
        await this.ctx.script('putHash', [keys[0]!], [keepTtl!, ...fields])
        await (Number(userTtl) > 0 ? this.ctx.client.set(keys[1]!, String(deviceHash), 'PX', Number(userTtl)) : this.ctx.client.del(keys[1]!))
      })
      return
    }
    await this.ctx.conn.run('deviceCodes.save', () => this.ctx.script('saveDevice', keys, args))
  }

  async findByUserCode(userCodeHash: string): Promise<DeviceCodeRecord | null> {
    const h = await this.ctx.conn.run('deviceCodes.findByUserCode', async () => {
      const deviceHash = await this.ctx.client.get(this.ctx.key('uc', userCodeHash))
      return deviceHash === null ? null : this.ctx.client.hgetall(this.ctx.key('dc', deviceHash))
    })
    if (h === null || h.r === undefined || h.u !== userCodeHash || h.s !== 'pending' || !isLive(Number(h.x), this.ctx.now())) return null
    return RedisDeviceCodes.record(h)
  }

  async decide(userCodeHash: string, decision: DeviceDecision): Promise<boolean> {
    const d = decision.status === 'approved' ? JSON.stringify({ sub: decision.sub, authTime: decision.authTime, grantedScope: decision.scope }) : ''
    const done = await this.ctx.conn.run('deviceCodes.decide', async () => {
      // The user code → device code mapping never changes, so reading it first
      // is safe; the script re-checks the user code, the status and the expiry.
      const deviceHash = await this.ctx.client.get(this.ctx.key('uc', userCodeHash))
      if (deviceHash === null) return 0
      return this.ctx.script('decideDevice', [this.ctx.key('dc', deviceHash)], [userCodeHash, this.ctx.now(), decision.status, d])
    })
    return done === 1
  }

  async poll(deviceCodeHash: string, clientId: string, now: number): Promise<DeviceCodeRecord | null> {
    const before = await this.ctx.conn.run('deviceCodes.poll', () =>
      this.ctx.script('pollDevice', [this.ctx.key('dc', deviceCodeHash)], [clientId, this.ctx.now(), now]),
    )
    return before === null ? null : RedisDeviceCodes.record(pairs(before))
  }

  async slowDown(deviceCodeHash: string, interval: number): Promise<void> {
    await this.ctx.conn.run('deviceCodes.slowDown', () =>
      this.ctx.script('slowDownDevice', [this.ctx.key('dc', deviceCodeHash)], [this.ctx.now(), interval]),
    )
  }
}

/**
 * The key set has no expiry of its own (the signing key has none), so it gets
 * a sliding TTL (policy.ts), renewed by every list, initialize and rotate.
 * Signing keys therefore never silently vanish from a live system.
 */
const KEY_SET_TTL_MS = KEY_SET_IDLE_TTL * 1000

/** One list entry per key: "kidHex TAB retiredAt TAB publishedUntil TAB json of the rest"; times empty when unset. */
function encodeKey(record: SigningKeyRecord): string {
  const { retiredAt, publishedUntil, ...fixed } = record
  return [Buffer.from(record.kid, 'utf8').toString('hex'), retiredAt ?? '', publishedUntil ?? '', encodeRecord(fixed)].join('\t')
}

function decodeKey(entry: string): SigningKeyRecord {
  // JSON.stringify escapes tabs inside strings, so an entry splits into exactly four parts.
  const [, retiredAt = '', publishedUntil = '', json = ''] = entry.split('\t')
  const record = decodeRecord<SigningKeyRecord>('signing key', json)
  if (retiredAt !== '') record.retiredAt = Number(retiredAt)
  if (publishedUntil !== '') record.publishedUntil = Number(publishedUntil)
  return record
}

/** Signing keys in one list, oldest first; every change is one script. */
export class RedisKeys implements KeyStorage {
  constructor(private readonly ctx: RedisContext) {}

  private published(entries: unknown): SigningKeyRecord[] {
    const now = this.ctx.now()
    return (entries as string[]).map(decodeKey).filter((k) => isKeyPublished(k, now))
  }

  async list(): Promise<SigningKeyRecord[]> {
    const entries = await this.ctx.conn.run('keys.list', () => this.ctx.script('listKeys', [this.ctx.key('keys', 'signing')], [KEY_SET_TTL_MS]))
    return this.published(entries)
  }

  async initialize(record: SigningKeyRecord): Promise<SigningKeyRecord[]> {
    const entries = await this.ctx.conn.run('keys.initialize', () =>
      this.ctx.script('initializeKeys', [this.ctx.key('keys', 'signing')], [KEY_SET_TTL_MS, encodeKey(record)]),
    )
    return this.published(entries)
  }

  async rotate(record: SigningKeyRecord, retire: { retiredAt: number; publishedUntil: number }): Promise<void> {
    const args = [KEY_SET_TTL_MS, this.ctx.now(), Buffer.from(record.kid, 'utf8').toString('hex'), encodeKey(record), retire.retiredAt, retire.publishedUntil]
    await this.ctx.conn.run('keys.rotate', () => this.ctx.script('rotateKeys', [this.ctx.key('keys', 'signing')], args))
  }

  async replace(kid: string, from: string, to: string): Promise<boolean> {
    const key = this.ctx.key('keys', 'signing')
    const entries = (await this.ctx.conn.run('keys.list', () => this.ctx.script('listKeys', [key], [KEY_SET_TTL_MS]))) as string[]
    const entry = entries.find((e) => {
      const r = decodeKey(e)
      return r.kid === kid && r.privateJwk === from
    })
    if (entry === undefined) return false
    const next = encodeKey({ ...decodeKey(entry), privateJwk: to })
    // The script swaps only the exact entry read, so a concurrent rotation or seal is never overwritten.
    return (await this.ctx.conn.run('keys.replace', () => this.ctx.script('replaceKey', [key], [entry, next]))) === 1
  }
}

/** The latest live cutoff among stored "at until" values (null: unset). */
function latestLive(values: readonly (string | null | undefined)[], now: number): number | null {
  let out: number | null = null
  for (const v of values) {
    if (v === null || v === undefined) continue
    const [at, until] = v.split(' ').map(Number) as [number, number]
    if (!Number.isFinite(at) || !isLive(until, now)) continue
    if (out === null || at > out) out = at
  }
  return out
}

/** Cutoffs as "at until" (the storage clock decides liveness, as for every record); the later cutoff wins, in one atomic script. */
export class RedisTokenCutoffs implements TokenCutoffStore {
  constructor(private readonly ctx: RedisContext) {}
  async set(key: string, at: number, until: number): Promise<void> {
    const ttl = ttlMs(this.ctx, until)
    if (ttl <= 0) return
    const lua = `local v = redis.call('GET', KEYS[1])
local c = nil
if v then c = tonumber(string.match(v, '^(%S+)')) end
if c == nil or c < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[3], 'PX', ARGV[2]) end
return 1`
    await this.ctx.conn.run('tokenCutoffs.set', () => this.ctx.client.eval(lua, 1, this.ctx.key('cutoff', key), String(at), String(ttl), String(until)))
  }
  async latest(keys: readonly string[]): Promise<number | null> {
    if (keys.length === 0) return null
    const names = keys.map((k) => this.ctx.key('cutoff', k))
    // A person's, a client's and a consent's cutoffs hash to different slots: MGET would be refused with CROSSSLOT on a cluster.
    const values = await this.ctx.conn.run('tokenCutoffs.latest', () => (this.ctx.cluster ? Promise.all(names.map((k) => this.ctx.client.get(k))) : this.ctx.client.mget(...names)))
    return latestLive(values, this.ctx.now())
  }
}

/**
 * Audit events as one capped list, newest first: LPUSH then LTRIM to
 * `AUDIT_EVENT_CAP` in one MULTI, so the list never grows past the cap
 * whatever processes append at once. Each entry carries its `keepUntil`,
 * past which reads skip it.
 */
export class RedisAuditEvents implements AuditEventStore {
  constructor(private readonly ctx: RedisContext) {}
  async append(event: AuditEventRecord, keepUntil: number): Promise<void> {
    const key = this.ctx.key('audit', 'events')
    const entry = encodeRecord({ event, keepUntil })
    await this.ctx.conn.run('auditEvents.append', () => this.ctx.client.multi().lpush(key, entry).ltrim(key, 0, AUDIT_EVENT_CAP - 1).exec())
  }
  async recent(limit: number): Promise<AuditEventRecord[]> {
    if (limit < 1) return []
    const entries = await this.ctx.conn.run('auditEvents.recent', () => this.ctx.client.lrange(this.ctx.key('audit', 'events'), 0, AUDIT_EVENT_CAP - 1))
    const now = this.ctx.now()
    const out: AuditEventRecord[] = []
    for (const e of entries) {
      const { event, keepUntil } = decodeRecord<{ event: AuditEventRecord; keepUntil: number }>('audit event', e)
      if (!isLive(keepUntil, now)) continue
      out.push(event)
      if (out.length === limit) break
    }
    return out
  }
}
