import { randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto'

/** scrypt cost parameters; N = 2^15 takes tens of milliseconds on one core, as a password hash should. */
export interface ScryptCost {
  N: number
  r: number
  p: number
}

export const DEFAULT_SCRYPT_COST: ScryptCost = { N: 32768, r: 8, p: 1 }
const KEY_LENGTH = 32

function maxmem(cost: ScryptCost): number {
  return 256 * cost.N * cost.r + 1024 * 1024
}

/**
 * Hashes a password with scrypt and a random salt, as `scrypt$N$r$p$salt$hash`.
 * Use it to put `password_hash` instead of a password in configuration.
 *
 * @example
 * const stored = hashPassword('wonderland')
 */
export function hashPassword(password: string, cost: ScryptCost = DEFAULT_SCRYPT_COST): string {
  const salt = randomBytes(16)
  const hash = scryptSync(password.normalize('NFC'), salt, KEY_LENGTH, { ...cost, maxmem: maxmem(cost) })
  return `scrypt$${cost.N}$${cost.r}$${cost.p}$${salt.toString('base64url')}$${hash.toString('base64url')}`
}

interface ParsedHash {
  cost: ScryptCost
  salt: Buffer
  hash: Buffer
}

/** Parses a stored hash; undefined when it is not one this module wrote. */
export function parsePasswordHash(stored: string): ParsedHash | undefined {
  const parts = stored.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined
  const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])]
  // Bounds keep a stored hash from being trivially weak (N < 2^10) or from making every login stall.
  if (![N, r, p].every((n) => Number.isInteger(n) && n > 0) || (N & (N - 1)) !== 0 || N < 2 ** 10 || N > 2 ** 20 || r > 32 || p > 16) return undefined
  const salt = Buffer.from(parts[4]!, 'base64url')
  const hash = Buffer.from(parts[5]!, 'base64url')
  if (salt.length < 8 || hash.length !== KEY_LENGTH) return undefined
  return { cost: { N, r, p }, salt, hash }
}

/**
 * Checks a password against a stored hash, off the event loop (libuv's pool)
 * and in constant time for the comparison.
 */
export function verifyPassword(password: string, parsed: ParsedHash): Promise<boolean> {
  return new Promise((resolve) => {
    scrypt(password.normalize('NFC'), parsed.salt, KEY_LENGTH, { ...parsed.cost, maxmem: maxmem(parsed.cost) }, (err, derived) => {
      resolve(err === null && timingSafeEqual(derived, parsed.hash))
    })
  })
}
