import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import type { TokenSet } from '../types.js'
import type { SealedTokens } from './types.js'

/**
 * Encryption keys for tokens at rest. Every key can open; only `currentKeyId`
 * seals, so rotating is: add a new key, make it current, and drop the old one
 * once every record has been rewritten (each write re-seals with the current key).
 */
export interface EncryptionOptions {
  /** Key id → 32 random bytes, or their base64/base64url text (see `generateEncryptionKey`). */
  keys: Record<string, string | Uint8Array>
  /** The id of the key new records are sealed with. */
  currentKeyId: string
}

/** Why a record could not be opened: a key it names is unknown, or authentication failed. */
export class DecryptionError extends Error {
  override readonly name = 'DecryptionError'
}

const IV_BYTES = 12
const TAG_BYTES = 16
const FORMAT = 'grantkit.client.tokens.v1'

/**
 * 32 random bytes as base64url: a new key for `EncryptionOptions.keys`.
 *
 * @example
 * console.log(generateEncryptionKey()) // store it in your secret manager
 */
export function generateEncryptionKey(): string {
  return randomBytes(32).toString('base64url')
}

function decodeKey(value: unknown, path: string): Buffer {
  let key: Buffer
  if (value instanceof Uint8Array) key = Buffer.from(value)
  else if (typeof value === 'string' && /^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) key = Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64')
  else throw new TypeError(`${path}: must be 32 bytes, or their base64 text`)
  if (key.length !== 32) throw new TypeError(`${path}: must be 32 bytes (AES-256), not ${key.length}`)
  return key
}

/**
 * Seals and opens token records with AES-256-GCM. The associated data binds
 * a ciphertext to its provider, subject and key id: a record copied to another
 * row fails authentication instead of handing one user's token to another.
 * The client uses it internally; it is exported for migrations and tests.
 *
 * @example
 * const cipher = new TokenCipher({ keys: { k1: oldKey, k2: newKey }, currentKeyId: 'k2' })
 * const rewrapped = cipher.seal('google', id, cipher.open('google', id, await store.get('google', id)))
 */
export class TokenCipher {
  private readonly keys = new Map<string, Buffer>()
  private readonly current: string

  constructor(options: EncryptionOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('encryption: is required ({ keys, currentKeyId }); tokens are never stored in clear')
    if (typeof options.keys !== 'object' || options.keys === null) throw new TypeError('encryption.keys: must be an object of key id → key')
    for (const [id, value] of Object.entries(options.keys)) {
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) throw new TypeError(`encryption.keys: key id "${id}" must be 1-64 of A-Z a-z 0-9 . _ -`)
      this.keys.set(id, decodeKey(value, `encryption.keys["${id}"]`))
    }
    if (typeof options.currentKeyId !== 'string' || !this.keys.has(options.currentKeyId)) {
      throw new TypeError('encryption.currentKeyId: must name one of encryption.keys')
    }
    this.current = options.currentKeyId
  }

  private aad(provider: string, subject: string, keyId: string): Buffer {
    // JSON keeps the parts unambiguous whatever characters they hold.
    return Buffer.from(JSON.stringify([FORMAT, provider, subject, keyId]), 'utf8')
  }

  /** Seals with the current key. */
  seal(provider: string, subject: string, tokens: TokenSet): SealedTokens {
    const key = this.keys.get(this.current)!
    const iv = randomBytes(IV_BYTES)
    const cipher = createCipheriv('aes-256-gcm', key, iv)
    cipher.setAAD(this.aad(provider, subject, this.current))
    const body = Buffer.concat([cipher.update(JSON.stringify(tokens), 'utf8'), cipher.final()])
    return {
      keyId: this.current,
      ciphertext: Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url'),
      expiresAt: tokens.expiresAt ?? null,
    }
  }

  /** Opens a record with the key it names. @throws DecryptionError */
  open(provider: string, subject: string, sealed: SealedTokens): TokenSet {
    const key = this.keys.get(sealed.keyId)
    if (key === undefined) throw new DecryptionError(`unknown key id ${String(sealed.keyId).slice(0, 64)}`)
    const raw = Buffer.from(sealed.ciphertext, 'base64url')
    if (raw.length < IV_BYTES + TAG_BYTES + 1) throw new DecryptionError('ciphertext too short')
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES))
      decipher.setAAD(this.aad(provider, subject, sealed.keyId))
      decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES))
      const plain = Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()])
      return JSON.parse(plain.toString('utf8')) as TokenSet
    } catch (cause) {
      throw new DecryptionError('authentication failed: wrong key, or a record of another provider or subject', { cause })
    }
  }
}
