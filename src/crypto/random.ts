import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto'

/**
 * A fresh opaque secret: `bytes` random bytes, base64url encoded.
 * The default 32 bytes gives the 256 bits that codes and tokens need.
 */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url')
}

/** A random identifier for jti values and records. */
export function randomId(): string {
  return randomUUID()
}

/**
 * SHA-256 of a token, base64url. Opaque tokens, codes and secrets are stored only
 * as this hash; a high-entropy secret needs no slow hash (RFC 9700 §4.14 leaves
 * storage to the server; a leaked table then holds nothing usable).
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}

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
