import type { Client } from '../clients/metadata.js'
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
 * const scope = resolveScope(serverContext.scopes, client, params.get('scope'))
 *
 * @param known the scopes the server knows; undefined when it accepts any a client is registered for
 */
export function resolveScope(known: ReadonlySet<string> | undefined, client: Client, requested: string | undefined): string {
  if (requested === undefined) return client.defaultScope
  const tokens = parseScope(requested)
  for (const token of tokens) {
    if (!client.scopes.has(token) || (known !== undefined && !known.has(token))) {
      throw new OAuthError('invalid_scope', { detail: `scope "${token}" is not allowed for client ${client.id}` })
    }
  }
  return tokens.join(' ')
}

/** True when every token of `inner` is in `outer`. */
export function isSubsetScope(inner: string, outer: string): boolean {
  return Scope.parse(inner).isSubsetOf(Scope.parse(outer))
}

/**
 * A set of scope tokens (RFC 6749 §3.3): parsed once, then asked. Its string
 * form is the space-joined tokens in first-seen order, as the wire and storage
 * carry it.
 *
 * @example
 * const scope = Scope.parse('openid api:read')
 * scope.has('openid') // true
 * scope.isSubsetOf(Scope.parse('openid api:read api:write')) // true
 * String(scope) // 'openid api:read'
 */
export class Scope implements Iterable<string> {
  /** No scope at all. */
  static readonly empty = new Scope([])

  private readonly tokens: ReadonlySet<string>
  private constructor(tokens: readonly string[]) {
    this.tokens = new Set(tokens)
  }

  /**
   * Parses a scope string; repeats are dropped.
   *
   * @throws OAuthError `invalid_scope` for characters RFC 6749 §3.3 forbids
   */
  static parse(text: string): Scope {
    return text === '' ? Scope.empty : new Scope(parseScope(text))
  }

  /** A scope of tokens already known to be valid (from storage, a registration). */
  static of(tokens: Iterable<string>): Scope {
    return new Scope([...tokens])
  }

  has(token: string): boolean {
    return this.tokens.has(token)
  }

  get size(): number {
    return this.tokens.size
  }

  /** True when every token of this scope is in `outer` (RFC 6749 §6: a refresh may narrow, never widen). */
  isSubsetOf(outer: Scope): boolean {
    for (const t of this.tokens) if (!outer.has(t)) return false
    return true
  }

  /** The tokens `keep` says yes to. */
  filter(keep: (token: string) => boolean): Scope {
    return new Scope([...this.tokens].filter(keep))
  }

  [Symbol.iterator](): Iterator<string> {
    return this.tokens[Symbol.iterator]()
  }

  /** The space-separated form of RFC 6749 §3.3. */
  toString(): string {
    return [...this.tokens].join(' ')
  }
}
