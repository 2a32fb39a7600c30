import { randomInt } from 'node:crypto'

/**
 * RFC 8628 §6.1: consonants only, so no words are spelled and nothing is
 * confused (no vowels, no 0/O, 1/I). 20^8 ≈ 2^34.6 codes.
 */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ'
const LENGTH = 8

/** A fresh user code, formatted XXXX-XXXX. */
export function generateUserCode(): string {
  let code = ''
  for (let i = 0; i < LENGTH; i++) code += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)]
  return `${code.slice(0, 4)}-${code.slice(4)}`
}

/**
 * What a person typed, normalized: case and dashes/spaces do not matter
 * (RFC 8628 §6.1). Undefined when it cannot be a user code.
 */
export function normalizeUserCode(input: string): string | undefined {
  if (input.length > 32) return undefined
  const code = input.toUpperCase().replace(/[\s-]/g, '')
  if (code.length !== LENGTH) return undefined
  for (const c of code) if (!USER_CODE_ALPHABET.includes(c)) return undefined
  return code
}
