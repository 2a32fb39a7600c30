import { optionSchema, type OptionEntry } from '../config/schema.js'
import { KEY_ENCRYPTION_KEY_ENV } from '../keys/key-wrapper.js'
import { checkAdapterPackages } from './adapters.js'
import type { ServeArgs, ServeSetting } from './args.js'
import { createUserSource, loadServeConfig, toServerOptions, type ServeConfig } from './config.js'
import { envValue, type Env } from './env.js'
import { KEY_ENCRYPTION_KEY_FILE_ENV, keyEncryptionFromEnv, requireKeyEncryption } from './keys.js'
import { MASK, maskSecrets, maskUrl } from './mask.js'
import { urlHost, validate } from './serve.js'
import { packageVersion } from './version.js'

/** Printing measures nothing: a stand-in delay source, so that `overload` prints with the bounds serve applies. */
const NOT_MEASURED = (): number => 0

/** What `grantkit serve --print-config` prints, as JSON. Every secret is `****`. */
export interface PrintedConfig {
  /** The grantkit version. */
  version: string
  /** The command's own settings after precedence, and what the process derives from the environment. */
  settings: {
    /** The config file, or null for the demo configuration. */
    config: string | null
    /** The issuer the server will have; with port 0, the real port replaces 0 at start. */
    issuer: string
    host: string
    port: number
    adapter: string
    /** The storage URL with its password masked. */
    storage: string
    logLevel: string | null
    /** `****` and the key's id (a fingerprint, not the key), or null when unset or unused (memory storage). */
    keyEncryptionKey: string | null
    previousKeyEncryptionKeys: string[]
    /** Where the signing keys come from. */
    signingKeys: string
    /** Where the cookie secrets come from. */
    cookieSecrets: string
  }
  /** Where each setting came from: a flag, a variable, `config file` or `default`. */
  sources: Record<string, string>
  /** The options the server is built with: the config file's, with every plain default filled in. */
  options: Record<string, unknown>
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/** The options in schema order, each given value or else its plain default; a group's members defaulted one by one. */
function withDefaults(options: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [name, entry] of Object.entries(optionSchema) as Array<[string, OptionEntry<unknown>]>) {
    const given = options[name]
    const value = isRecord(entry.default) && (given === undefined || isRecord(given)) ? { ...entry.default, ...given } : (given ?? entry.default)
    if (value === undefined || (isRecord(value) && Object.keys(value).length === 0)) continue
    out[name] = value
  }
  return out
}

function sourceOf(args: ServeArgs, setting: ServeSetting, otherwise: string): string {
  return args.sources?.[setting] ?? otherwise
}

function keyEncryption(args: ServeArgs, config: ServeConfig, env: Env): Pick<PrintedConfig['settings'], 'keyEncryptionKey' | 'previousKeyEncryptionKeys'> & { from?: string } {
  // As `serve`: memory storage reads no key-encryption key, shared storage needs one unless the file names its keys.
  if (args.storage === 'memory') return { keyEncryptionKey: null, previousKeyEncryptionKeys: [] }
  const kind = /^postgres/i.test(args.storage) ? 'postgres' : 'redis'
  const keks = config.keys === undefined ? requireKeyEncryption(env, kind) : keyEncryptionFromEnv(env)
  if (keks === undefined) return { keyEncryptionKey: null, previousKeyEncryptionKeys: [] }
  const [current, ...previous] = keks
  return {
    keyEncryptionKey: `${MASK} (id ${current!.id})`,
    previousKeyEncryptionKeys: previous.map((k) => `${MASK} (id ${k.id})`),
    from: envValue(env, KEY_ENCRYPTION_KEY_ENV) !== undefined ? KEY_ENCRYPTION_KEY_ENV : KEY_ENCRYPTION_KEY_FILE_ENV,
  }
}

/**
 * The configuration `grantkit serve` would run with, checked as `serve` checks
 * it before connecting to the storage (the config file with the core's rules,
 * the adapter's packages, the key-encryption key), and with every secret
 * masked: client secrets, passwords, cookie secrets, the registration token,
 * private JWK members, the key-encryption key and the storage URL's password.
 *
 * @throws CliError as `serve` would, before listening
 * @example
 * const printed = await resolvedConfig(parseArgs(['serve'], process.env) as ServeArgs, process.env)
 */
export async function resolvedConfig(args: ServeArgs, env: Env): Promise<PrintedConfig> {
  await checkAdapterPackages(args.adapter)
  const config = loadServeConfig(args)
  const server = validate(config, args, { users: createUserSource(config), eventLoopDelay: NOT_MEASURED })
  const kek = keyEncryption(args, config, env)
  const shared = args.storage !== 'memory'
  const issuerSource = args.sources?.issuer ?? (config.issuer !== undefined ? 'config file' : `--host and --port (http://${urlHost(args.host)}:PORT)`)
  return {
    version: packageVersion(),
    settings: {
      config: args.config ?? null,
      issuer: server.issuer,
      host: args.host,
      port: args.port,
      adapter: args.adapter,
      storage: maskUrl(args.storage),
      logLevel: args.logLevel ?? null,
      keyEncryptionKey: kek.keyEncryptionKey,
      previousKeyEncryptionKeys: kek.previousKeyEncryptionKeys,
      signingKeys:
        config.keys !== undefined ? `the config file (${config.keys.length} key(s))` : shared ? 'the storage, sealed with the key-encryption key' : 'generated at start',
      cookieSecrets:
        config.cookieSecrets !== undefined
          ? 'the config file'
          : shared && kek.keyEncryptionKey !== null
            ? 'derived from the key-encryption key'
            : 'one random secret per process',
    },
    sources: {
      config: sourceOf(args, 'config', 'default (the demo configuration)'),
      issuer: issuerSource,
      host: sourceOf(args, 'host', 'default'),
      port: sourceOf(args, 'port', 'default'),
      adapter: sourceOf(args, 'adapter', 'default'),
      storage: sourceOf(args, 'storage', 'default'),
      logLevel: sourceOf(args, 'logLevel', 'default'),
      ...(kek.from !== undefined && { keyEncryptionKey: kek.from }),
    },
    options: maskSecrets(withDefaults(toServerOptions(config, server.issuer, { eventLoopDelay: NOT_MEASURED }) as unknown as Record<string, unknown>)) as Record<string, unknown>,
  }
}

/**
 * `grantkit serve --print-config`: prints `resolvedConfig` as JSON on stdout,
 * and listens on nothing.
 *
 * @example
 * await printConfig(args, process.env)
 */
export async function printConfig(args: ServeArgs, env: Env, write: (text: string) => void = (text) => void process.stdout.write(text)): Promise<void> {
  write(`${JSON.stringify(await resolvedConfig(args, env), null, 2)}\n`)
}
