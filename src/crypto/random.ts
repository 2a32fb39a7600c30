import * as nodeCrypto from 'node:crypto'
import { createHash, randomBytes, randomFillSync, randomUUID, timingSafeEqual } from 'node:crypto'

/**
 * A fresh opaque secret: `bytes` random bytes, base64url encoded.
 * The default 32 bytes gives the 256 bits that codes and tokens need.
 *
 * @example
 * const secret = randomToken() // 43 characters
 */
export function randomToken(bytes = 32): string {
  if (bytes > 256) return randomBytes(bytes).toString('base64url')
  // Slices of a pooled buffer filled by the same CSPRNG: one syscall per 4 KiB
  // instead of one per token. Each byte is handed out once.
  if (poolOffset + bytes > POOL.length) {
    randomFillSync(POOL)
    poolOffset = 0
  }
  const token = POOL.toString('base64url', poolOffset, poolOffset + bytes)
  poolOffset += bytes
  return token
}

const POOL = Buffer.allocUnsafe(4096)
let poolOffset = POOL.length

const ID_BUFFER = Buffer.allocUnsafe(36)

/**
 * A random identifier for jti values and records: a UUID (v4) as a flat string.
 * randomUUID() builds its string by concatenation, a rope V8 keeps as it is in
 * every stored record (about 520 bytes); the flat copy is about 90.
 */
export function randomId(): string {
  ID_BUFFER.write(randomUUID(), 0, 'latin1')
  return ID_BUFFER.toString('latin1', 0, 36)
}

/**
 * SHA-256 of a token, base64url. Opaque tokens, codes and secrets are stored only
 * as this hash; a high-entropy secret needs no slow hash (RFC 9700 §4.14 leaves
 * storage to the server; a leaked table then holds nothing usable).
 *
 * @example
 * await storage.refreshTokens.find(hashToken(presented))
 */
export function hashToken(token: string): string {
  return oneShotHash !== undefined ? oneShotHash('sha256', token, 'base64url') : createHash('sha256').update(token).digest('base64url')
}

// crypto.hash (Node 20.12+) skips the Hash object on the hot path.
const oneShotHash = (nodeCrypto as { hash?: (alg: string, data: string, enc: 'base64url') => string }).hash

/** Compares two strings in time that depends only on their length. */
export function constantTimeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a)
  const bb = Buffer.from(b)
  if (ab.length !== bb.length) {
    // Still spend a comparison so the length mismatch is not faster by much.
    timingSafeEqual(ab, ab)
    return false
  }
  return timingSafeEqual(ab, bb)
}
