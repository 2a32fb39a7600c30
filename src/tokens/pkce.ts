import { createHash } from 'node:crypto'
import { constantTimeEqual } from '../crypto/random.js'
import { OAuthError } from '../errors.js'

const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/

/**
 * Checks a code_verifier against the challenge stored with the code (RFC 7636
 * §4.6). Both directions of downgrade are refused: a stored challenge with no
 * verifier, and a verifier for a code issued without a challenge (RFC 9700 §4.8.2).
 *
 * @throws OAuthError `invalid_grant` on mismatch, `invalid_request` for a malformed verifier
 * @example
 * verifyPkce(record.codeChallenge, record.codeChallengeMethod, ctx.params.get('code_verifier'))
 */
export function verifyPkce(challenge: string | undefined, method: 'S256' | 'plain' | undefined, verifier: string | undefined): void {
  if (challenge === undefined) {
    if (verifier !== undefined) throw new OAuthError('invalid_grant', { detail: 'code_verifier sent for a code issued without a challenge' })
    return
  }
  if (verifier === undefined) throw new OAuthError('invalid_grant', { detail: 'code_verifier missing; the code was issued with a challenge' })
  if (!VERIFIER.test(verifier)) throw new OAuthError('invalid_request', { description: 'code_verifier is malformed (RFC 7636 §4.1).' })
  const computed = method === 'S256' ? createHash('sha256').update(verifier, 'ascii').digest('base64url') : verifier
  if (!constantTimeEqual(computed, challenge)) throw new OAuthError('invalid_grant', { detail: 'code_verifier does not match the challenge' })
}
