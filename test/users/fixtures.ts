import { randomBytes, scryptSync } from 'node:crypto'
import { vi, type Mock } from 'vitest'
import type { UserAccount, UserClaims, UserSource } from '../../src/index.js'

/** A person of the fake source: a plain password (no scrypt, so tests stay fast) and claims. */
export interface FakeUser {
  password: string
  claims?: UserClaims
}

/** A UserSource whose every method is a spy, so tests can count password checks. */
export interface FakeUserSource extends UserSource {
  findByUsername: Mock<(username: string) => Promise<UserAccount | undefined>>
  verifyPassword: Mock<(account: UserAccount | undefined, password: string) => Promise<boolean>>
  claims: Mock<(sub: string) => Promise<UserClaims | undefined>>
}

/**
 * A tiny UserSource over a fixed map of users, keyed by username. `sub` is
 * `claims.sub` or the username.
 *
 * @example
 * const users = fakeUsers({ alice: { password: 'wonderland', claims: { name: 'Alice' } } })
 */
export function fakeUsers(users: Record<string, FakeUser>): FakeUserSource {
  const byUsername = new Map(Object.entries(users))
  const subOf = (username: string, u: FakeUser): string => (typeof u.claims?.sub === 'string' ? u.claims.sub : username)
  const bySub = new Map([...byUsername].map(([username, u]) => [subOf(username, u), { ...u.claims, sub: subOf(username, u) }]))
  return {
    findByUsername: vi.fn(async (username: string) => {
      const u = byUsername.get(username)
      return u === undefined ? undefined : { sub: subOf(username, u), username }
    }),
    verifyPassword: vi.fn(async (account: UserAccount | undefined, password: string) => {
      // Like a real source: the same work for an unknown user (one comparison), then the answer.
      const expected = account === undefined ? undefined : byUsername.get(account.username)?.password
      const same = (expected ?? '\u0000dummy') === password
      return expected !== undefined && same
    }),
    claims: vi.fn(async (sub: string) => bySub.get(sub)),
  }
}

/** The people most tests use. */
export const ALICE_CLAIMS: UserClaims = {
  sub: 'alice',
  name: 'Alice Liddell',
  given_name: 'Alice',
  family_name: 'Liddell',
  preferred_username: 'alice',
  email: 'alice@example.com',
  email_verified: true,
  phone_number: '+44 20 7946 0000',
  phone_number_verified: false,
  address: { locality: 'Oxford', country: 'GB' },
  'https://example.com/role': 'admin',
}

export function defaultUsers(): FakeUserSource {
  return fakeUsers({
    alice: { password: 'wonderland', claims: ALICE_CLAIMS },
    bob: { password: 'builder', claims: { sub: 'bob', name: 'Bob' } },
  })
}

/** An Argon2id cost far below OWASP's minimum, so tests stay fast; needs `allowWeak`. */
export const WEAK = { memoryCost: 1024, timeCost: 1, parallelism: 1 } as const

/**
 * A password hash as grantkit 0.1 wrote it (`scrypt$N$r$p$salt$hash`,
 * base64url), made here with node:crypto directly rather than by grantkit, at
 * the cheapest cost 0.1 accepted.
 *
 * @example
 * const stored = legacyScryptHash('wonderland') // 'scrypt$1024$8$1$…$…'
 */
export function legacyScryptHash(password: string): string {
  const salt = randomBytes(16)
  const hash = scryptSync(password.normalize('NFC'), salt, 32, { N: 1024, r: 8, p: 1 })
  return `scrypt$1024$8$1$${salt.toString('base64url')}$${hash.toString('base64url')}`
}
