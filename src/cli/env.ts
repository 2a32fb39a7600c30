import { closestName } from '../config/did-you-mean.js'
import { KEY_ENCRYPTION_KEY_ENV } from '../keys/key-wrapper.js'
import { KEY_ENCRYPTION_KEY_FILE_ENV, PREVIOUS_KEY_ENCRYPTION_KEYS_ENV } from './keys.js'

/** The environment as the CLI reads it: `process.env`, or a plain object in tests. */
export type Env = Readonly<Record<string, string | undefined>>

/**
 * The variables `grantkit` reads, each the counterpart of a flag (twelve-factor
 * configuration: the same image runs everywhere, configured by its environment).
 */
export const ENV = {
  config: 'GRANTKIT_CONFIG',
  issuer: 'GRANTKIT_ISSUER',
  host: 'GRANTKIT_HOST',
  port: 'GRANTKIT_PORT',
  adapter: 'GRANTKIT_ADAPTER',
  storage: 'GRANTKIT_STORAGE',
  logLevel: 'GRANTKIT_LOG_LEVEL',
} as const

/**
 * The port a platform assigns (Heroku, Cloud Run, Render, …): such platforms
 * route traffic only to the port they name in `PORT`, so `grantkit serve`
 * listens there unless `--port` or `GRANTKIT_PORT` says otherwise.
 */
export const PLATFORM_PORT_ENV = 'PORT'

/** Every `GRANTKIT_*` variable the command reads, for the did-you-mean warning. */
export const GRANTKIT_VARIABLES: readonly string[] = [
  ...Object.values(ENV),
  KEY_ENCRYPTION_KEY_ENV,
  KEY_ENCRYPTION_KEY_FILE_ENV,
  PREVIOUS_KEY_ENCRYPTION_KEYS_ENV,
]

/**
 * A variable's value, or undefined when it is unset or blank: compose files
 * and `.env` templates write `VAR=` for "not set", and an empty storage URL or
 * port must not become a value.
 *
 * @example
 * envValue({ GRANTKIT_PORT: '' }, 'GRANTKIT_PORT') // undefined
 */
export function envValue(env: Env, name: string): string | undefined {
  const value = env[name]
  return value === undefined || value.trim() === '' ? undefined : value
}

/**
 * One warning per `GRANTKIT_*` variable that grantkit does not read but that is
 * one slip away from one it does (`GRANTKIT_STORGE`): such a typo would
 * otherwise fall back to the default without a word (in-memory storage, for
 * one). Variables far from every known name (a test suite's own) are left alone.
 *
 * @example
 * misspeltVariables({ GRANTKIT_STORGE: 'postgres://…' })
 * // ['GRANTKIT_STORGE is not a variable grantkit reads; did you mean GRANTKIT_STORAGE?']
 */
export function misspeltVariables(env: Env): string[] {
  const warnings: string[] = []
  for (const name of Object.keys(env)) {
    if (!/^GRANTKIT_/i.test(name) || GRANTKIT_VARIABLES.includes(name)) continue
    // The distance is measured on what follows the prefix, so that the prefix does not make every name look close.
    const guess = closestName(name.slice('GRANTKIT_'.length), GRANTKIT_VARIABLES.map((v) => v.slice('GRANTKIT_'.length)))
    if (guess !== undefined) warnings.push(`${name} is not a variable grantkit reads; did you mean GRANTKIT_${guess}?`)
  }
  return warnings
}
