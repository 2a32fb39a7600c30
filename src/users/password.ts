import { hash as argon2Hash, hashRaw as argon2Raw, hashSync as argon2HashSync, type Options as Argon2Options } from '@node-rs/argon2'
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto'

/**
 * Argon2id cost parameters (RFC 9106 §3.1). `memoryCost` is in KiB (`m=` of
 * the PHC string), `timeCost` in passes (`t=`), `parallelism` in lanes (`p=`).
 */
export interface PasswordHashCost {
  memoryCost: number
  timeCost: number
  parallelism: number
}

/**
 * OWASP's minimum for Argon2id (Password Storage Cheat Sheet): 19 MiB, two
 * passes, one lane. The default cost of every new hash.
 */
export const OWASP_MINIMUM_COST: Readonly<PasswordHashCost> = Object.freeze({ memoryCost: 19_456, timeCost: 2, parallelism: 1 })

/**
 * OWASP lists these (memory KiB, passes) pairs as equally strong; a cost is
 * strong enough when it reaches one of them in both memory and passes.
 */
const OWASP_EQUIVALENTS: ReadonlyArray<readonly [number, number]> = [
  [47_104, 1],
  [19_456, 2],
  [12_288, 3],
  [9_216, 4],
  [7_168, 5],
]

/** Upper bounds for any hash we compute, configured or stored: beyond them one login would be a memory or CPU DoS. */
const MAX_MEMORY_KIB = 262_144
const MAX_PASSES = 16
const MAX_LANES = 16
/** Floor for a stored Argon2id hash: below 1 MiB it is no password hash at all, whatever else it claims. */
const MIN_STORED_MEMORY_KIB = 1024
const HASH_BYTES = 32
const SALT_BYTES = 16

/** True when `cost` is at least one of OWASP's equivalent Argon2id configurations. */
export function meetsOwaspMinimum(cost: PasswordHashCost): boolean {
  return cost.parallelism >= 1 && OWASP_EQUIVALENTS.some(([m, t]) => cost.memoryCost >= m && cost.timeCost >= t)
}

/**
 * Validates an Argon2id cost: whole numbers within the bounds a server can
 * afford, and (unless `allowWeak`) at least OWASP's minimum.
 *
 * @throws TypeError naming `path`
 * @example
 * checkPasswordHashCost({ memoryCost: 19456, timeCost: 2, parallelism: 1 }, 'passwordHashing', false)
 */
export function checkPasswordHashCost(cost: PasswordHashCost, path: string, allowWeak: boolean): PasswordHashCost {
  const whole = (n: unknown, min: number, max: number): boolean => typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max
  if (!whole(cost.memoryCost, 8 * Math.max(1, cost.parallelism), MAX_MEMORY_KIB)) throw new TypeError(`${path}.memoryCost: must be a whole number of KiB from 8 per lane to ${MAX_MEMORY_KIB} (256 MiB)`)
  if (!whole(cost.timeCost, 1, MAX_PASSES)) throw new TypeError(`${path}.timeCost: must be a whole number from 1 to ${MAX_PASSES}`)
  if (!whole(cost.parallelism, 1, MAX_LANES)) throw new TypeError(`${path}.parallelism: must be a whole number from 1 to ${MAX_LANES}`)
  // SECURITY: OWASP Password Storage Cheat Sheet, Argon2id minimum (m=19 MiB, t=2, p=1 or an equivalent pair).
  if (!allowWeak && !meetsOwaspMinimum(cost)) {
    throw new TypeError(`${path}: memoryCost ${cost.memoryCost} KiB with timeCost ${cost.timeCost} is below OWASP's Argon2id minimum (19456 KiB with 2 passes, or 47104/1, 12288/3, 9216/4, 7168/5); set allowWeak only in tests`)
  }
  return { memoryCost: cost.memoryCost, timeCost: cost.timeCost, parallelism: cost.parallelism }
}

/** The library's `Algorithm.Argon2id` and `Version.V0x13`: const enums, which isolated modules cannot read. */
const ARGON2ID = 2 as Argon2Options['algorithm']
const VERSION_19 = 1 as Argon2Options['version']

const argon2Options = (cost: PasswordHashCost): Argon2Options => ({
  algorithm: ARGON2ID,
  version: VERSION_19,
  memoryCost: cost.memoryCost,
  timeCost: cost.timeCost,
  parallelism: cost.parallelism,
  outputLen: HASH_BYTES,
})

/**
 * Hashes a password with Argon2id and a random salt, as a PHC string
 * (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`). Synchronous: for
 * configuration at start and for scripts, never per request (it blocks for
 * tens of milliseconds). The server re-hashes at login off the event loop.
 *
 * @param cost default OWASP's minimum; not validated here (the server validates its option)
 * @example
 * const stored = hashPassword('wonderland') // '$argon2id$v=19$m=19456,t=2,p=1$…'
 */
export function hashPassword(password: string, cost: PasswordHashCost = OWASP_MINIMUM_COST): string {
  return argon2HashSync(password.normalize('NFC'), { ...argon2Options(cost), salt: randomBytes(SALT_BYTES) })
}

/**
 * `hashPassword` on libuv's thread pool: the event loop keeps serving
 * requests while the hash is computed.
 *
 * @example
 * const stored = await hashPasswordAsync('wonderland')
 */
export function hashPasswordAsync(password: string, cost: PasswordHashCost = OWASP_MINIMUM_COST): Promise<string> {
  return argon2Hash(password.normalize('NFC'), { ...argon2Options(cost), salt: randomBytes(SALT_BYTES) })
}

/** A stored hash, parsed: Argon2id (PHC) or the scrypt format of grantkit 0.1 (`scrypt$N$r$p$salt$hash`). */
export type ParsedPasswordHash =
  | { readonly kind: 'argon2id'; readonly cost: PasswordHashCost; readonly salt: Buffer; readonly hash: Buffer }
  | { readonly kind: 'scrypt'; readonly cost: { N: number; r: number; p: number }; readonly salt: Buffer; readonly hash: Buffer }

/** PHC B64: standard alphabet, no padding (the PHC string format). */
const PHC_B64 = /^[A-Za-z0-9+/]+$/

function phcBytes(text: string | undefined): Buffer | undefined {
  if (text === undefined || !PHC_B64.test(text) || text.length % 4 === 1) return undefined
  return Buffer.from(text, 'base64')
}

/**
 * Parses a stored hash; undefined when it is not one grantkit accepts:
 * Argon2id version 19 in the PHC string format within the cost bounds, or
 * the scrypt format of grantkit 0.1. Nothing else (bcrypt, argon2i, plain
 * digests) is a password hash here.
 */
export function parsePasswordHash(stored: string): ParsedPasswordHash | undefined {
  if (typeof stored !== 'string' || stored.length > 512) return undefined
  if (stored.startsWith('$argon2id$')) return parseArgon2id(stored)
  if (stored.startsWith('scrypt$')) return parseScrypt(stored)
  return undefined
}

function parseArgon2id(stored: string): ParsedPasswordHash | undefined {
  // $argon2id$v=19$m=…,t=…,p=…$salt$hash: the PHC string format, version 0x13 of RFC 9106.
  const parts = stored.split('$')
  if (parts.length !== 6 || parts[2] !== 'v=19') return undefined
  const params = /^m=([1-9][0-9]{0,9}),t=([1-9][0-9]{0,9}),p=([1-9][0-9]{0,2})$/.exec(parts[3]!)
  if (params === null) return undefined
  const cost = { memoryCost: Number(params[1]), timeCost: Number(params[2]), parallelism: Number(params[3]) }
  // Bounds: a stored hash must not make a login stall (too dear) nor pass as a hash when it is trivially cheap.
  if (cost.memoryCost < MIN_STORED_MEMORY_KIB || cost.memoryCost > MAX_MEMORY_KIB || cost.timeCost > MAX_PASSES || cost.parallelism > MAX_LANES || cost.memoryCost < 8 * cost.parallelism) return undefined
  const salt = phcBytes(parts[4])
  const hash = phcBytes(parts[5])
  // RFC 9106 §3.1: salt at least 8 bytes; we compare 32-byte tags only (what hashPassword writes, and the common default).
  if (salt === undefined || salt.length < 8 || salt.length > 64 || hash === undefined || hash.length !== HASH_BYTES) return undefined
  return { kind: 'argon2id', cost, salt, hash }
}

function parseScrypt(stored: string): ParsedPasswordHash | undefined {
  const parts = stored.split('$')
  if (parts.length !== 6) return undefined
  const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])]
  // Bounds keep a stored hash from being trivially weak (N < 2^10) or from making every login stall.
  if (![N, r, p].every((n) => Number.isInteger(n) && n > 0) || (N & (N - 1)) !== 0 || N < 2 ** 10 || N > 2 ** 20 || r > 32 || p > 16) return undefined
  const salt = Buffer.from(parts[4]!, 'base64url')
  const hash = Buffer.from(parts[5]!, 'base64url')
  if (salt.length < 8 || hash.length !== HASH_BYTES) return undefined
  return { kind: 'scrypt', cost: { N, r, p }, salt, hash }
}

/**
 * True when a parsed hash should be replaced at the next successful login:
 * it is scrypt (grantkit 0.1), or Argon2id cheaper than `cost` in memory,
 * passes or lanes.
 */
export function isOutdated(parsed: ParsedPasswordHash, cost: PasswordHashCost): boolean {
  if (parsed.kind !== 'argon2id') return true
  return parsed.cost.memoryCost < cost.memoryCost || parsed.cost.timeCost < cost.timeCost || parsed.cost.parallelism < cost.parallelism
}

const scryptMaxmem = (c: { N: number; r: number }): number => 256 * c.N * c.r + 1024 * 1024

/**
 * Checks a password against a parsed hash, off the event loop (libuv's
 * pool), comparing the derived bytes in constant time. Never rejects: a
 * failure of the KDF is a wrong password.
 */
export async function verifyParsedPassword(password: string, parsed: ParsedPasswordHash): Promise<boolean> {
  const secret = password.normalize('NFC')
  let derived: Buffer
  try {
    derived =
      parsed.kind === 'argon2id'
        ? await argon2Raw(secret, { ...argon2Options(parsed.cost), salt: parsed.salt })
        : await new Promise<Buffer>((resolve, reject) => {
            scrypt(secret, parsed.salt, HASH_BYTES, { ...parsed.cost, maxmem: scryptMaxmem(parsed.cost) }, (err, key) => (err === null ? resolve(key) : reject(err)))
          })
  } catch {
    return false
  }
  // RFC 9700 / OWASP: constant-time comparison of the tags, so timing says nothing about how much matched.
  return derived.length === parsed.hash.length && timingSafeEqual(derived, parsed.hash)
}

/**
 * What a password check found: `false` wrong, `true` right, `'outdated'` right
 * and the stored hash should be replaced. Truthy exactly when the password is
 * right, so code that reads it as a boolean stays correct.
 */
export type PasswordVerdict = boolean | 'outdated'

/**
 * Checks a password against a stored hash (Argon2id PHC string, or the
 * scrypt format of grantkit 0.1), off the event loop, in constant time.
 * A malformed or unknown hash is `false`, never an exception. For user
 * sources of your own: return its verdict from `verifyPassword`, and
 * grantkit re-hashes an `outdated` one through `updatePasswordHash`.
 *
 * @param cost the server's `passwordHashing` cost: a hash cheaper than it (or scrypt) is `'outdated'`
 * @example
 * const verdict = await verifyPasswordHash(row.password_hash, password) // true | false | 'outdated'
 */
export async function verifyPasswordHash(stored: string, password: string, cost: PasswordHashCost = OWASP_MINIMUM_COST): Promise<PasswordVerdict> {
  const parsed = parsePasswordHash(stored)
  if (parsed === undefined || typeof password !== 'string') return false
  if (!(await verifyParsedPassword(password, parsed))) return false
  return isOutdated(parsed, cost) ? 'outdated' : true
}
