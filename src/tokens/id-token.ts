import { createHash } from 'node:crypto'
import type { Client } from '../clients/metadata.js'
import type { ServerContext } from '../context.js'
import { signJwt } from '../crypto/jose.js'
import { idTokenAlgorithms, type KeyStore } from '../keys/key-store.js'
import type { SigningAlgorithm, SigningKey } from '../keys/signing-key.js'
import { Scope } from './scope.js'

/** Claims released per scope (OIDC Core §5.4). */
export const SCOPE_CLAIMS: Readonly<Record<string, readonly string[]>> = {
  profile: ['name', 'family_name', 'given_name', 'middle_name', 'nickname', 'preferred_username', 'profile', 'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at'],
  email: ['email', 'email_verified'],
  address: ['address'],
  phone: ['phone_number', 'phone_number_verified'],
}

/**
 * The claims of `all` that `scope` releases (OIDC Core §5.4), plus sub.
 *
 * @example
 * claimsForScope({ name: 'Alice', email: 'a@example.com' }, 'openid email', 'alice') // { sub: 'alice', email: 'a@example.com' }
 */
export function claimsForScope(all: Record<string, unknown>, scope: string, sub: string): Record<string, unknown> {
  const out: Record<string, unknown> = { sub }
  for (const s of Scope.parse(scope)) {
    for (const name of SCOPE_CLAIMS[s] ?? []) if (all[name] !== undefined) out[name] = all[name]
  }
  return out
}

const HALF_HASH: Record<SigningAlgorithm, string> = {
  ES256: 'sha256',
  RS256: 'sha256',
  PS256: 'sha256',
  ES384: 'sha384',
  ES512: 'sha512',
  // OIDC Core errata / EdDSA for JOSE: Ed25519 uses SHA-512 for at_hash and c_hash.
  EdDSA: 'sha512',
}

/** at_hash / c_hash (OIDC Core §3.1.3.6, §3.3.2.11): the left half of the hash matching the signing alg. */
export function halfHash(value: string, alg: SigningAlgorithm): string {
  const digest = createHash(HALF_HASH[alg]).update(value, 'ascii').digest()
  return digest.subarray(0, digest.length / 2).toString('base64url')
}

/**
 * The key that signs `client`'s ID tokens at `now`: its
 * `id_token_signed_response_alg` (OIDC Registration §2), RS256 when it
 * registered none (OIDC Core §3.1.3.7). A custom `KeyStore` without
 * `signingKeyFor` signs a client that registered no algorithm with its one
 * signing key. Undefined when the store cannot sign the algorithm.
 *
 * @example
 * const key = idTokenKeyFor(ctx.keys, client, now)
 */
export function idTokenKeyFor(keys: KeyStore, client: Client, now: number): SigningKey | undefined {
  if (keys.signingKeyFor !== undefined) return keys.signingKeyFor(client.idTokenAlg, now)
  const key = keys.signingKey(now)
  return key.alg === client.idTokenAlg || client.metadata.id_token_signed_response_alg === undefined ? key : undefined
}

/**
 * Whether `keys` can sign `client`'s ID tokens, without generating a key (the
 * check at construction).
 */
export function canSignIdTokens(keys: KeyStore, client: Client, now: number): boolean {
  if (keys.signingKeyFor === undefined) return idTokenKeyFor(keys, client, now) !== undefined
  return idTokenAlgorithms(keys, now).includes(client.idTokenAlg)
}

/** What an ID token says: its audience (the client), subject and authentication time (seconds since the epoch). */
export interface IdTokenInput {
  client: Client
  sub: string
  authTime: number
  nonce?: string
  /** The browser session it was issued through (OIDC Back-Channel Logout §2.1, Front-Channel Logout §3). */
  sid?: string
  /** Present when issued beside an access token from the authorization endpoint (at_hash). */
  accessToken?: string
  /** Present when issued beside a code from the authorization endpoint (c_hash). */
  code?: string
  /** Extra claims, e.g. the user's claims when no access token is issued (OIDC Core §5.4). */
  claims?: Record<string, unknown>
}

/**
 * Signs an ID token (OIDC Core §2) with the server's current key for the
 * client's ID token algorithm (`idTokenKeyFor`). It lives
 * `ttl.idToken` seconds.
 *
 * @example
 * const idToken = issueIdToken(serverContext, { client: ctx.client, sub: 'alice', authTime: now, nonce })
 */
export function issueIdToken(ctx: ServerContext, input: IdTokenInput): string {
  const now = Math.floor(ctx.now())
  const key = idTokenKeyFor(ctx.keys, input.client, now)
  // Static clients are checked at construction; a client from a dynamic registry may name an algorithm we lack.
  if (key === undefined) throw new Error(`ID token: no ${input.client.idTokenAlg} signing key for client "${input.client.id}" (id_token_signed_response_alg)`)
  const payload: Record<string, unknown> = {
    ...input.claims,
    iss: ctx.issuer,
    sub: input.sub,
    aud: input.client.id,
    exp: now + ctx.ttl.idToken,
    iat: now,
    auth_time: input.authTime,
  }
  if (input.nonce !== undefined) payload.nonce = input.nonce
  if (input.sid !== undefined) payload.sid = input.sid
  if (input.accessToken !== undefined) payload.at_hash = halfHash(input.accessToken, key.alg)
  if (input.code !== undefined) payload.c_hash = halfHash(input.code, key.alg)
  return signJwt(key, 'JWT', payload)
}
