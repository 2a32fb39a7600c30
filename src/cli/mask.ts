/** What a secret is replaced with: says that a value is set without saying anything about it. */
export const MASK = '****'

/**
 * Field names whose values are secrets wherever they appear: client secrets and
 * their hashes (a hash of a weak secret can be brute-forced offline), user
 * passwords and their hashes, cookie secrets, the registration token, and
 * whatever a future field names a secret or password at its end (not
 * `passwordGrant`, a group of limits).
 */
const SECRET_NAME = /(secrets?|passwords?|_hash)$|^initialAccessToken$|^registration_access_token$/i

/** RFC 7518 §6.2.2, §6.3.2 and §6.4: the private members of EC, RSA and symmetric (oct) JWKs. */
const PRIVATE_JWK_MEMBERS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'])

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

function maskAll(value: unknown): unknown {
  if (value === null || value === undefined || typeof value === 'boolean') return value
  if (Array.isArray(value)) return value.map(maskAll)
  if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskAll(v)]))
  return MASK
}

/**
 * A copy of a configuration with every secret replaced by `MASK`: fields
 * named like secrets (`client_secret`, `password`, `cookieSecrets`,
 * `initialAccessToken`, …) at any depth, and the private members of every JWK
 * (an object with `kty`), so that a key pasted into a client's `jwks` by
 * mistake is not printed either. Everything else is copied as it is.
 *
 * @example
 * maskSecrets({ clients: [{ client_id: 'svc', client_secret: 's3cr3t' }] })
 * // { clients: [{ client_id: 'svc', client_secret: '****' }] }
 */
export function maskSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskSecrets)
  if (!isRecord(value)) return value
  const jwk = typeof value.kty === 'string'
  return Object.fromEntries(
    Object.entries(value).map(([name, v]) => [name, SECRET_NAME.test(name) || (jwk && PRIVATE_JWK_MEMBERS.has(name)) ? maskAll(v) : maskSecrets(v)]),
  )
}

/**
 * A storage URL without its password: `postgres://user:****@host/db`. The
 * user name and host stay, to tell deployments apart; query parameters named
 * like a password (`?password=`, `sslpassword=`) are masked too.
 *
 * @example
 * maskUrl('postgres://grantkit:hunter2@db:5432/auth') // 'postgres://grantkit:****@db:5432/auth'
 */
export function maskUrl(url: string): string {
  if (url === 'memory') return url
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    // Not parseable, so where a password would end is unknown: keep only the scheme.
    const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)
    return `${scheme?.[0] ?? ''}${MASK}`
  }
  if (parsed.password !== '') parsed.password = MASK
  for (const name of [...parsed.searchParams.keys()]) {
    if (/password|secret/i.test(name)) parsed.searchParams.set(name, MASK)
  }
  return parsed.toString()
}
