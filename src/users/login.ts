import type { ServerContext } from '../context.js'
import { hashToken } from '../crypto/random.js'
import { signCookieValue, verifyCookieValue } from '../http/cookies.js'
import { hashPasswordAsync } from './password.js'
import { passwordAccepted, type UserAccount } from './user-source.js'

/** Where a password attempt comes from: what the throttle counts besides the account. */
export interface LoginOrigin {
  /** The address the adapter trusts as the client's (`GrantkitRequest.remoteAddress`). */
  remoteAddress: string | undefined
  /** The known-device cookie this browser sent, if any (login page only: the password grant has no browser). */
  knownDevice?: string | undefined
  /** The request's id, for the `user.authentication.failed` event. */
  requestId?: string | undefined
}

/**
 * The outcome of a login attempt. `busy`: the bound on concurrent password
 * checks (option `passwordHashing`) refused it before any check; the caller
 * answers 503 with `Retry-After`, and nothing was counted against the account.
 */
export type LoginResult = { account: UserAccount } | { failure: 'bad_credentials' | 'throttled' | 'busy' }

/** Seconds a refused (`busy`) login is told to wait (RFC 9110 §10.2.3 Retry-After). */
export const BUSY_RETRY_AFTER = '1'

/** The cookie value's purpose in its MAC: a value signed for another cookie is not a known device. */
const KNOWN_DEVICE = 'known-device'

/** Name (before its `__Host-`/`__Secure-` prefix) of the cookie that marks a browser where an account signed in. */
export const KNOWN_DEVICE_COOKIE = 'grantkit_known_device'

/**
 * Checks a username and password with brute-force protection (RFC 6749
 * §4.3.2, RFC 9700 §2.4, RFC 6819 §5.1.4.2.3), for the login page and the
 * password grant alike. The rule, with `passwordGrant` options:
 *
 * - Attempts are counted per account as the user source identifies it (its
 *   `sub`), so `ALICE@…` and `alice@…` share a counter, and also under the
 *   username's case- and space-folded spelling, the only count an unknown
 *   username has. An unknown username costs a password check like a known
 *   one, so the answers say nothing about who exists.
 * - Attempts since the last success are counted for `failureWindow`. The
 *   first `maxFailures` go through at once; from then on, the n-th attempt
 *   let through makes the next one wait `min(2^(n-maxFailures), maxDelay)`
 *   seconds (1, 2, 4, … 300 with the defaults), and attempts made while
 *   waiting are refused without a password check (and count). Guessing spread
 *   over many addresses is slowed to about one guess per `maxDelay`; the
 *   owner is never kept out longer than the wait in progress.
 * - Per source address, at most `maxAttemptsPerAddress` attempts in a window
 *   of `addressWindow` (clock-aligned), on any accounts.
 * - A browser holding a known-device cookie for this account (signed, issued
 *   at a successful login on the login page) is counted per browser instead
 *   of per account and per address, with the same free attempts and backoff:
 *   someone guessing the account elsewhere does not keep its owner out.
 *
 * Throttled attempts check no password and tell nothing: the same failure for
 * a known and an unknown account.
 *
 * Before any of that, the attempt takes a slot of the bound on concurrent
 * password checks (option `passwordHashing`); without one (queue full, or
 * waited `queueTimeout`) it fails as `busy` at once, counting nothing. After
 * a success whose check answered `'outdated'`, the password is re-hashed at
 * the configured cost and given to the source's `updatePasswordHash`.
 */
export async function loginWithPassword(
  ctx: ServerContext,
  username: string,
  password: string,
  clientId: string | undefined,
  origin: LoginOrigin = { remoteAddress: undefined },
): Promise<LoginResult> {
  const users = ctx.users
  if (users === undefined) return { failure: 'bad_credentials' }
  const account = await users.findByUsername(username)
  const fail = (failure: 'bad_credentials' | 'throttled' | 'busy'): LoginResult => {
    ctx.events.emit({ type: 'user.authentication.failed', username: username.slice(0, 256), clientId, reason: failure }, origin.requestId)
    return { failure }
  }

  // SECURITY: a slot before anything is counted or hashed. Each check holds a libuv thread for tens of milliseconds:
  // beyond the bound the attempt is refused at once (503) instead of queueing without end and starving the token
  // endpoint, and a refusal spends none of the account's attempts, so a flood cannot throttle its owner through it.
  const release = await ctx.passwordChecks.acquire()
  if (release === undefined) return fail('busy')
  try {
    const device = account === undefined ? undefined : knownDeviceOf(ctx, origin.knownDevice, account.sub)
    // The counters this attempt spends and a success clears. The folded name is counted for a known account too:
    // otherwise, with a source that matches names exactly, `ALICE` getting fresh attempts after `alice` is slowed
    // while `BOB` shares `bob`'s count would tell that alice exists.
    const byName = `login:name:${hashToken(foldUsername(username))}`
    const counters = device !== undefined ? [`login:browser:${device}`] : account !== undefined ? [`login:account:${hashToken(account.sub)}`, byName] : [byName]
    if (device === undefined && origin.remoteAddress !== undefined && !(await withinAddressLimit(ctx, origin.remoteAddress))) return fail('throttled')
    let allowed = true
    // Every counter is spent, whatever the first said, so the work done does not depend on which one refused.
    for (const counter of counters) if (!(await mayAttempt(ctx, counter))) allowed = false
    if (!allowed) return fail('throttled')

    // The user source spends the same work for an unknown username as for a wrong password (a dummy hash).
    const verdict = await users.verifyPassword(account, password)
    if (account === undefined || !passwordAccepted(verdict)) return fail('bad_credentials')
    // A success starts the account (or browser) afresh: no count, no wait in progress.
    for (const counter of counters) {
      await ctx.storage.rateLimits.reset(counter)
      await ctx.storage.rateLimits.reset(`login-gate:${counter}`)
    }
    // Right password, old hash (scrypt of 0.1, or a cheaper Argon2id): the one moment the password is at hand to re-hash it.
    if (verdict === 'outdated' && users.updatePasswordHash !== undefined) await upgradeHash(ctx, users.updatePasswordHash.bind(users), account.sub, password, origin.requestId)
    return { account }
  } finally {
    release()
  }
}

/** Re-hashes at the configured cost, off the event loop, inside the caller's slot; a failure does not fail the login. */
async function upgradeHash(ctx: ServerContext, update: (sub: string, hash: string) => Promise<void>, sub: string, password: string, requestId: string | undefined): Promise<void> {
  try {
    await update(sub, await hashPasswordAsync(password, ctx.passwordHashCost))
    ctx.events.emit({ type: 'user.password.upgraded', sub }, requestId)
  } catch (error) {
    ctx.events.emit({ type: 'server.error', endpoint: 'password-upgrade', error }, requestId)
  }
}

/**
 * The fold under which unknown usernames are counted: Unicode compatibility
 * form, no surrounding or inner spaces, lower case — the usual ways a user
 * source treats e-mail-like names as the same.
 */
function foldUsername(username: string): string {
  return username.normalize('NFKC').replace(/\s+/g, '').toLowerCase()
}

/** Spends one attempt on the source address; false when its window is full. */
async function withinAddressLimit(ctx: ServerContext, address: string): Promise<boolean> {
  const { maxAttemptsPerAddress, addressWindow } = ctx.passwordGrant
  const now = Math.floor(ctx.now())
  // Clock-aligned windows: a burst shuts the address out until the window's end at most, never longer.
  const windowEnd = (Math.floor(now / addressWindow) + 1) * addressWindow
  const count = await ctx.storage.rateLimits.increment(`login:source:${address.slice(0, 64)}`, windowEnd)
  return count <= maxAttemptsPerAddress
}

/**
 * Spends one attempt on `counter`; false when the attempt must wait. The
 * attempt that reaches `maxFailures`, and each later one that is let through,
 * closes a gate for `min(2^(n-maxFailures), maxDelay)` seconds (n counts this
 * attempt); an attempt while the gate is closed is refused. The gate is a
 * counter whose window is the delay: the first increment in a window (count
 * 1) passes, so concurrent processes agree on who passes.
 */
async function mayAttempt(ctx: ServerContext, counter: string): Promise<boolean> {
  const { maxFailures, failureWindow, maxDelay } = ctx.passwordGrant
  const now = Math.floor(ctx.now())
  const attempts = await ctx.storage.rateLimits.increment(counter, now + failureWindow)
  if (attempts < maxFailures) return true
  // SECURITY: refused attempts count too, so hammering reaches maxDelay at once; yet a refused attempt does not
  // extend the closed gate, so the account's owner waits at most maxDelay, never a lockout.
  const delay = Math.min(2 ** Math.min(attempts - maxFailures, 30), maxDelay)
  return (await ctx.storage.rateLimits.increment(`login-gate:${counter}`, now + delay)) === 1
}

/**
 * The browser id of a valid known-device cookie for `sub`, or undefined. The
 * value is `id~sha256(sub)~expiresAt` with an HMAC under `cookieSecrets`: a
 * forged, expired or other person's cookie is no known device.
 */
function knownDeviceOf(ctx: ServerContext, cookie: string | undefined, sub: string): string | undefined {
  const payload = verifyCookieValue(ctx.cookieSecrets, KNOWN_DEVICE, cookie)
  if (payload === undefined) return undefined
  const [id, subHash, expiresAt] = payload.split('~')
  if (id === undefined || subHash !== hashToken(sub) || !(Number(expiresAt) > ctx.now())) return undefined
  return id
}

/**
 * The known-device cookie value for a browser where `sub` has just signed in
 * with a password: a fresh browser id, the account, an expiry, signed.
 *
 * @example
 * const value = knownDeviceValue(ctx, account.sub) // 'id~hash~1767225600.mac'
 */
export function knownDeviceValue(ctx: ServerContext, sub: string): string {
  const expiresAt = Math.floor(ctx.now()) + ctx.passwordGrant.knownDeviceTtl
  return signCookieValue(ctx.cookieSecrets, KNOWN_DEVICE, `${ctx.randomToken()}~${hashToken(sub)}~${expiresAt}`)
}
