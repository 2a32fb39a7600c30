import { verify as argon2Verify } from '@node-rs/argon2'
import { randomBytes, scryptSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  checkPasswordHashCost,
  hashPassword,
  hashPasswordAsync,
  OWASP_MINIMUM_COST,
  parsePasswordHash,
  verifyParsedPassword,
  verifyPasswordHash,
} from '../../src/users/password.js'
import { legacyScryptHash, WEAK } from './fixtures.js'

describe('hashPassword (Argon2id, PHC string format)', () => {
  it("hashes with Argon2id at OWASP's minimum by default: m=19456 KiB, t=2, p=1, version 19", () => {
    expect(OWASP_MINIMUM_COST).toEqual({ memoryCost: 19_456, timeCost: 2, parallelism: 1 })
    const stored = hashPassword('wonderland')
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/)
    expect(stored).not.toContain('wonderland')
  })

  it('writes the standard format that another Argon2 implementation verifies', async () => {
    // The library's own PHC verifier parses our string independently of our parser.
    expect(await argon2Verify(hashPassword('wonderland', WEAK), 'wonderland')).toBe(true)
    expect(await argon2Verify(await hashPasswordAsync('wonderland', WEAK), 'wonderland')).toBe(true)
  })

  it('uses a fresh random salt for every hash', () => {
    expect(hashPassword('wonderland', WEAK)).not.toBe(hashPassword('wonderland', WEAK))
  })

  it('hashes at the cost it is given', () => {
    expect(hashPassword('wonderland', { memoryCost: 47_104, timeCost: 1, parallelism: 1 })).toMatch(/^\$argon2id\$v=19\$m=47104,t=1,p=1\$/)
  })
})

describe('verifyPasswordHash', () => {
  it('verifies the right password against an Argon2id hash and refuses a wrong one', async () => {
    const stored = hashPassword('wonderland')
    expect(await verifyPasswordHash(stored, 'wonderland')).toBe(true)
    expect(await verifyPasswordHash(stored, 'wonderlanD')).toBe(false)
    expect(await verifyPasswordHash(stored, '')).toBe(false)
    expect(await verifyPasswordHash(stored, 'wonderland'.repeat(100))).toBe(false)
  })

  it('verifies a scrypt hash of grantkit 0.1 and calls it outdated', async () => {
    const stored = legacyScryptHash('wonderland')
    expect(await verifyPasswordHash(stored, 'wonderland')).toBe('outdated')
    expect(await verifyPasswordHash(stored, 'wrong')).toBe(false)
  })

  it('calls an Argon2id hash cheaper than the configured cost outdated, in any of memory, passes or lanes', async () => {
    const cheap = hashPassword('wonderland', WEAK)
    expect(await verifyPasswordHash(cheap, 'wonderland')).toBe('outdated')
    expect(await verifyPasswordHash(cheap, 'wonderland', WEAK)).toBe(true)
    const fewerPasses = hashPassword('wonderland', { memoryCost: 47_104, timeCost: 1, parallelism: 1 })
    expect(await verifyPasswordHash(fewerPasses, 'wonderland')).toBe('outdated')
    expect(await verifyPasswordHash(hashPassword('wonderland', { ...WEAK, parallelism: 2 }), 'wonderland', { ...WEAK, parallelism: 2 })).toBe(true)
    expect(await verifyPasswordHash(hashPassword('wonderland', WEAK), 'wonderland', { ...WEAK, parallelism: 2 })).toBe('outdated')
  })

  it('normalizes to NFC, so a composed and a decomposed é are the same password', async () => {
    expect(await verifyPasswordHash(hashPassword('caf\u00e9', WEAK), 'cafe\u0301', WEAK)).toBe(true)
  })

  const salt = randomBytes(16).toString('base64').replace(/=+$/, '')
  const tag = randomBytes(32).toString('base64').replace(/=+$/, '')
  it.each([
    ['another scheme (bcrypt)', '$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234'],
    ['argon2i, not argon2id', `$argon2i$v=19$m=19456,t=2,p=1$${salt}$${tag}`],
    ['argon2id version 16', `$argon2id$v=16$m=19456,t=2,p=1$${salt}$${tag}`],
    ['argon2id without a version', `$argon2id$m=19456,t=2,p=1$${salt}$${tag}`],
    ['parameters out of order', `$argon2id$v=19$t=2,m=19456,p=1$${salt}$${tag}`],
    ['a memory cost over 256 MiB', `$argon2id$v=19$m=4194304,t=2,p=1$${salt}$${tag}`],
    ['a memory cost under 1 MiB', `$argon2id$v=19$m=64,t=1,p=1$${salt}$${tag}`],
    ['more than 16 passes', `$argon2id$v=19$m=19456,t=100,p=1$${salt}$${tag}`],
    ['a zero time cost', `$argon2id$v=19$m=19456,t=0,p=1$${salt}$${tag}`],
    ['a salt of 4 bytes', `$argon2id$v=19$m=19456,t=2,p=1$AAAAAA$${tag}`],
    ['padding in the salt', `$argon2id$v=19$m=19456,t=2,p=1$${salt}==$${tag}`],
    ['a base64url alphabet', `$argon2id$v=19$m=19456,t=2,p=1$${salt.replace(/[+/]/g, '-')}-_$${tag}`],
    ['a 16-byte tag', `$argon2id$v=19$m=19456,t=2,p=1$${salt}$${tag.slice(0, 22)}`],
    ['a missing tag', `$argon2id$v=19$m=19456,t=2,p=1$${salt}`],
    ['an extra field', `$argon2id$v=19$m=19456,t=2,p=1$${salt}$${tag}$x`],
    ['scrypt with too few fields', 'scrypt$1024$8$1$c2FsdHNhbHQ'],
    ['scrypt with N not a power of two', `scrypt$1000$8$1$${'A'.repeat(22)}$${'A'.repeat(43)}`],
    ['scrypt with N over 2^20', `scrypt$${2 ** 21}$8$1$${'A'.repeat(22)}$${'A'.repeat(43)}`],
    ['scrypt with a zero r', `scrypt$1024$0$1$${'A'.repeat(22)}$${'A'.repeat(43)}`],
    ['scrypt with a short salt', `scrypt$1024$8$1$AAAA$${'A'.repeat(43)}`],
    ['an empty string', ''],
    ['a very long string', `$argon2id$v=19$m=19456,t=2,p=1$${'A'.repeat(600)}$${tag}`],
  ])('refuses a stored hash with %s, without throwing', async (_, stored) => {
    expect(parsePasswordHash(stored)).toBeUndefined()
    expect(await verifyPasswordHash(stored, 'wonderland')).toBe(false)
  })

  it('refuses a value that is not a string, without throwing', async () => {
    expect(await verifyPasswordHash(42 as unknown as string, 'wonderland')).toBe(false)
    expect(await verifyPasswordHash(hashPassword('wonderland', WEAK), undefined as unknown as string)).toBe(false)
  })

  it('checks off the event loop: the call returns before the hash is done, and timers keep firing meanwhile', async () => {
    const parsed = parsePasswordHash(hashPassword('wonderland', { memoryCost: 65_536, timeCost: 3, parallelism: 1 }))!
    let ticks = 0
    const timer = setInterval(() => ticks++, 1)
    let settled = false
    const pending = verifyParsedPassword('wonderland', parsed).then((ok) => ((settled = true), ok))
    // Synchronously after the call nothing is decided yet: the KDF runs on libuv's pool, not in this call.
    expect(settled).toBe(false)
    expect(await pending).toBe(true)
    clearInterval(timer)
    // A 64 MiB, 3-pass hash takes tens of milliseconds; on the event loop it would let no 1 ms timer fire until done.
    expect(ticks).toBeGreaterThan(0)
  })
})

describe('checkPasswordHashCost', () => {
  it.each([
    ['19456 KiB, 2 passes', { memoryCost: 19_456, timeCost: 2, parallelism: 1 }],
    ['47104 KiB, 1 pass', { memoryCost: 47_104, timeCost: 1, parallelism: 1 }],
    ['12288 KiB, 3 passes', { memoryCost: 12_288, timeCost: 3, parallelism: 1 }],
    ['9216 KiB, 4 passes', { memoryCost: 9216, timeCost: 4, parallelism: 1 }],
    ['7168 KiB, 5 passes', { memoryCost: 7168, timeCost: 5, parallelism: 1 }],
    ['RFC 9106 second recommendation, 64 MiB, 3 passes, 4 lanes', { memoryCost: 65_536, timeCost: 3, parallelism: 4 }],
  ])("accepts OWASP's equivalent %s", (_, cost) => {
    expect(checkPasswordHashCost(cost, 'passwordHashing', false)).toEqual(cost)
  })

  it.each([
    ['19455 KiB, 2 passes', { memoryCost: 19_455, timeCost: 2, parallelism: 1 }, /^passwordHashing: memoryCost 19455 KiB with timeCost 2 is below OWASP's Argon2id minimum/],
    ['19456 KiB, 1 pass', { memoryCost: 19_456, timeCost: 1, parallelism: 1 }, /below OWASP's Argon2id minimum/],
    ['7168 KiB, 4 passes', { memoryCost: 7168, timeCost: 4, parallelism: 1 }, /below OWASP's Argon2id minimum/],
    ['over 256 MiB', { memoryCost: 262_145, timeCost: 2, parallelism: 1 }, /^passwordHashing\.memoryCost: must be a whole number of KiB/],
    ['a fraction of a KiB', { memoryCost: 19_456.5, timeCost: 2, parallelism: 1 }, /^passwordHashing\.memoryCost: /],
    ['17 passes', { memoryCost: 19_456, timeCost: 17, parallelism: 1 }, /^passwordHashing\.timeCost: must be a whole number from 1 to 16/],
    ['zero lanes', { memoryCost: 19_456, timeCost: 2, parallelism: 0 }, /^passwordHashing\.parallelism: /],
  ])('refuses %s', (_, cost, message) => {
    expect(() => checkPasswordHashCost(cost, 'passwordHashing', false)).toThrow(message)
  })

  it('lets allowWeak through a cost below the minimum, and still refuses one out of bounds', () => {
    expect(checkPasswordHashCost(WEAK, 'passwordHashing', true)).toEqual(WEAK)
    expect(() => checkPasswordHashCost({ memoryCost: 4, timeCost: 1, parallelism: 1 }, 'passwordHashing', true)).toThrow(/memoryCost/)
  })
})

describe('legacy scrypt fixture', () => {
  it('is the 0.1 format: scrypt$N$r$p$salt$hash, base64url', () => {
    const stored = legacyScryptHash('pw')
    const [, , , , salt, hash] = stored.split('$')
    expect(stored).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/)
    expect(scryptSync('pw', Buffer.from(salt!, 'base64url'), 32, { N: 1024, r: 8, p: 1 }).toString('base64url')).toBe(hash)
  })
})
