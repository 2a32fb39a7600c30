import type { YamlValue } from './yaml-subset.js'

/** A service of compose.yaml, as the checks read it. */
export interface ComposeService {
  image?: string
  build?: string
  command?: string[]
  environment: Record<string, string>
  dependsOn: Record<string, string>
  healthcheck?: { test: string[] }
  restart?: string
  ports: string[]
}

const isMap = (v: YamlValue | undefined): v is Record<string, YamlValue> => typeof v === 'object' && v !== null && !Array.isArray(v)

function strings(value: YamlValue | undefined, what: string): string[] {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new Error(`${what}: must be a list of strings`)
  return value as string[]
}

/**
 * The services of a parsed compose file, in the long forms: `depends_on` as
 * service → condition (a bare list means `service_started`), `environment` as
 * a map.
 *
 * @example
 * composeServices(parseYamlSubset(readFileSync('compose.yaml', 'utf8'))).grantkit.environment
 */
export function composeServices(doc: YamlValue): Record<string, ComposeService> {
  if (!isMap(doc) || !isMap(doc.services)) throw new Error('compose file: no services')
  const out: Record<string, ComposeService> = {}
  for (const [name, raw] of Object.entries(doc.services)) {
    if (!isMap(raw)) throw new Error(`services.${name}: must be a mapping`)
    const environment: Record<string, string> = {}
    if (isMap(raw.environment)) {
      for (const [k, v] of Object.entries(raw.environment)) {
        if (typeof v !== 'string') throw new Error(`services.${name}.environment.${k}: must be a string (quote numbers)`)
        environment[k] = v
      }
    } else if (raw.environment !== undefined) throw new Error(`services.${name}.environment: use the mapping form`)
    const dependsOn: Record<string, string> = {}
    if (Array.isArray(raw.depends_on)) for (const d of strings(raw.depends_on, `services.${name}.depends_on`)) dependsOn[d] = 'service_started'
    else if (isMap(raw.depends_on)) {
      for (const [d, v] of Object.entries(raw.depends_on)) dependsOn[d] = isMap(v) && typeof v.condition === 'string' ? v.condition : 'service_started'
    }
    const health = raw.healthcheck
    out[name] = {
      ...(typeof raw.image === 'string' && { image: raw.image }),
      ...(typeof raw.build === 'string' && { build: raw.build }),
      ...(raw.command !== undefined && { command: strings(raw.command, `services.${name}.command`) }),
      environment,
      dependsOn,
      ...(isMap(health) && { healthcheck: { test: strings(health.test, `services.${name}.healthcheck.test`) } }),
      ...(typeof raw.restart === 'string' && { restart: raw.restart }),
      ports: strings(raw.ports, `services.${name}.ports`),
    }
  }
  return out
}

/**
 * Compose's variable interpolation (`${VAR}`, `${VAR:-default}`,
 * `${VAR:?message}`, `$VAR`) against `env`.
 *
 * @throws Error with the message of a `${VAR:?message}` whose variable is unset or empty
 * @example
 * interpolate('${PORT:-4000}', {}) // '4000'
 */
export function interpolate(value: string, env: Readonly<Record<string, string | undefined>>): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, braced?: string, op?: string, arg?: string, bare?: string) => {
    if (whole === '$$') return '$'
    const name = braced ?? bare!
    const v = env[name]
    const unset = op?.startsWith(':') ? v === undefined || v === '' : v === undefined
    if (op === undefined || !unset) return v ?? ''
    if (op.endsWith('-')) return arg ?? ''
    throw new Error(`${name}: ${arg ?? 'required'}`)
  })
}
