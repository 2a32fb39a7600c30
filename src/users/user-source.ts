import {
  checkPasswordHashCost,
  hashPassword,
  isOutdated,
  OWASP_MINIMUM_COST,
  parsePasswordHash,
  verifyParsedPassword,
  type ParsedPasswordHash,
  type PasswordHashCost,
  type PasswordVerdict,
} from './password.js'

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
   * `true`: right; `false`: wrong; `'outdated'`: right, and the stored hash
   * should be replaced (what `verifyPasswordHash` answers for a scrypt hash or
   * one cheaper than the server's cost), which grantkit does through
   * `updatePasswordHash`. Truthy exactly when the password is right. grantkit bounds how many run
   * at once (option `passwordHashing`).
   */
  verifyPassword(account: UserAccount | undefined, password: string): Promise<PasswordVerdict>
  /** Claims of a subject, or undefined when it no longer exists. */
  claims(sub: string): Promise<UserClaims | undefined>
  /**
   * Optional: stores `hash` (an Argon2id PHC string at the server's
   * `passwordHashing` cost, made from the password just verified) in place of
   * an `outdated` one. Called after a successful login whose check answered
   * `'outdated'`; a failure is reported as a `server.error` event and the login
   * still succeeds.
   */
  updatePasswordHash?(sub: string, hash: string): Promise<void>

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
  /** The password; hashed with Argon2id at start and then forgotten. */
  password?: string
  /** Or a hash from `hashPassword` (Argon2id PHC string), or a scrypt hash of grantkit 0.1 (upgraded at the next login). */
  password_hash?: string
  /** Claims; `sub` defaults to the username. */
  claims?: UserClaims
  /** True: an administrator of the admin console. Default false. */
  admin?: boolean
}

/** Whether a `verifyPassword` answer lets the person in. */
export function passwordAccepted(verdict: PasswordVerdict): boolean {
  // Strict: anything else a source might return (undefined, a string) is a wrong password.
  return verdict === true || verdict === 'outdated'
}

/** Options of `StaticUserSource`. */
export interface StaticUserSourceOptions {
  /** Argon2id cost of the hashes it makes (and below which a stored hash is re-hashed at login). Default OWASP's minimum. */
  cost?: PasswordHashCost
  /** SECURITY: accept a `cost` below OWASP's minimum. Only for tests. */
  allowWeak?: boolean
  /** Path of the list in messages. Default `users`. */
  path?: string
}

interface Entry {
  readonly account: UserAccount
  hash: ParsedPasswordHash
}

/**
 * A user source over a fixed list. Passwords are held only as Argon2id hashes
 * (PHC strings; scrypt hashes of grantkit 0.1 are accepted and replaced at the
 * next successful login) and checked off the event loop, in constant time; an
 * unknown username is checked against a dummy hash at the same cost, so it
 * takes as long as a wrong password.
 *
 * @example
 * const users = new StaticUserSource([{ username: 'alice', password: 'wonderland', claims: { name: 'Alice' } }])
 */
export class StaticUserSource implements UserSource {
  private readonly byUsername = new Map<string, Entry>()
  private readonly entryBySub = new Map<string, Entry>()
  private readonly bySub = new Map<string, UserClaims>()
  private readonly dummy: ParsedPasswordHash
  /** The cost of new hashes; a stored hash below it is `outdated`. */
  readonly cost: PasswordHashCost
  private readonly admins = new Set<string>()

  constructor(users: readonly StaticUser[], options: StaticUserSourceOptions = {}) {
    const path = options.path ?? 'users'
    const cost = (this.cost = checkPasswordHashCost(options.cost ?? OWASP_MINIMUM_COST, 'passwordHashing', options.allowWeak === true))
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
      if (hash === undefined) throw new TypeError(`${at}.password_hash: must be a hash made by hashPassword ($argon2id$v=19$m=…,t=…,p=…$salt$hash, or scrypt$N$r$p$salt$hash of grantkit 0.1)`)
      if (u.claims !== undefined && (typeof u.claims !== 'object' || u.claims === null || Array.isArray(u.claims))) throw new TypeError(`${at}.claims: must be an object`)
      const sub = u.claims?.sub ?? u.username
      if (typeof sub !== 'string' || sub === '') throw new TypeError(`${at}.claims.sub: must be a non-empty string`)
      if (this.bySub.has(sub)) throw new TypeError(`${at}.claims.sub: "${sub}" appears twice`)
      if (u.admin !== undefined && typeof u.admin !== 'boolean') throw new TypeError(`${at}.admin: must be a boolean`)
      if (u.admin === true) this.admins.add(sub)
      const entry: Entry = { account: { sub, username: u.username }, hash }
      this.byUsername.set(u.username, entry)
      this.entryBySub.set(sub, entry)
      this.bySub.set(sub, { ...u.claims, sub })
    })
    // The dummy costs as much as the dearest Argon2id hash (at least the configured cost), so an unknown username
    // is never the faster answer once hashes are current. SECURITY: a scrypt hash of 0.1 is slower until its owner
    // signs in once and it is replaced; the docs say so.
    let dearest = cost
    for (const { hash } of this.byUsername.values()) {
      if (hash.kind === 'argon2id' && hash.cost.memoryCost * hash.cost.timeCost * hash.cost.parallelism > dearest.memoryCost * dearest.timeCost * dearest.parallelism) dearest = hash.cost
    }
    this.dummy = parsePasswordHash(hashPassword('grantkit-dummy-password', dearest))!
  }

  async findByUsername(username: string): Promise<UserAccount | undefined> {
    return this.byUsername.get(username)?.account
  }

  async verifyPassword(account: UserAccount | undefined, password: string): Promise<PasswordVerdict> {
    const entry = account === undefined ? undefined : this.byUsername.get(account.username)
    const ok = await verifyParsedPassword(password, entry?.hash ?? this.dummy)
    if (entry === undefined || !ok) return false
    return isOutdated(entry.hash, this.cost) ? 'outdated' : true
  }

  /**
   * Replaces a user's hash in memory (the list itself is not rewritten:
   * after a restart a `password` entry is hashed afresh, a `password_hash`
   * entry is upgraded again at its first login).
   *
   * @throws TypeError for an unknown subject or a hash that is not Argon2id
   */
  async updatePasswordHash(sub: string, hash: string): Promise<void> {
    const entry = this.entryBySub.get(sub)
    const parsed = parsePasswordHash(hash)
    if (entry === undefined) throw new TypeError(`updatePasswordHash: no user with sub "${sub}"`)
    if (parsed === undefined || parsed.kind !== 'argon2id') throw new TypeError('updatePasswordHash: hash must be an Argon2id PHC string')
    entry.hash = parsed
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
  return passwordAccepted(await users.verifyPassword(account, password)) ? account : undefined
}
