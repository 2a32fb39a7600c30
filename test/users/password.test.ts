import { describe, expect, it } from 'vitest'
import { DEFAULT_SCRYPT_COST, hashPassword, parsePasswordHash, verifyPassword } from '../../src/users/password.js'

/** A cost small enough for tests; production uses DEFAULT_SCRYPT_COST. */
const CHEAP = { N: 1024, r: 8, p: 1 }

describe('hashPassword / verifyPassword (scrypt)', () => {
  it('hashes with scrypt at N=2^15, r=8, p=1 by default', () => {
    expect(DEFAULT_SCRYPT_COST).toEqual({ N: 32768, r: 8, p: 1 })
    const stored = hashPassword('wonderland')
    expect(stored).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/)
    expect(stored).not.toContain('wonderland')
  })

  it('uses a fresh random salt for every hash', () => {
    expect(hashPassword('wonderland', CHEAP)).not.toBe(hashPassword('wonderland', CHEAP))
  })

  it('verifies the right password and refuses a wrong one', async () => {
    const parsed = parsePasswordHash(hashPassword('wonderland', CHEAP))!
    expect(await verifyPassword('wonderland', parsed)).toBe(true)
    expect(await verifyPassword('wonderlanD', parsed)).toBe(false)
    expect(await verifyPassword('', parsed)).toBe(false)
    expect(await verifyPassword('wonderland'.repeat(100), parsed)).toBe(false)
  })

  it('normalizes to NFC, so a composed and a decomposed é are the same password', async () => {
    const parsed = parsePasswordHash(hashPassword('caf\u00e9', CHEAP))!
    expect(await verifyPassword('cafe\u0301', parsed)).toBe(true)
  })

  it.each([
    ['another scheme', 'bcrypt$10$abc'],
    ['too few fields', 'scrypt$1024$8$1$c2FsdHNhbHQ'],
    ['N not a power of two', `scrypt$1000$8$1$${'A'.repeat(22)}$${'A'.repeat(43)}`],
    ['N over 2^20', `scrypt$${2 ** 21}$8$1$${'A'.repeat(22)}$${'A'.repeat(43)}`],
    ['a zero r', `scrypt$1024$0$1$${'A'.repeat(22)}$${'A'.repeat(43)}`],
    ['a short salt', `scrypt$1024$8$1$AAAA$${'A'.repeat(43)}`],
    ['a hash of the wrong length', `scrypt$1024$8$1$${'A'.repeat(22)}$AAAA`],
  ])('refuses a stored hash with %s', (_, stored) => {
    expect(parsePasswordHash(stored)).toBeUndefined()
  })
})
