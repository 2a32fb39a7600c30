import { defaultsOf, optionSchema } from './schema.js'

/**
 * Every plain default of grantkit, derived from the option schema
 * (`src/config/schema.ts`), where each option is declared once with its doc,
 * unit and validation; `docs/configuration.md` is generated from the same
 * declarations. Durations are in seconds, `maxBodyBytes` in bytes. Changing
 * this object does not change the defaults a server uses: pass options instead.
 *
 * @example
 * defaults.ttl.accessToken // 3600
 * defaults.paths.token // '/token'
 */
export const defaults = {
  ...defaultsOf(optionSchema),
  /** Algorithm of the signing key generated when none is configured: the default of `keys.algorithm`. Default `ES256`. */
  signingAlgorithm: optionSchema.keys.members.algorithm.default,
}

/** The type of `defaults`. */
export type Defaults = typeof defaults
