import { hashRaw } from '@node-rs/argon2'
import { scrypt, timingSafeEqual } from 'node:crypto'
import { inspect } from 'node:util'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { authenticateUser, hashPassword, StaticUserSource, type StaticUser } from '../../src/index.js'
import { fakeUsers, legacyScryptHash, WEAK } from './fixtures.js'

// Count the KDF runs and constant-time comparisons the source makes.
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>()
  return { ...actual, scrypt: vi.fn(actual.scrypt), timingSafeEqual: vi.fn(actual.timingSafeEqual) }
})
vi.mock('@node-rs/argon2', async (importOriginal) => {
  const actual = await importOriginal<typeof import('@node-rs/argon2')>()
  return { ...actual, hashRaw: vi.fn(actual.hashRaw) }
})

function source(users: StaticUser[], path?: string): StaticUserSource {
  return new StaticUserSource(users, { cost: WEAK, allowWeak: true, ...(path !== undefined && { path }) })
}

const argon2Calls = () => vi.mocked(hashRaw).mock.calls as unknown as Array<[string, { memoryCost: number; timeCost: number; parallelism: number }]>

beforeEach(() => {
  vi.mocked(scrypt).mockClear()
  vi.mocked(hashRaw).mockClear()
  vi.mocked(timingSafeEqual).mockClear()
})

describe('StaticUserSource', () => {
  it('keeps only Argon2id hashes of the passwords it is given', async () => {
    const users = source([{ username: 'alice', password: 'wonderland-secret', claims: { name: 'Alice' } }])
    expect(inspect(users, { depth: Infinity, showHidden: true })).not.toContain('wonderland-secret')
    const alice = await users.findByUsername('alice')
    expect(alice).toEqual({ sub: 'alice', username: 'alice' })
    expect(await users.verifyPassword(alice, 'wonderland-secret')).toBe(true)
    expect(argon2Calls()).toHaveLength(1)
    expect(argon2Calls()[0]![1]).toMatchObject(WEAK)
    expect(scrypt).not.toHaveBeenCalled()
  })

  it("hashes at OWASP's minimum by default, and refuses a weaker cost without allowWeak", () => {
    expect(new StaticUserSource([]).cost).toEqual({ memoryCost: 19_456, timeCost: 2, parallelism: 1 })
    expect(() => new StaticUserSource([], { cost: WEAK })).toThrow(/^passwordHashing: memoryCost 1024 KiB with timeCost 1 is below OWASP's Argon2id minimum/)
  })

  it('refuses a wrong password', async () => {
    const users = source([{ username: 'alice', password: 'wonderland' }])
    expect(await users.verifyPassword(await users.findByUsername('alice'), 'Wonderland')).toBe(false)
  })

  it('compares every derived key in constant time', async () => {
    const users = source([{ username: 'alice', password: 'wonderland' }])
    const alice = await users.findByUsername('alice')
    await users.verifyPassword(alice, 'wonderland')
    await users.verifyPassword(alice, 'wrong')
    await users.verifyPassword(undefined, 'wrong')
    expect(timingSafeEqual).toHaveBeenCalledTimes(3)
  })

  it('checks an unknown user against a dummy hash at the same cost, and never accepts it', async () => {
    const users = source([{ username: 'alice', password: 'wonderland' }])
    expect(await users.findByUsername('mallory')).toBeUndefined()
    expect(await users.verifyPassword(undefined, 'wonderland')).toBe(false)
    expect(await users.verifyPassword(undefined, 'grantkit-dummy-password')).toBe(false)
    expect(await users.verifyPassword({ sub: 'mallory', username: 'mallory' }, 'grantkit-dummy-password')).toBe(false)
    expect(argon2Calls()).toHaveLength(3)
    for (const call of argon2Calls()) expect(call[1]).toMatchObject(WEAK)
  })

  it('checks an unknown user at the cost of the dearest stored Argon2id hash', async () => {
    const dear = { memoryCost: 2048, timeCost: 2, parallelism: 1 }
    const users = source([{ username: 'alice', password_hash: hashPassword('wonderland', dear) }])
    await users.verifyPassword(undefined, 'x')
    expect(argon2Calls()[0]![1]).toMatchObject(dear)
  })

  it('verifies a scrypt hash of grantkit 0.1 as outdated, and a replaced hash as valid', async () => {
    const users = source([{ username: 'alice', password_hash: legacyScryptHash('wonderland'), claims: { sub: 'a-1' } }])
    const alice = await users.findByUsername('alice')
    expect(await users.verifyPassword(alice, 'wrong')).toBe(false)
    expect(await users.verifyPassword(alice, 'wonderland')).toBe('outdated')
    expect(scrypt).toHaveBeenCalledTimes(2)
    await users.updatePasswordHash('a-1', hashPassword('wonderland', WEAK))
    expect(await users.verifyPassword(alice, 'wonderland')).toBe(true)
    expect(scrypt).toHaveBeenCalledTimes(2)
  })

  it('refuses to store anything but an Argon2id hash, or for an unknown subject', async () => {
    const users = source([{ username: 'alice', password: 'wonderland' }])
    await expect(users.updatePasswordHash('alice', legacyScryptHash('x'))).rejects.toThrow(/Argon2id PHC string/)
    await expect(users.updatePasswordHash('alice', 'plain')).rejects.toThrow(TypeError)
    await expect(users.updatePasswordHash('bob', hashPassword('x', WEAK))).rejects.toThrow(/no user with sub "bob"/)
    expect(await users.verifyPassword(await users.findByUsername('alice'), 'wonderland')).toBe(true)
  })

  it('accepts a password_hash made by hashPassword', async () => {
    const users = source([{ username: 'alice', password_hash: hashPassword('wonderland', WEAK) }])
    const alice = await users.findByUsername('alice')
    expect(await users.verifyPassword(alice, 'wonderland')).toBe(true)
    expect(await users.verifyPassword(alice, 'other')).toBe(false)
  })

  it('uses claims.sub as the subject, defaults it to the username, and returns the claims by subject', async () => {
    const users = source([
      { username: 'alice', password: 'a', claims: { sub: 'u-1', name: 'Alice' } },
      { username: 'bob', password: 'b' },
    ])
    expect(await users.findByUsername('alice')).toEqual({ sub: 'u-1', username: 'alice' })
    expect(await users.claims('u-1')).toEqual({ sub: 'u-1', name: 'Alice' })
    expect(await users.claims('bob')).toEqual({ sub: 'bob' })
    expect(await users.claims('alice')).toBeUndefined()
  })

  it.each<[string, unknown, RegExp]>([
    ['a list that is not an array', { alice: {} }, /^users: must be an array/],
    ['an entry that is not an object', [{ username: 'a', password: 'x' }, 'bob'], /^users\[1\]: must be an object/],
    ['an empty username', [{ username: 'a', password: 'x' }, { username: '', password: 'x' }], /^users\[1\]\.username: /],
    ['a duplicate username', [{ username: 'alice', password: 'x' }, { username: 'alice', password: 'y' }], /^users\[1\]\.username: "alice" appears twice/],
    ['neither password nor password_hash', [{ username: 'alice' }], /^users\[0\]: give exactly one of password and password_hash/],
    ['both password and password_hash', [{ username: 'alice', password: 'x', password_hash: 'y' }], /^users\[0\]: give exactly one/],
    ['an empty password', [{ username: 'alice', password: '' }], /^users\[0\]\.password: must be a non-empty string/],
    ['a password that is not a string', [{ username: 'alice', password: 1234 }], /^users\[0\]\.password: /],
    ['a password_hash not made by hashPassword', [{ username: 'alice', password_hash: '$2b$10$abcdefghijklmnopqrstuv' }], /^users\[0\]\.password_hash: /],
    ['a password_hash that is not a string', [{ username: 'alice', password_hash: 42 }], /^users\[0\]\.password_hash: /],
    ['claims that are an array', [{ username: 'alice', password: 'x', claims: [] }], /^users\[0\]\.claims: must be an object/],
    ['a claims.sub that is not a string', [{ username: 'alice', password: 'x', claims: { sub: 7 } }], /^users\[0\]\.claims\.sub: /],
    ['a duplicate subject', [{ username: 'alice', password: 'x' }, { username: 'bob', password: 'y', claims: { sub: 'alice' } }], /^users\[1\]\.claims\.sub: "alice" appears twice/],
  ])('refuses %s with a TypeError naming the field', (_, users, message) => {
    expect(() => source(users as StaticUser[])).toThrow(TypeError)
    expect(() => source(users as StaticUser[])).toThrow(message)
  })

  it('names fields under the path it is given', () => {
    expect(() => source([{ username: 'alice' }], 'config.users')).toThrow(/^config\.users\[0\]: /)
  })
})

describe('authenticateUser', () => {
  it('checks the password once and returns the account for the right one', async () => {
    const users = fakeUsers({ alice: { password: 'wonderland' } })
    expect(await authenticateUser(users, 'alice', 'wonderland')).toEqual({ sub: 'alice', username: 'alice' })
    expect(users.verifyPassword).toHaveBeenCalledTimes(1)
  })

  it('checks a password once for an unknown user too, passing undefined as the account', async () => {
    const users = fakeUsers({ alice: { password: 'wonderland' } })
    expect(await authenticateUser(users, 'mallory', 'wonderland')).toBeUndefined()
    expect(users.verifyPassword).toHaveBeenCalledTimes(1)
    expect(users.verifyPassword).toHaveBeenCalledWith(undefined, 'wonderland')
  })
})
