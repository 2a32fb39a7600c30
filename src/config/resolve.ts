import type { AuthorizationServerOptions } from './options.js'
import { checkGrantPrerequisites } from '../grants/prerequisites.js'
import { checkClientMetadataForServer } from '../clients/server-rules.js'
import { refuseUnknownNames } from './did-you-mean.js'
import { checkPath, optionSchema, resolveEntry, type CheckContext, type OptionEntry, type ResolvedSchema } from './schema.js'

/**
 * Options with every default applied and every collaborator built: the
 * checked client registry, the user source, the trust registry, the key
 * store, the storage, the grants by type, the clock and randomness of `deps`.
 * One property per top-level option of the schema; `paths` has one path per
 * name of the `defaultPaths` the caller passed. Durations in seconds.
 *
 * @typeParam P the endpoint names of `paths`
 * @example
 * const resolved = resolveOptions({ issuer: 'https://as.example', clients: [] }, { defaultPaths: defaults.paths })
 * resolved.ttl.accessToken // 3600
 */
export type ResolvedOptions<P extends string = string> = ResolvedSchema & { readonly paths: Readonly<Record<P, string>> }

/** What `resolveOptions` needs from its caller. */
export interface ResolveOptionsSettings<P extends string> {
  /**
   * Every endpoint and its default path, relative to the issuer. `paths.X` in
   * the options must name one of them: the endpoints a server has decide which
   * paths exist, not the option schema.
   */
  readonly defaultPaths: Readonly<Record<P, string>>
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

function resolvePaths<P extends string>(value: unknown, defaultPaths: Readonly<Record<P, string>>): Record<P, string> {
  const paths = { ...defaultPaths } as Record<P, string>
  if (value === undefined) return paths
  if (!isRecord(value)) throw new TypeError('paths: must be an object of endpoint paths')
  refuseUnknownNames(value, Object.keys(defaultPaths), 'paths', 'endpoint')
  for (const [name, path] of Object.entries(value)) {
    if (path !== undefined) paths[name as P] = checkPath(path, `paths.${name}`)
  }
  return paths
}

/**
 * Rules that join several options. A static registry is checked against the
 * server now, not at the first request; what each grant needs (a user source,
 * a way to sign in, stores) the grant declares itself.
 */
function checkAcrossOptions(resolved: ResolvedSchema): void {
  const { clients, grants, scopes, users, keys } = resolved
  if (clients.list !== undefined) {
    let i = 0
    for (const client of clients.list()) checkClientMetadataForServer(client, { grants, scopes, keys, now: resolved.deps.now }, `clients[${i++}]`)
  }
  const signIn = users !== undefined || resolved.interaction.url !== undefined
  checkGrantPrerequisites(grants, clients, { users: users !== undefined, signIn, storage: resolved.storage })
}

/**
 * Validates options against the option schema and resolves them: unknown
 * names are refused with the closest known one, absent options take their
 * defaults, collaborators are built, and the rules that join several options
 * (a client's grant types against `grants`, its scopes against `scopes`,
 * what each grant requires) are checked. Options are resolved in schema order, so the first mistake in that
 * order is the one reported.
 *
 * @param defaultPaths every endpoint with its default path; `paths.X` must name one
 * @throws TypeError whose message starts with the field path: `ttl.accessToken: must be a positive number of seconds`
 * @example
 * const resolved = resolveOptions(options, { defaultPaths: defaults.paths })
 * resolved.clients.find('svc')
 */
export function resolveOptions<P extends string>(options: AuthorizationServerOptions, settings: ResolveOptionsSettings<P>): ResolvedOptions<P> {
  if (!isRecord(options)) throw new TypeError('options: must be an object')
  const input = options as unknown as Record<string, unknown>
  refuseUnknownNames(input, Object.keys(optionSchema), '', 'option')
  const ctx: CheckContext = { input }
  const out: Record<string, unknown> = {}
  for (const [name, entry] of Object.entries(optionSchema) as Array<[string, OptionEntry<unknown>]>) {
    out[name] = name === 'paths' ? resolvePaths(input.paths, settings.defaultPaths) : resolveEntry(entry, input[name], name, ctx)
  }
  const resolved = out as ResolvedOptions<P>
  checkAcrossOptions(resolved)
  return resolved
}
