/**
 * Storage policy that every backend follows, written once: how long artefacts
 * are kept beyond their expiry, and how client-supplied keys are made safe to
 * store. The memory, PostgreSQL and Redis backends all import these, so a
 * change here changes them together (and the conformance kit checks them).
 */
import { hashToken } from '../crypto/random.js'

/**
 * Seconds a device authorization is kept past its `expiresAt`, so that a device
 * polling late hears `expired_token` (RFC 8628 §3.5) rather than
 * `invalid_grant` for a code the server has forgotten.
 */
export const DEVICE_CODE_GRACE = 3600

/**
 * Until when (seconds since the epoch) a device authorization is kept: its
 * expiry plus `DEVICE_CODE_GRACE`. Polls are answered until then; the user
 * code stops working at `expiresAt`.
 *
 * @example
 * deviceCodeKeepUntil({ expiresAt: 1_800_000_600 }) // 1_800_004_200
 */
export function deviceCodeKeepUntil(record: { expiresAt: number }): number {
  return record.expiresAt + DEVICE_CODE_GRACE
}

/**
 * Seconds the shared signing-key set lives without being read. It has no
 * expiry of its own, so a store that needs a TTL renews this one on every read
 * and write: the set lapses only after a year in which no process read it,
 * when everything its keys signed is long expired.
 */
export const KEY_SET_IDLE_TTL = 365 * 24 * 3600

/**
 * The form in which a key made of client input (a replay `jti`, a rate-limit
 * username) is stored where the backend cannot hold any string as it is:
 * SHA-256, base64url (43 characters). It keeps equality, bounds the size, and
 * removes NUL and other bytes text columns refuse. The same hash as opaque
 * tokens (`hashToken`), so there is one hashing rule for all stored keys.
 *
 * @example
 * storedKeyDigest('jti-1') // 'b7Z…' (43 characters)
 */
export function storedKeyDigest(key: string): string {
  return hashToken(key)
}

/**
 * Whether something that expires at `expiresAt` is still live at `now`
 * (both seconds since the epoch): expiry is exclusive, so a record is gone at
 * the very second it expires, in every backend.
 */
export function isLive(expiresAt: number, now: number): boolean {
  return expiresAt > now
}

/**
 * Whether a signing key is still published at `now`: until its
 * `publishedUntil`, or for good when that is unset. Keys no longer published
 * are left out of `KeyStorage.list()` (the SQL and Lua of the PostgreSQL and
 * Redis backends state the same rule).
 */
export function isKeyPublished(record: { publishedUntil?: number | null }, now: number): boolean {
  return record.publishedUntil === undefined || record.publishedUntil === null || record.publishedUntil > now
}

/**
 * Whether a rotation that retires keys at `retiredAt` retires this one: every
 * key not already retired by then. A key retired earlier keeps its earlier
 * retirement, so a second rotation never extends the life of a key.
 */
export function isRetiredByRotation(record: { retiredAt?: number | null }, retiredAt: number): boolean {
  return record.retiredAt === undefined || record.retiredAt === null || record.retiredAt > retiredAt
}

/** The order of `KeyStorage.list()`: oldest first, by `activeFrom`, then `createdAt`, then `kid`. */
export function compareKeys(a: { activeFrom: number; createdAt: number; kid: string }, b: { activeFrom: number; createdAt: number; kid: string }): number {
  return a.activeFrom - b.activeFrom || a.createdAt - b.createdAt || (a.kid < b.kid ? -1 : a.kid > b.kid ? 1 : 0)
}

/**
 * The order of `ClientStore.list()`: by client id, code point by code point,
 * which is the byte order of UTF-8. PostgreSQL sorts so with `COLLATE "C"` and
 * Redis's ZRANGEBYLEX does by itself; JavaScript's `<` compares UTF-16 units,
 * which differs past U+FFFF, hence this.
 */
export function compareClientIds(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

/** The largest page `ClientStore.list()` is asked for. */
export const CLIENT_PAGE_LIMIT = 1000

/**
 * Most audit events an `AuditEventStore` keeps: the memory store and the
 * Redis capped list drop the oldest past it; PostgreSQL drops by age
 * (`keepUntil`) at cleanup. Enough for an audit page, not an archive: ship
 * `admin.audit` events to a log of your own for that.
 */
export const AUDIT_EVENT_CAP = 10_000
