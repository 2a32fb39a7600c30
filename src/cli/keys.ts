import { readFileSync } from 'node:fs'
import { hkdfSync } from 'node:crypto'
import { createSharedKeyStore, sealKeyRecords, type KeyStorage, type KeyWrapper, type SharedKeyStore } from '../index.js'
import { KEY_ENCRYPTION_KEY_ENV, parseKeyEncryptionKey } from '../keys/key-wrapper.js'
import type { KeysSealArgs } from './args.js'
import { CliError, EXIT_USAGE } from './errors.js'

/** A file holding the key-encryption key, instead of the variable itself (e.g. a mounted secret). */
export const KEY_ENCRYPTION_KEY_FILE_ENV = 'GRANTKIT_KEY_ENCRYPTION_KEY_FILE'
/** Comma-separated older key-encryption keys: they open records they sealed, never seal new ones (rotation). */
export const PREVIOUS_KEY_ENCRYPTION_KEYS_ENV = 'GRANTKIT_PREVIOUS_KEY_ENCRYPTION_KEYS'

/** What to set, said whenever a process on shared storage has no key-encryption key. */
export const KEY_ENCRYPTION_HINT =
  `set ${KEY_ENCRYPTION_KEY_ENV} to 32 random bytes in base64url (the same value in every process on this database), ` +
  `e.g. ${KEY_ENCRYPTION_KEY_ENV}=$(node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))"), ` +
  `or ${KEY_ENCRYPTION_KEY_FILE_ENV} to a file holding it`

/**
 * The key-encryption keys from the environment, current first: `GRANTKIT_KEY_ENCRYPTION_KEY`
 * or `GRANTKIT_KEY_ENCRYPTION_KEY_FILE` (not both), then
 * `GRANTKIT_PREVIOUS_KEY_ENCRYPTION_KEYS`. Undefined when none is set.
 *
 * @throws CliError naming the variable when a value is not 32 bytes of base64url
 * @example
 * const keks = keyEncryptionFromEnv(process.env)
 */
export function keyEncryptionFromEnv(env: NodeJS.ProcessEnv): KeyWrapper[] | undefined {
  const direct = env[KEY_ENCRYPTION_KEY_ENV]
  const file = env[KEY_ENCRYPTION_KEY_FILE_ENV]
  if (direct !== undefined && direct !== '' && file !== undefined && file !== '') {
    throw new CliError(`${KEY_ENCRYPTION_KEY_ENV} and ${KEY_ENCRYPTION_KEY_FILE_ENV} are both set; set one`)
  }
  let current: KeyWrapper | undefined
  try {
    if (direct !== undefined && direct !== '') current = parseKeyEncryptionKey(direct, KEY_ENCRYPTION_KEY_ENV)
    else if (file !== undefined && file !== '') {
      let text: string
      try {
        text = readFileSync(file, 'utf8')
      } catch (cause) {
        throw new CliError(`${KEY_ENCRYPTION_KEY_FILE_ENV}: cannot read the file (${(cause as NodeJS.ErrnoException).code ?? String(cause)})`)
      }
      current = parseKeyEncryptionKey(text, `${KEY_ENCRYPTION_KEY_FILE_ENV} (the file's content)`)
    }
    const previous = (env[PREVIOUS_KEY_ENCRYPTION_KEYS_ENV] ?? '')
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '')
      .map((v, i) => parseKeyEncryptionKey(v, `${PREVIOUS_KEY_ENCRYPTION_KEYS_ENV} (entry ${i + 1})`))
    if (current === undefined) {
      if (previous.length > 0) throw new CliError(`${PREVIOUS_KEY_ENCRYPTION_KEYS_ENV} is set but ${KEY_ENCRYPTION_KEY_ENV} is not: ${KEY_ENCRYPTION_HINT}`)
      return undefined
    }
    return [current, ...previous.filter((p) => p.id !== current!.id)]
  } catch (error) {
    if (error instanceof TypeError) throw new CliError(error.message)
    throw error
  }
}

/** The key-encryption keys of a process on shared storage: refused without one, saying what to set. */
export function requireKeyEncryption(env: NodeJS.ProcessEnv, storageKind: string): KeyWrapper[] {
  const keks = keyEncryptionFromEnv(env)
  if (keks === undefined) {
    throw new CliError(`--storage ${storageKind}://…: the signing keys in the database are sealed with a key-encryption key, and none is set: ${KEY_ENCRYPTION_HINT}`)
  }
  return keks
}

/** Opens the shared key store, turning its refusals into a CliError (the URL is never echoed). */
export async function openSharedKeys(keyStorage: KeyStorage, keks: KeyWrapper[], kind: string): Promise<SharedKeyStore> {
  try {
    return await createSharedKeyStore(keyStorage, { keyEncryption: keks })
  } catch (cause) {
    throw new CliError(`--storage ${kind}://…: cannot load the shared signing keys (${cause instanceof Error ? cause.message : String(cause)})`)
  }
}

/**
 * `grantkit keys seal --storage URL`: the one-time conversion of a deployment
 * whose signing keys were stored in clear (grantkit 0.1): every plain record
 * is sealed with `GRANTKIT_KEY_ENCRYPTION_KEY`; records sealed with one of
 * `GRANTKIT_PREVIOUS_KEY_ENCRYPTION_KEYS` are re-sealed with it. Running it
 * again changes nothing. Safe while servers run (each record is swapped
 * atomically), but servers of the old version refuse sealed records: stop
 * them, or upgrade them first.
 *
 * @throws CliError without a key-encryption key, or when the storage cannot be reached
 * @example
 * await sealStorage({ storage: 'postgres://localhost/auth' }, process.env)
 */
export async function sealStorage(
  args: KeysSealArgs,
  env: NodeJS.ProcessEnv,
  print: (line: string) => void = (line) => void process.stdout.write(`${line}\n`),
  /** The table or key prefix; the command line uses the default (tests pass their own). */
  at: { prefix?: string } = {},
): Promise<void> {
  const url = args.storage
  let opened: { keys: KeyStorage; close(): Promise<void> }
  let kind: string
  if (/^postgres(ql)?:\/\//i.test(url)) {
    kind = 'postgres'
    const keks = requireKeyEncryption(env, kind)
    const { createPostgresStorage } = await import('../storage/postgres/index.js')
    const storage = createPostgresStorage({ connectionString: url, ...(at.prefix !== undefined && { tablePrefix: at.prefix }) })
    opened = storage
    return run(opened, kind, keks, print)
  }
  if (/^rediss?(\+cluster)?:\/\//i.test(url)) {
    kind = 'redis'
    const keks = requireKeyEncryption(env, kind)
    const { createRedisStorage } = await import('../storage/redis/index.js')
    opened = createRedisStorage({ client: url, ...(at.prefix !== undefined && { prefix: at.prefix }) })
    return run(opened, kind, keks, print)
  }
  throw new CliError('keys seal: --storage must be "postgres://…" or "redis://…" (memory storage holds no keys to seal)', EXIT_USAGE)
}

async function run(opened: { keys: KeyStorage; close(): Promise<void> }, kind: string, keks: KeyWrapper[], print: (line: string) => void): Promise<void> {
  try {
    const report = await sealKeyRecords(opened.keys, { keyEncryption: keks })
    for (const kid of report.sealed) print(`${kind}: sealed key ${kid} with key-encryption key ${keks[0]!.id}`)
    print(
      report.sealed.length === 0
        ? `${kind}: ${report.unchanged.length} key(s) already sealed with key-encryption key ${keks[0]!.id}; nothing to do`
        : `${kind}: ${report.sealed.length} key(s) sealed, ${report.unchanged.length} already sealed`,
    )
  } catch (cause) {
    throw new CliError(`keys seal: ${kind}://…: ${cause instanceof Error ? cause.message : String(cause)}`)
  } finally {
    await opened.close().catch(() => {})
  }
}

/**
 * Cookie secrets (option `cookieSecrets`) derived from the key-encryption keys
 * of the environment with HKDF-SHA-256 (RFC 5869), current first: processes on
 * one database share them without another setting, and rotating the
 * key-encryption key keeps yesterday's cookies verifying through the previous
 * one. A separate `info` keeps them independent of the sealing key itself.
 * Undefined when no key-encryption key is set.
 *
 * @example
 * const cookieSecrets = cookieSecretsFromEnv(process.env) // ['k3…', …]
 */
export function cookieSecretsFromEnv(env: NodeJS.ProcessEnv): string[] | undefined {
  if (keyEncryptionFromEnv(env) === undefined) return undefined
  const direct = env[KEY_ENCRYPTION_KEY_ENV]
  const current = direct !== undefined && direct !== '' ? direct : readFileSync(env[KEY_ENCRYPTION_KEY_FILE_ENV]!, 'utf8')
  const previous = (env[PREVIOUS_KEY_ENCRYPTION_KEYS_ENV] ?? '').split(',').map((v) => v.trim()).filter((v) => v !== '')
  return [current.trim(), ...previous].map((kek) =>
    Buffer.from(hkdfSync('sha256', Buffer.from(kek, 'base64url'), 'grantkit', 'grantkit cookie secrets v1', 32)).toString('base64url'),
  )
}
