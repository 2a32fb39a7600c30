import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'

/*
 * Every read-modify-write of the Redis storage is one of these Lua scripts, so
 * Redis runs it atomically. Scripts never decode the stored JSON: records are
 * kept as opaque text next to the few fields a script compares or changes, so
 * numbers and strings come back exactly as they were saved.
 *
 * Times are passed in as ARGV (seconds, the storage's clock) and compared with
 * the stored expiry: the key's TTL follows Redis's clock, the check follows
 * the caller's, which is what lets tests move a fake clock.
 */

interface ScriptDefinition {
  /** How many of the arguments are keys; `many`: as many as the caller passes (a batch). */
  keys: number | 'many'
  lua: string
}

/**
 * One access token and the cutoffs over it, as a Lua function `find(key)`:
 * nil (no token), {record} (its ids are not plain ASCII: the caller reads the
 * cutoffs itself), or {record, c1, c2, c3} with the three cutoff values (false
 * when unset). ARGV: the key prefixes of the client, consent and subject cutoffs.
 */
const FIND_WITH_CUTOFF = `
local function find(key)
  local v = redis.call('GET', key)
  if not v then return false end
  local ok, r = pcall(cjson.decode, v)
  if not ok or type(r) ~= 'table' then return {v} end
  local c, s = r.clientId, r.sub
  -- Printable ASCII without quote or backslash: JSON.stringify leaves such a string as it is, so the consent key is built exactly.
  local function plain(x) return type(x) == 'string' and not string.find(x, '[^ -~]') and not string.find(x, '["\\\\]') end
  if not plain(c) or not plain(s) then return {v} end
  local cut = redis.call('MGET', ARGV[1] .. c, ARGV[2] .. '["' .. s .. '","' .. c .. '"]', ARGV[3] .. s)
  return {v, cut[1], cut[2], cut[3]}
end`

const definitions = {
  /**
   * KEYS[1] an access token; ARGV: the key prefixes of the client, consent and
   * subject cutoffs. Returns nil (no token), {record} (its ids are not plain
   * ASCII: the caller reads the cutoffs itself), or {record, c1, c2, c3} with
   * the three cutoff values (false when unset). The one script that reads a
   * record's JSON: only for the two ids that name its cutoff keys. It names
   * keys outside KEYS, so it is used on a single Redis only, never a cluster.
   */
  findWithCutoff: {
    keys: 1,
    lua: `${FIND_WITH_CUTOFF}
return find(KEYS[1])`,
  },
  /**
   * findWithCutoff for a batch of calls (../batch.ts): KEYS the access tokens,
   * ARGV as findWithCutoff's. Returns one answer per key, in order, each as
   * findWithCutoff would. Single server only.
   */
  findAccessTokensWithCutoff: {
    keys: 'many',
    lua: `${FIND_WITH_CUTOFF}
local out = {}
for i = 1, #KEYS do out[i] = find(KEYS[i]) end
return out`,
  },
  /**
   * A batch of access token saves (../batch.ts): KEYS the tokens; ARGV a
   * record and its ttl in ms for each key, in order (a ttl <= 0 deletes).
   * Single server only: the keys hash to unrelated slots.
   */
  saveAccessTokens: {
    keys: 'many',
    lua: `
for i = 1, #KEYS do
  local ttl = tonumber(ARGV[2 * i])
  if ttl > 0 then redis.call('SET', KEYS[i], ARGV[2 * i - 1], 'PX', ttl) else redis.call('DEL', KEYS[i]) end
end
return #KEYS`,
  },
  /** KEYS[1]; ARGV: ttl ms, then field/value pairs. Replaces the hash whole. */
  putHash: {
    keys: 1,
    lua: `
redis.call('DEL', KEYS[1])
if tonumber(ARGV[1]) > 0 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 2))
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return 1`,
  },

  /** KEYS[1] code; ARGV: now. Returns nil (not found), {'reused', grantId} or {'consumed', recordJson}. */
  consumeCode: {
    keys: 1,
    lua: `
local v = redis.call('HMGET', KEYS[1], 'x', 'c', 'g', 'r')
if not v[1] or tonumber(v[1]) <= tonumber(ARGV[1]) then return false end
if v[2] == '1' then return {'reused', v[3]} end
-- The tombstone keeps only the grant id, to revoke on a replay, until the code would have expired.
redis.call('HSET', KEYS[1], 'c', '1')
redis.call('HDEL', KEYS[1], 'r')
return {'consumed', v[4]}`,
  },

  /** KEYS[1] old token, KEYS[2] successor; ARGV: now, successor ttl ms, successor field/value pairs. */
  rotateRefresh: {
    keys: 2,
    lua: `
local v = redis.call('HMGET', KEYS[1], 'x', 'o')
if not v[1] or tonumber(v[1]) <= tonumber(ARGV[1]) then return 'not_found' end
if v[2] == '1' then return 'reused' end
redis.call('HSET', KEYS[1], 'o', '1')
redis.call('DEL', KEYS[2])
if tonumber(ARGV[2]) > 0 then
  redis.call('HSET', KEYS[2], unpack(ARGV, 3))
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
return 'rotated'`,
  },

  /**
   * rotateRefresh that also stores the opaque access token issued with the
   * successor. KEYS[1] old token, KEYS[2] successor, KEYS[3] access token;
   * ARGV: now, successor ttl ms, access token ttl ms, access token JSON,
   * successor field/value pairs. Redis runs a script whole but does not roll
   * back one that fails half-way, so every check comes before the first write,
   * and the access token (the write that could be refused) is written first.
   */
  rotateRefreshIssue: {
    keys: 3,
    lua: `
local v = redis.call('HMGET', KEYS[1], 'x', 'o')
if not v[1] or tonumber(v[1]) <= tonumber(ARGV[1]) then return 'not_found' end
if v[2] == '1' then return 'reused' end
if tonumber(ARGV[3]) > 0 then redis.call('SET', KEYS[3], ARGV[4], 'PX', ARGV[3]) end
redis.call('HSET', KEYS[1], 'o', '1')
redis.call('DEL', KEYS[2])
if tonumber(ARGV[2]) > 0 then
  redis.call('HSET', KEYS[2], unpack(ARGV, 5))
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
return 'rotated'`,
  },

  /**
   * KEYS[1] old refresh token; ARGV: now. The deciding step of a rotation on
   * a Redis Cluster (stores.ts rotateAcrossSlots), where the successor lives
   * in another slot and is written beforehand.
   */
  markRotated: {
    keys: 1,
    lua: `
local v = redis.call('HMGET', KEYS[1], 'x', 'o')
if not v[1] or tonumber(v[1]) <= tonumber(ARGV[1]) then return 'not_found' end
if v[2] == '1' then return 'reused' end
redis.call('HSET', KEYS[1], 'o', '1')
return 'rotated'`,
  },

  /** KEYS[1]; ARGV: now, expiresAt, ttl ms. Set-if-absent where "absent" includes "expired by the caller's clock". */
  markUsed: {
    keys: 1,
    lua: `
local v = redis.call('GET', KEYS[1])
if v and tonumber(v) > tonumber(ARGV[1]) then return 0 end
if tonumber(ARGV[3]) > 0 then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
else
  redis.call('DEL', KEYS[1])
end
return 1`,
  },

  /** KEYS[1]; ARGV: now, windowEndsAt, ttl ms. INCR, and the expiry only when the window is new. */
  increment: {
    keys: 1,
    lua: `
local w = redis.call('HGET', KEYS[1], 'w')
if w and tonumber(w) > tonumber(ARGV[1]) then return redis.call('HINCRBY', KEYS[1], 'n', 1) end
redis.call('DEL', KEYS[1])
if tonumber(ARGV[3]) > 0 then
  redis.call('HSET', KEYS[1], 'n', 1, 'w', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return 1`,
  },

  /** KEYS[1] device record, KEYS[2] user code; ARGV: record ttl ms, user code ttl ms, device code hash, record field/value pairs. */
  saveDevice: {
    keys: 2,
    lua: `
redis.call('DEL', KEYS[1])
if tonumber(ARGV[1]) > 0 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 4))
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
if tonumber(ARGV[2]) > 0 then
  redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[2])
else
  redis.call('DEL', KEYS[2])
end
return 1`,
  },

  /** KEYS[1] device record; ARGV: userCodeHash, now, status, decision JSON or ''. Pending → approved or denied, once. */
  decideDevice: {
    keys: 1,
    lua: `
local v = redis.call('HMGET', KEYS[1], 'u', 'x', 's')
if v[1] ~= ARGV[1] or not v[2] or tonumber(v[2]) <= tonumber(ARGV[2]) or v[3] ~= 'pending' then return 0 end
redis.call('HSET', KEYS[1], 's', ARGV[3])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'd', ARGV[4]) end
return 1`,
  },

  /** KEYS[1] device record; ARGV: clientId, now, poll time. Returns the hash as it was before, or nil. */
  pollDevice: {
    keys: 1,
    lua: `
local h = redis.call('HGETALL', KEYS[1])
if #h == 0 then return false end
local f = {}
for i = 1, #h, 2 do f[h[i]] = h[i + 1] end
if f['k'] ~= ARGV[1] or not f['e'] or tonumber(f['e']) <= tonumber(ARGV[2]) then return false end
redis.call('HSET', KEYS[1], 'p', ARGV[3])
if f['s'] == 'approved' then redis.call('HSET', KEYS[1], 's', 'consumed') end
return h`,
  },

  /** KEYS[1] device record; ARGV: now, interval. Never recreates a record that is gone. */
  slowDownDevice: {
    keys: 1,
    lua: `
local e = redis.call('HGET', KEYS[1], 'e')
if not e or tonumber(e) <= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'i', ARGV[2])
return 1`,
  },

  /** KEYS[1] key list; ARGV: ttl ms. Returns every entry and keeps the list alive while it is read. */
  listKeys: {
    keys: 1,
    lua: `
local items = redis.call('LRANGE', KEYS[1], 0, -1)
if #items > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return items`,
  },

  /** KEYS[1] key list; ARGV: ttl ms, entry. Adds the entry only to an empty list. */
  initializeKeys: {
    keys: 1,
    lua: `
if redis.call('LLEN', KEYS[1]) == 0 then redis.call('RPUSH', KEYS[1], ARGV[2]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return redis.call('LRANGE', KEYS[1], 0, -1)`,
  },

  /**
   * KEYS[1] key list; ARGV: ttl ms, now, kid (hex), entry, retiredAt, publishedUntil.
   * Entries are "kidHex TAB retiredAt TAB publishedUntil TAB json", times '' when unset.
   * Retires every other key not already retired by then, drops keys no longer
   * published, appends the new one (once: a retried rotation changes nothing).
   * The rules are isRetiredByRotation and isKeyPublished of policy.ts, in Lua.
   */
  rotateKeys: {
    keys: 1,
    lua: `
local items = redis.call('LRANGE', KEYS[1], 0, -1)
local now = tonumber(ARGV[2])
local retiredAt = tonumber(ARGV[5])
local out = {}
local exists = false
for _, item in ipairs(items) do
  local kid, r, p, json = string.match(item, '^([^\\t]*)\\t([^\\t]*)\\t([^\\t]*)\\t(.*)$')
  if kid == ARGV[3] then
    exists = true
  elseif r == '' or tonumber(r) > retiredAt then
    r = ARGV[5]
    p = ARGV[6]
  end
  if p == '' or tonumber(p) > now then table.insert(out, kid .. '\\t' .. r .. '\\t' .. p .. '\\t' .. json) end
end
if not exists then table.insert(out, ARGV[4]) end
redis.call('DEL', KEYS[1])
if #out > 0 then
  redis.call('RPUSH', KEYS[1], unpack(out))
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return #out`,
  },
  // Compare-and-swap of one entry of the key list (grantkit keys seal).
  replaceKey: {
    keys: 1,
    lua: `
local items = redis.call('LRANGE', KEYS[1], 0, -1)
for i, item in ipairs(items) do
  if item == ARGV[1] then
    redis.call('LSET', KEYS[1], i - 1, ARGV[2])
    return 1
  end
end
return 0`,
  },
  /** KEYS[1] client hash, KEYS[2] id index; ARGV: id, version, record. Set-if-absent of a stored client. */
  createClient: {
    keys: 2,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'r', ARGV[3])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 1`,
  },
  /** KEYS[1] client hash; ARGV: expected version, new version, record. Compare-and-swap on the version. */
  updateClient: {
    keys: 1,
    lua: `
local v = redis.call('HGET', KEYS[1], 'v')
if not v or v ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'r', ARGV[3])
return 1`,
  },
  /** KEYS[1] client hash, KEYS[2] id index; ARGV: id. The client and its index entry go together. */
  deleteClient: {
    keys: 2,
    lua: `
local n = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return n`,
  },

  /**
   * A session and its indexes, in one step. KEYS[1] record, KEYS[2] its
   * clients (a set), KEYS[3] sid → id hash, KEYS[4] the person's id hashes (a
   * set); ARGV: ttl ms, record JSON, id hash, '1' when it has a sid, then its
   * clients. The person's set lives as long as their longest session; members
   * whose session is gone are dropped when it is read.
   */
  saveSession: {
    keys: 4,
    lua: `
local ttl = tonumber(ARGV[1])
redis.call('DEL', KEYS[2])
if ttl <= 0 then
  redis.call('DEL', KEYS[1])
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
if #ARGV > 4 then
  redis.call('SADD', KEYS[2], unpack(ARGV, 5))
  redis.call('PEXPIRE', KEYS[2], ttl)
end
if ARGV[4] == '1' then redis.call('SET', KEYS[3], ARGV[3], 'PX', ttl) end
redis.call('SADD', KEYS[4], ARGV[3])
if redis.call('PTTL', KEYS[4]) < ttl then redis.call('PEXPIRE', KEYS[4], ttl) end
return 1`,
  },

  /**
   * saveSession without the sid and per-person indexes, which on a Redis
   * Cluster live in other slots. KEYS[1] record, KEYS[2] its clients (same
   * hash tag); ARGV: ttl ms, record JSON, then its clients. Returns 0 when the
   * session was already expired (and is now gone), 1 when saved.
   */
  saveSessionRecord: {
    keys: 2,
    lua: `
local ttl = tonumber(ARGV[1])
redis.call('DEL', KEYS[2])
if ttl <= 0 then
  redis.call('DEL', KEYS[1])
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
if #ARGV > 2 then
  redis.call('SADD', KEYS[2], unpack(ARGV, 3))
  redis.call('PEXPIRE', KEYS[2], ttl)
end
return 1`,
  },

  /** KEYS[1] a set; ARGV: ttl ms, member. Adds the member; the set lives as long as its longest-lived member. */
  addToIndex: {
    keys: 1,
    lua: `
local ttl = tonumber(ARGV[1])
redis.call('SADD', KEYS[1], ARGV[2])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1`,
  },

  /** KEYS[1] session record, KEYS[2] its clients; ARGV: client id. Adds it while the session lives, for as long. */
  addSessionClient: {
    keys: 2,
    lua: `
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then return 0 end
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ttl)
return 1`,
  },
} satisfies Record<string, ScriptDefinition>

export type ScriptName = keyof typeof definitions

/** Every script, for the tests that check each one's keys share a cluster slot. */
export const REDIS_SCRIPTS: Readonly<Record<ScriptName, ScriptDefinition>> = definitions

/**
 * Scripts a Redis Cluster never runs: their keys are found by unrelated
 * hashes, so on a cluster the stores take single-slot steps instead.
 */
export const SINGLE_SERVER_SCRIPTS: readonly ScriptName[] = ['rotateRefresh', 'rotateRefreshIssue', 'saveDevice', 'saveSession', 'findWithCutoff', 'findAccessTokensWithCutoff', 'saveAccessTokens']

type ScriptCall = (...args: (string | number)[]) => Promise<unknown>

/**
 * The scripts, registered on the client with `defineCommand`: ioredis sends
 * EVALSHA and falls back to EVAL once per connection when Redis does not have
 * the script cached. Command names carry a hash of the script, so two grantkit
 * versions sharing one client never run each other's scripts.
 */
export function defineScripts(client: Redis): (name: ScriptName, keys: string[], args: (string | number)[]) => Promise<unknown> {
  const commands = new Map<ScriptName, string>()
  for (const [name, def] of Object.entries(definitions) as [ScriptName, ScriptDefinition][]) {
    const command = `grantkit_${name}_${createHash('sha1').update(def.lua).digest('hex').slice(0, 10)}`
    if (typeof (client as unknown as Record<string, unknown>)[command] !== 'function') {
      // Without numberOfKeys, ioredis takes the count of keys as the first argument of each call.
      client.defineCommand(command, def.keys === 'many' ? { lua: def.lua } : { numberOfKeys: def.keys, lua: def.lua })
    }
    commands.set(name, command)
  }
  return (name, keys, args) => {
    const fn = (client as unknown as Record<string, ScriptCall>)[commands.get(name)!]!
    return definitions[name].keys === 'many' ? fn.call(client, keys.length, ...keys, ...args) : fn.call(client, ...keys, ...args)
  }
}
