import { consentKey } from '../storage/codec.js'
import type { Storage } from '../storage/types.js'

/** The cutoff key of every token of a client (admin: revoke all tokens of a client). */
export function clientCutoffKey(clientId: string): string {
  return `client:${clientId}`
}

/** The cutoff key of the tokens a person's consent to a client gave (admin: revoke a consent). */
export function consentCutoffKey(sub: string, clientId: string): string {
  return `consent:${consentKey(sub, clientId)}`
}

/** The cutoff key of every token of a person, at any client (`grantkit grants revoke --sub` without `--client`). */
export function subjectCutoffKey(sub: string): string {
  return `sub:${sub}`
}

/**
 * The cutoff keys that reach a token of `clientId` issued to `sub`: its
 * client, its consent, its subject. For storages implementing
 * `AccessTokenStore.findWithCutoff`, which read these keys' latest cutoff with
 * the token.
 *
 * @example
 * cutoffKeys('app', 'alice') // ['client:app', 'consent:["alice","app"]', 'sub:alice']
 */
export function cutoffKeys(clientId: string, sub: string): [string, string, string] {
  return [clientCutoffKey(clientId), consentCutoffKey(sub, clientId), subjectCutoffKey(sub)]
}

/** True when cutoff `at` (null: none) kills an artefact issued at `issuedAt`. */
export function killedBy(at: number | null, issuedAt: number): boolean {
  // SECURITY: "at or before": an artefact issued in the very second of the revocation dies too, rather than one issued just before it surviving.
  return at !== null && issuedAt <= at
}

/**
 * True when a cutoff kills an artefact of `clientId` and `sub` issued at
 * `issuedAt` (seconds): one issued at or before the cutoff's time. Tokens,
 * refresh tokens and codes cannot be listed by client or person in every
 * backend, so revoking "all of them" records a time instead of touching each.
 * A storage without `tokenCutoffs` has no cutoffs.
 */
export async function isCutOff(storage: Storage, clientId: string, sub: string, issuedAt: number): Promise<boolean> {
  const store = storage.tokenCutoffs
  if (store === undefined) return false
  return killedBy(await store.latest(cutoffKeys(clientId, sub)), issuedAt)
}
