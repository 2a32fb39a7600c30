import { OAuthError } from '../errors.js'
import type { GrantContext } from '../grants/types.js'
import type { Scope } from './scope.js'

/**
 * Decides who an assertion grant (RFC 7523 §3, RFC 7522 §3) issues tokens
 * for, and with what scope. The subject must be a user the user source knows,
 * or the requesting client itself; the issuer may be limited to some subjects
 * and scopes.
 *
 * @throws OAuthError `invalid_grant` for a subject that maps to nobody, `invalid_scope`
 * @example
 * const { sub, scope } = await resolveAssertionGrant(ctx, claims.sub, ctx.params.get('scope'), { subjects: undefined, scopes: undefined })
 */
export async function resolveAssertionGrant(
  ctx: GrantContext,
  subject: string,
  requestedScope: string | undefined,
  limits: { subjects: ReadonlySet<string> | undefined; scopes: ReadonlySet<string> | undefined },
): Promise<{ sub: string; scope: Scope }> {
  const { client } = ctx
  if (limits.subjects !== undefined && !limits.subjects.has(subject)) {
    throw new OAuthError('invalid_grant', { detail: `issuer may not assert subject ${subject.slice(0, 100)}` })
  }
  const isClient = subject === client.id
  const isUser = !isClient && ctx.users !== undefined && (await ctx.users.claims(subject)) !== undefined
  if (!isClient && !isUser) throw new OAuthError('invalid_grant', { detail: `subject ${subject.slice(0, 100)} is not a known user or the client` })
  const scope = ctx.scopes.resolve(requestedScope)
  const allowed = limits.scopes
  if (allowed !== undefined) {
    const outside = [...scope].find((s) => !allowed.has(s))
    if (outside !== undefined) {
      // An explicit request beyond the issuer's limits is an error; a default scope is trimmed.
      if (requestedScope !== undefined) throw new OAuthError('invalid_scope', { detail: `issuer may not grant ${outside}` })
      return { sub: subject, scope: scope.filter((s) => allowed.has(s)) }
    }
  }
  return { sub: subject, scope }
}
