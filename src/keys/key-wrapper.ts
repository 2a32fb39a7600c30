import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'

/**
 * What seals private signing keys before they reach a shared storage: the
 * built-in AES-256-GCM wrapper (`createAesKeyWrapper`) or a KMS. `wrap` must
 * be an AEAD: `unwrap` fails unless both the wrapped text and `aad` are exactly
 * what `wrap` was given, so a sealed key cannot be moved to another record.
 *
 * @example
 * const kms: KeyWrapper = {
 *   id: 'kms-2026-01',
 *   wrap: async (plaintext, aad) => (await kms.encrypt({ plaintext, aad })).toString('base64url'),
 *   unwrap: async (wrapped, aad) => kms.decrypt({ ciphertext: Buffer.from(wrapped, 'base64url'), aad }),
 * }
 */
export interface KeyWrapper {
  /** Names this key-encryption key in every record it seals, so that rotation can keep older ones for opening. */
  readonly id: string
  /** Seals `plaintext` bound to `aad`; returns text to store. */
  wrap(plaintext: Uint8Array, aad: Uint8Array): Promise<string>
  /** Opens what `wrap` returned for the same `aad`; rejects when anything differs. */
  unwrap(wrapped: string, aad: Uint8Array): Promise<Uint8Array>
}

/** The environment variable `grantkit serve` reads the key-encryption key from. */
export const KEY_ENCRYPTION_KEY_ENV = 'GRANTKIT_KEY_ENCRYPTION_KEY'

/**
 * An id for a 32-byte key-encryption key that does not reveal it: the first
 * 64 bits of SHA-256 over a label and the key. Processes given the same key
 * agree on the id without configuring one.
 */
function fingerprint(key: Uint8Array): string {
  return `aes-${createHash('sha256').update('grantkit key-encryption key id\0').update(key).digest().subarray(0, 8).toString('base64url')}`
}

/**
 * The built-in `KeyWrapper`: AES-256-GCM (node:crypto) with a random 96-bit
 * IV per seal (NIST SP 800-38D §8.2.2: random IVs are safe far beyond the
 * number of keys a server ever seals). The stored text is
 * base64url(iv ‖ ciphertext ‖ 128-bit tag). The id defaults to a fingerprint
 * of the key.
 *
 * @example
 * const kek = createAesKeyWrapper(randomBytes(32))
 * const keys = await createSharedKeyStore(storage.keys, { keyEncryption: kek })
 */
export function createAesKeyWrapper(key: Uint8Array, id?: string): KeyWrapper {
  if (!(key instanceof Uint8Array) || key.length !== 32) throw new TypeError('keyEncryption: an AES-256-GCM key-encryption key must be 32 bytes')
  const secret = Buffer.from(key)
  const kekId = id ?? fingerprint(secret)
  return {
    id: kekId,
    async wrap(plaintext, aad) {
      const iv = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', secret, iv)
      cipher.setAAD(aad)
      const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()])
      return Buffer.concat([iv, ciphertext, cipher.getAuthTag()]).toString('base64url')
    },
    async unwrap(wrapped, aad) {
      const bytes = Buffer.from(wrapped, 'base64url')
      if (bytes.length < 12 + 16) throw new Error('sealed key: too short')
      const decipher = createDecipheriv('aes-256-gcm', secret, bytes.subarray(0, 12))
      decipher.setAAD(aad)
      decipher.setAuthTag(bytes.subarray(bytes.length - 16))
      return Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()])
    },
  }
}

/**
 * Reads a key-encryption key as `grantkit serve` takes it: exactly 32 bytes in
 * base64url (43 characters, no padding). Anything else is an error naming
 * `source`, the variable or file it came from.
 *
 * @example
 * const kek = parseKeyEncryptionKey(process.env.GRANTKIT_KEY_ENCRYPTION_KEY!, 'GRANTKIT_KEY_ENCRYPTION_KEY')
 */
export function parseKeyEncryptionKey(text: string, source: string): KeyWrapper {
  const value = text.trim()
  // Strict: base64url without padding, so that a typo or a hex or base64 value
  // cannot silently decode to other (or fewer) bytes.
  if (!/^[A-Za-z0-9_-]{43}$/.test(value)) {
    throw new TypeError(`${source}: must be 32 random bytes in base64url (43 characters), e.g. the output of: node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))"`)
  }
  const key = Buffer.from(value, 'base64url')
  if (key.length !== 32 || key.toString('base64url') !== value) throw new TypeError(`${source}: must be 32 random bytes in base64url (43 characters)`)
  return createAesKeyWrapper(key)
}

/** A sealed private key as stored in `SigningKeyRecord.privateJwk`. */
export interface SealedKey {
  /** Format marker and version. */
  sealed: 'grantkit/1'
  /** The id of the `KeyWrapper` that sealed it. */
  kek: string
  /** What `KeyWrapper.wrap` returned. */
  data: string
}

/**
 * Associated data of a sealed key: a purpose string and the record's kid, so
 * that a sealed key opens only as the private key of the record it was sealed
 * for (moving it to another kid, or using a blob sealed for another purpose
 * under the same key-encryption key, fails authentication).
 */
export function sealedKeyAad(kid: string): Uint8Array {
  return Buffer.from(`grantkit signing key\0${kid}`, 'utf8')
}

/** Parses `privateJwk` text as a `SealedKey`, or returns undefined when it is not one. */
export function parseSealedKey(text: string): SealedKey | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined
  const s = parsed as Partial<SealedKey>
  if (s.sealed !== 'grantkit/1' || typeof s.kek !== 'string' || typeof s.data !== 'string') return undefined
  return { sealed: s.sealed, kek: s.kek, data: s.data }
}

/** Seals `plaintext` (a private key set as JSON) for the record `kid` with `wrapper`. */
export async function sealKey(plaintext: string, kid: string, wrapper: KeyWrapper): Promise<string> {
  const sealed: SealedKey = { sealed: 'grantkit/1', kek: wrapper.id, data: await wrapper.wrap(Buffer.from(plaintext, 'utf8'), sealedKeyAad(kid)) }
  return JSON.stringify(sealed)
}

/**
 * Opens the `privateJwk` text of record `kid` with whichever of `wrappers`
 * sealed it. Refuses plain records.
 */
export async function openKey(text: string, kid: string, wrappers: readonly KeyWrapper[]): Promise<string> {
  const sealed = parseSealedKey(text)
  if (sealed === undefined) {
    // SECURITY: a plain key in storage is either from before sealing or
    // planted by whoever can write the database; neither is trusted.
    throw new Error(`shared keys: key "${kid}" is not sealed; run "grantkit keys seal --storage URL" once (or sealKeyRecords) to seal an existing deployment's keys`)
  }
  const wrapper = wrappers.find((w) => w.id === sealed.kek)
  if (wrapper === undefined) {
    throw new Error(`shared keys: key "${kid}" is sealed with key-encryption key "${sealed.kek}", which is not among the configured ones (${wrappers.map((w) => `"${w.id}"`).join(', ')})`)
  }
  try {
    return Buffer.from(await wrapper.unwrap(sealed.data, sealedKeyAad(kid))).toString('utf8')
  } catch (cause) {
    throw new Error(`shared keys: key "${kid}" cannot be opened with key-encryption key "${sealed.kek}" (tampered with, or moved from another record)`, { cause })
  }
}
