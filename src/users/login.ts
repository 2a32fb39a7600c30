import type { ServerContext } from '../context.js'
import { authenticateUser, type UserAccount } from './user-source.js'

/**
 * Checks a username and password with brute-force protection: failures are
 * counted per username in a fixed window, and once `maxFailures` is passed the
 * username is locked until the window ends, even for the right password
 * (RFC 6749 §4.3.2, RFC 9700 §2.4). Used by the login page and the password grant.
 */
export async function loginWithPassword(
  ctx: ServerContext,
  username: string,
  password: string,
  clientId: string | undefined,
): Promise<{ account: UserAccount } | { failure: 'bad_credentials' | 'throttled' }> {
  const users = ctx.users
  if (users === undefined) return { failure: 'bad_credentials' }
  const now = Math.floor(ctx.now())
  const key = `password:${username}`
  const window = ctx.passwordGrant.failureWindow
  // The window opens at the first counted attempt, so a lock lasts a full window wherever the clock stands.
  const windowEnd = now + window
  const account = await authenticateUser(users, username, password)
  // Every attempt counts; a success clears the count only if it was not already over the limit.
  const attempts = await ctx.storage.rateLimits.increment(key, windowEnd)
  const throttled = attempts > ctx.passwordGrant.maxFailures
  if (account === undefined || throttled) {
    const failure = throttled ? 'throttled' : 'bad_credentials'
    ctx.events.emit({ type: 'user.authentication.failed', username: username.slice(0, 256), clientId, reason: failure })
    return { failure }
  }
  await ctx.storage.rateLimits.reset(key)
  return { account }
}
