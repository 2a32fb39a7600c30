import { DEFAULT_SCRYPT_COST, hashPassword, parsePasswordHash, verifyPassword, type ScryptCost } from './password.js'

/** A person who can sign in. */
export interface UserAccount {
  /** Stable subject identifier (OIDC `sub`). */
  sub: string
  username: string
}

/** OIDC standard claims (OIDC Core §5.1) and any others, by name. */
export type UserClaims = Record<string, unknown>

/**
 * Where people and their claims come from. grantkit never stores passwords of
 * its own: the embedder's source checks them.
 */
export interface UserSource {
  findByUsername(username: string): Promise<UserAccount | undefined>
  /**
   * Checks a password. Called with `undefined` for an unknown username, and must
   * then spend about as long as for a wrong password (no user enumeration by timing).
   */
  verifyPassword(account: UserAccount | undefined, password: string): Promise<boolean>
  /** Claims of a subject, or undefined when it no longer exists. */
  claims(sub: string): Promise<UserClaims | undefined>
  /**
   * Whether the subject may use the admin console (docs/admin.md#console).
   * Asked at sign-in and again at every console request, so that taking the
   * right away ends access at once. Optional: without it nobody is one.
   *
   * @example
   * isAdministrator: async (sub) => (await db.user(sub))?.roles.includes('admin') ?? false
   */
  isAdministrator?(sub: string): Promise<boolean>
}

/** A user of a static configuration (as in `grantkit serve`'s `users`). */
export interface StaticUser {
  username: string
  /** The password; hashed with scrypt at start and then forgotten. */
  password?: string
  /** Or a hash from `hashPassword`. */
  password_hash?: string
  /** Claims; `sub` defaults to the username. */
  claims?: UserClaims
  /** True: an administrator of the admin console. Default false. */
  admin?: boolean
}

/**
 * A user source over a fixed list. Passwords are held only as scrypt hashes
 * and checked in constant time; an unknown username is checked against a dummy
 * hash so it takes as long as a wrong password.
 *
 * @example
 * const users = new StaticUserSource([{ username: 'alice', password: 'wonderland', claims: { name: 'Alice' } }])
 */
export class StaticUserSource implements UserSource {
  private readonly byUsername = new Map<string, { account: UserAccount; hash: NonNullable<ReturnType<typeof parsePasswordHash>> }>()
  private readonly bySub = new Map<string, UserClaims>()
  private readonly admins = new Set<string>()
  private readonly dummy: NonNullable<ReturnType<typeof parsePasswordHash>>

  constructor(users: readonly StaticUser[], options: { cost?: ScryptCost; path?: string } = {}) {
    const path = options.path ?? 'users'
    const cost = options.cost ?? DEFAULT_SCRYPT_COST
    if (!Array.isArray(users)) throw new TypeError(`${path}: must be an array`)
    users.forEach((u, i) => {
      const at = `${path}[${i}]`
      if (typeof u !== 'object' || u === null) throw new TypeError(`${at}: must be an object`)
      if (typeof u.username !== 'string' || u.username === '') throw new TypeError(`${at}.username: must be a non-empty string`)
      if (this.byUsername.has(u.username)) throw new TypeError(`${at}.username: "${u.username}" appears twice`)
      if ((u.password === undefined) === (u.password_hash === undefined)) throw new TypeError(`${at}: give exactly one of password and password_hash`)
      if (u.password !== undefined && (typeof u.password !== 'string' || u.password === '')) throw new TypeError(`${at}.password: must be a non-empty string`)
      const stored = u.password_hash ?? hashPassword(u.password!, cost)
      const hash = typeof stored === 'string' ? parsePasswordHash(stored) : undefined
      if (hash === undefined) throw new TypeError(`${at}.password_hash: must be a hash made by hashPassword (scrypt$N$r$p$salt$hash)`)
      if (u.claims !== undefined && (typeof u.claims !== 'object' || u.claims === null || Array.isArray(u.claims))) throw new TypeError(`${at}.claims: must be an object`)
      const sub = u.claims?.sub ?? u.username
      if (typeof sub !== 'string' || sub === '') throw new TypeError(`${at}.claims.sub: must be a non-empty string`)
      if (this.bySub.has(sub)) throw new TypeError(`${at}.claims.sub: "${sub}" appears twice`)
      if (u.admin !== undefined && typeof u.admin !== 'boolean') throw new TypeError(`${at}.admin: must be a boolean`)
      if (u.admin === true) this.admins.add(sub)
      this.byUsername.set(u.username, { account: { sub, username: u.username }, hash })
      this.bySub.set(sub, { ...u.claims, sub })
    })
    // The dummy costs as much as the dearest stored hash, so an unknown username is never the faster answer.
    let dearest = cost
    for (const { hash } of this.byUsername.values()) {
      if (hash.cost.N * hash.cost.r * hash.cost.p > dearest.N * dearest.r * dearest.p) dearest = hash.cost
    }
    this.dummy = parsePasswordHash(hashPassword('grantkit-dummy-password', dearest))!
  }

  async findByUsername(username: string): Promise<UserAccount | undefined> {
    return this.byUsername.get(username)?.account
  }

  async verifyPassword(account: UserAccount | undefined, password: string): Promise<boolean> {
    const entry = account === undefined ? undefined : this.byUsername.get(account.username)
    const ok = await verifyPassword(password, entry?.hash ?? this.dummy)
    return entry !== undefined && ok
  }

  async claims(sub: string): Promise<UserClaims | undefined> {
    return this.bySub.get(sub)
  }

  async isAdministrator(sub: string): Promise<boolean> {
    return this.admins.has(sub)
  }
}

/**
 * Finds and checks a user in one step, spending the same work whether or not
 * the user exists. No throttling: the login page and the password grant add that.
 *
 * @example
 * const account = await authenticateUser(users, 'alice', 'wonderland') // { sub: 'alice', username: 'alice' } or undefined
 */
export async function authenticateUser(users: UserSource, username: string, password: string): Promise<UserAccount | undefined> {
  const account = await users.findByUsername(username)
  const ok = await users.verifyPassword(account, password)
  return ok ? account : undefined
}
