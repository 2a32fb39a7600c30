// A Storage of your own: every store grantkit uses, kept in ONE Map of JSON
// text, the way a key-value database (Redis, DynamoDB, a SQL table of
// key/value/expires_at) would hold it. Each record is serialised on write and
// parsed on read, so nothing the server holds is shared with what it stored.
//
// Atomicity: every one-time operation (consume, rotate, markUsed, increment,
// decide, poll) is a single method that reads and writes with no `await` in
// between. JavaScript runs it to completion, so in one process it is atomic.
// On a shared database, make the same method one atomic statement instead:
// GETDEL / SET NX / a Lua script in Redis, `UPDATE … WHERE … RETURNING` in SQL.
//
// It has no `keys` (KeyStorage): that is only for several processes sharing
// signing keys, and this storage lives in one process. `deviceCodes` is
// optional too: leave it out if you never enable the device flow (RFC 8628).

/** The key-value layer: JSON text with an expiry, in seconds since the epoch. */
class JsonKeyValue {
  #map = new Map()
  #now
  #writes = 0

  constructor(now) {
    this.#now = now
  }

  /** The live entry under `key` as `{ value, expiresAt }`, or undefined. */
  entry(key) {
    const text = this.#map.get(key)
    if (text === undefined) return undefined
    const entry = JSON.parse(text)
    if (entry.expiresAt <= this.#now()) {
      this.#map.delete(key)
      return undefined
    }
    return entry
  }

  get(key) {
    return this.entry(key)?.value
  }

  set(key, value, expiresAt) {
    this.#map.set(key, JSON.stringify({ value, expiresAt }))
    // Reads drop expired entries they meet; an occasional sweep drops the rest.
    if (++this.#writes % 1000 === 0) this.sweep()
  }

  delete(key) {
    return this.#map.delete(key)
  }

  sweep() {
    for (const key of [...this.#map.keys()]) this.entry(key)
  }

  get size() {
    return this.#map.size
  }
}

/**
 * Creates the storage. `now` is the clock it compares expiry against, in
 * seconds since the epoch; pass the server's clock (`deps.now`) when you fake one.
 *
 * @example
 * const server = createAuthorizationServer({ issuer, clients, storage: createJsonStorage() })
 */
export function createJsonStorage({ now = () => Date.now() / 1000 } = {}) {
  const kv = new JsonKeyValue(now)
  // One namespace per artefact: no prefix is a prefix of another, so keys never collide.
  const k = {
    accessToken: (hash) => 'at:' + hash,
    revokedJti: (jti) => 'jti:' + jti,
    code: (hash) => 'code:' + hash,
    refresh: (hash) => 'rt:' + hash,
    grant: (id) => 'grant:' + id,
    replay: (key) => 'replay:' + key,
    interaction: (uid) => 'ia:' + uid,
    session: (hash) => 'sess:' + hash,
    // JSON keeps sub and client apart whatever characters they contain.
    consent: (sub, clientId) => 'consent:' + JSON.stringify([sub, clientId]),
    rate: (key) => 'rl:' + key,
    device: (hash) => 'dc:' + hash,
    userCode: (hash) => 'uc:' + hash,
  }

  /** A pending, unexpired device authorization by user code hash, and where it is stored. */
  const pendingDevice = (userCodeHash) => {
    const deviceHash = kv.get(k.userCode(userCodeHash))
    const entry = deviceHash === undefined ? undefined : kv.entry(k.device(deviceHash))
    if (entry === undefined || entry.value.status !== 'pending' || entry.value.expiresAt <= now()) return undefined
    return { key: k.device(deviceHash), ...entry }
  }

  return {
    accessTokens: {
      async save(record) {
        kv.set(k.accessToken(record.tokenHash), record, record.expiresAt)
      },
      async find(tokenHash) {
        return kv.get(k.accessToken(tokenHash)) ?? null
      },
      async revoke(tokenHash) {
        kv.delete(k.accessToken(tokenHash))
      },
      async revokeJti(jti, expiresAt) {
        kv.set(k.revokedJti(jti), true, expiresAt)
      },
      async isJtiRevoked(jti) {
        return kv.get(k.revokedJti(jti)) === true
      },
    },

    authorizationCodes: {
      async save(record) {
        kv.set(k.code(record.codeHash), { record, consumed: false }, record.expiresAt)
      },
      // Atomic: of concurrent callers exactly one gets 'consumed'.
      async consume(codeHash) {
        const key = k.code(codeHash)
        const entry = kv.entry(key)
        if (entry === undefined) return { outcome: 'not_found' }
        if (entry.value.consumed) return { outcome: 'reused', grantId: entry.value.record.grantId }
        // A tombstone until the code would have expired, so a replay is recognised (RFC 6749 §4.1.2).
        kv.set(key, { ...entry.value, consumed: true }, entry.expiresAt)
        return { outcome: 'consumed', record: entry.value.record }
      },
    },

    refreshTokens: {
      async save(record) {
        kv.set(k.refresh(record.tokenHash), { record, rotated: false }, record.expiresAt)
      },
      async find(tokenHash) {
        return kv.get(k.refresh(tokenHash)) ?? null
      },
      // rotate() also stores the access token issued with the successor, in the same step.
      rotatesWithIssue: true,
      // Compare-and-swap: one rotation wins; the old token stays findable, marked, for reuse detection.
      // Everything it writes happens together: a refresh that fails leaves the old token usable.
      async rotate(oldHash, next, issue) {
        const key = k.refresh(oldHash)
        const entry = kv.entry(key)
        if (entry === undefined) return 'not_found'
        if (entry.value.rotated) return 'reused'
        if (issue?.accessToken !== undefined) kv.set(k.accessToken(issue.accessToken.tokenHash), issue.accessToken, issue.accessToken.expiresAt)
        kv.set(key, { ...entry.value, rotated: true }, entry.expiresAt)
        kv.set(k.refresh(next.tokenHash), { record: next, rotated: false }, next.expiresAt)
        return 'rotated'
      },
      async revoke(tokenHash) {
        kv.delete(k.refresh(tokenHash))
      },
    },

    grants: {
      async revoke(grantId, until) {
        kv.set(k.grant(grantId), true, until)
      },
      async isRevoked(grantId) {
        return kv.get(k.grant(grantId)) === true
      },
    },

    replay: {
      // Set-if-absent.
      async markUsed(key, expiresAt) {
        if (kv.get(k.replay(key)) !== undefined) return false
        kv.set(k.replay(key), true, expiresAt)
        return true
      },
    },

    interactions: {
      async save(record) {
        kv.set(k.interaction(record.uid), record, record.expiresAt)
      },
      async find(uid) {
        return kv.get(k.interaction(uid)) ?? null
      },
      // Remove-and-return, so an interaction finishes once.
      async consume(uid) {
        const record = kv.get(k.interaction(uid))
        if (record === undefined) return null
        kv.delete(k.interaction(uid))
        return record
      },
    },

    sessions: {
      async save(record) {
        kv.set(k.session(record.idHash), record, record.expiresAt)
      },
      async find(idHash) {
        return kv.get(k.session(idHash)) ?? null
      },
      async delete(idHash) {
        kv.delete(k.session(idHash))
      },
    },

    consents: {
      async find(sub, clientId) {
        return kv.get(k.consent(sub, clientId)) ?? null
      },
      async save(sub, clientId, scope, expiresAt) {
        kv.set(k.consent(sub, clientId), scope, expiresAt)
      },
      async revoke(sub, clientId) {
        kv.delete(k.consent(sub, clientId))
      },
    },

    rateLimits: {
      // The window is the first increment's; later ones do not extend it.
      async increment(key, windowEndsAt) {
        const entry = kv.entry(k.rate(key))
        const count = (entry?.value ?? 0) + 1
        kv.set(k.rate(key), count, entry?.expiresAt ?? windowEndsAt)
        return count
      },
      async reset(key) {
        kv.delete(k.rate(key))
      },
    },

    deviceCodes: {
      async save(record) {
        // Kept an hour past expiry (grantkit's DEVICE_CODE_GRACE; deviceCodeKeepUntil(record) computes it),
        // so that a late poll hears expired_token rather than invalid_grant.
        kv.set(k.device(record.deviceCodeHash), record, record.expiresAt + 3600)
        kv.set(k.userCode(record.userCodeHash), record.deviceCodeHash, record.expiresAt)
      },
      async findByUserCode(userCodeHash) {
        return pendingDevice(userCodeHash)?.value ?? null
      },
      // pending → approved or denied, once.
      async decide(userCodeHash, decision) {
        const found = pendingDevice(userCodeHash)
        if (found === undefined) return false
        const record = { ...found.value, status: decision.status }
        if (decision.status === 'approved') Object.assign(record, { sub: decision.sub, authTime: decision.authTime, grantedScope: decision.scope })
        kv.set(found.key, record, found.expiresAt)
        return true
      },
      // One poll: records the time and, when approved, consumes it, so one poll collects the tokens.
      async poll(deviceCodeHash, clientId, pollTime) {
        const key = k.device(deviceCodeHash)
        const entry = kv.entry(key)
        if (entry === undefined || entry.value.clientId !== clientId) return null
        const before = entry.value
        kv.set(key, { ...before, lastPolledAt: pollTime, status: before.status === 'approved' ? 'consumed' : before.status }, entry.expiresAt)
        return before
      },
      async slowDown(deviceCodeHash, interval) {
        const key = k.device(deviceCodeHash)
        const entry = kv.entry(key)
        if (entry !== undefined) kv.set(key, { ...entry.value, interval }, entry.expiresAt)
      },
    },

    /** Entries held, expired ones included until a read or a sweep drops them (for the demo). */
    get size() {
      return kv.size
    },
  }
}
