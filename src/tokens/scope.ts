import type { Client } from '../clients/metadata.js'
import type { ServerContext } from '../context.js'
import { OAuthError } from '../errors.js'

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/

/**
 * Splits a scope string into its tokens, dropping repeats and refusing
 * characters RFC 6749 §3.3 forbids.
 *
 * @throws OAuthError `invalid_scope`
 * @example
 * parseScope('openid  profile openid') // ['openid', 'profile']
 */
export function parseScope(scope: string): string[] {
  const out: string[] = []
  for (const token of scope.split(' ')) {
    if (token === '') continue
    if (!SCOPE_TOKEN.test(token)) throw new OAuthError('invalid_scope', { detail: 'scope has forbidden characters' })
    if (!out.includes(token)) out.push(token)
  }
  return out
}

/**
 * The scope to grant for a request (RFC 6749 §3.3): the requested scope when
 * every token is one the client may have and the server knows; the client's
 * default when the request omits it.
 *
 * @throws OAuthError `invalid_scope`
 * @example
 * const scope = resolveScope(ctx.server, ctx.client, ctx.params.get('scope'))
 */
export function resolveScope(ctx: ServerContext, client: Client, requested: string | undefined): string {
  if (requested === undefined) return client.defaultScope
  const tokens = parseScope(requested)
  for (const token of tokens) {
    if (!client.scopes.has(token) || (ctx.scopes !== undefined && !ctx.scopes.has(token))) {
      throw new OAuthError('invalid_scope', { detail: `scope "${token}" is not allowed for client ${client.id}` })
    }
  }
  return tokens.join(' ')
}

/** True when every token of `inner` is in `outer`. */
export function isSubsetScope(inner: string, outer: string): boolean {
  const allowed = new Set(outer.split(' '))
  return inner.split(' ').every((t) => t === '' || allowed.has(t))
}
