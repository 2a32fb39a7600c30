import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parseArgs } from '../../src/cli/args.js'
import { GRANTKIT_VARIABLES } from '../../src/cli/env.js'
import { helpText } from '../../src/cli/help.js'
import { composeServices, interpolate } from './compose.js'
import { lastOf, parseDockerfile } from './dockerfile.js'
import { parseYamlSubset } from './yaml-subset.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const read = (file: string): string => readFileSync(join(root, file), 'utf8')
const services = composeServices(parseYamlSubset(read('compose.yaml')))
const GRANTKIT_SERVICES = ['migrate', 'grantkit']
/** What a user puts in .env: the only value compose.yaml cannot default. */
const DOT_ENV = { GRANTKIT_KEY_ENCRYPTION_KEY: 'Z3JhbnRraXQtdGVzdC1rZXktZW5jcnlwdGlvbi1rZXk' }

describe('compose.yaml', () => {
  it('runs grantkit, a migrate one-shot, PostgreSQL 16 and Redis 7', () => {
    expect(Object.keys(services).sort()).toEqual(['grantkit', 'migrate', 'postgres', 'redis'])
    expect(services.postgres!.image).toBe('postgres:16')
    expect(services.redis!.image).toBe('redis:7')
    for (const name of GRANTKIT_SERVICES) expect(services[name]).toMatchObject({ build: '.', image: 'grantkit:local' })
  })

  it('depends only on services it defines, waiting for health checks that exist and a one-shot that ends', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const [dependency, condition] of Object.entries(service.dependsOn)) {
        expect(services, `${name} depends on ${dependency}`).toHaveProperty(dependency)
        expect(['service_started', 'service_healthy', 'service_completed_successfully']).toContain(condition)
        if (condition === 'service_healthy') expect(services[dependency]!.healthcheck, `${dependency} has no healthcheck`).toBeDefined()
        if (condition === 'service_completed_successfully') expect(services[dependency]!.restart).toBe('no')
      }
    }
    expect(services.migrate!.dependsOn).toMatchObject({ postgres: 'service_healthy' })
    expect(services.grantkit!.dependsOn).toEqual({ migrate: 'service_completed_successfully' })
    expect(services.postgres!.healthcheck!.test.join(' ')).toContain('pg_isready')
    expect(services.redis!.healthcheck!.test).toEqual(['CMD', 'redis-cli', 'ping'])
  })

  it('gives grantkit only variables it reads, each documented in "grantkit help serve" and docs/serve.md', () => {
    const serveDoc = read('docs/serve.md')
    for (const name of GRANTKIT_SERVICES) {
      for (const variable of Object.keys(services[name]!.environment)) {
        expect(GRANTKIT_VARIABLES, `${name}: ${variable}`).toContain(variable)
        expect(helpText('serve')).toContain(variable)
        expect(serveDoc).toContain(`\`${variable}\``)
      }
    }
  })

  it('points both grantkit services at the postgres service, and requires the key-encryption key', () => {
    const env = (name: string): Record<string, string> =>
      Object.fromEntries(Object.entries(services[name]!.environment).map(([k, v]) => [k, interpolate(v, DOT_ENV)]))
    for (const name of GRANTKIT_SERVICES) {
      const url = new URL(env(name).GRANTKIT_STORAGE!)
      expect(url.protocol).toBe('postgres:')
      expect(url.hostname).toBe('postgres')
      expect(url.pathname).toBe(`/${services.postgres!.environment.POSTGRES_DB}`)
      expect(url.username).toBe(services.postgres!.environment.POSTGRES_USER)
    }
    expect(() => interpolate(services.grantkit!.environment.GRANTKIT_KEY_ENCRYPTION_KEY!, {})).toThrow(/GRANTKIT_KEY_ENCRYPTION_KEY: set GRANTKIT_KEY_ENCRYPTION_KEY in \.env/)
    expect(env('grantkit').GRANTKIT_KEY_ENCRYPTION_KEY).toBe(DOT_ENV.GRANTKIT_KEY_ENCRYPTION_KEY)
  })

  it('each grantkit service\'s command parses with its environment, as the command', () => {
    const env = (name: string): Record<string, string> =>
      Object.fromEntries(Object.entries(services[name]!.environment).map(([k, v]) => [k, interpolate(v, DOT_ENV)]))
    expect(parseArgs(services.migrate!.command!, env('migrate'))).toMatchObject({ command: 'migrate', storage: env('migrate').GRANTKIT_STORAGE })
    const serve = parseArgs(services.grantkit!.command!, { GRANTKIT_HOST: '0.0.0.0', ...env('grantkit') })
    expect(serve).toMatchObject({ command: 'serve', host: '0.0.0.0', port: 4000, issuer: 'http://localhost:4000', logLevel: 'info' })
  })

  it('publishes the port the image exposes and grantkit listens on by default', () => {
    const [runtime] = parseDockerfile(read('Dockerfile')).slice(-1)
    expect(lastOf(runtime!, 'EXPOSE')!.text).toBe('4000')
    expect(services.grantkit!.ports).toEqual(['4000:4000'])
  })
})

describe('interpolate', () => {
  it('follows compose: defaults for unset or empty with ":-", required with ":?", "$$" for "$"', () => {
    expect(interpolate('${A:-x}', {})).toBe('x')
    expect(interpolate('${A:-x}', { A: '' })).toBe('x')
    expect(interpolate('${A-x}', { A: '' })).toBe('')
    expect(interpolate('${A:-x}', { A: 'y' })).toBe('y')
    expect(interpolate('a$B-$$', { B: 'b' })).toBe('ab-$')
    expect(() => interpolate('${A:?say so}', { A: '' })).toThrow('A: say so')
  })
})

describe('parseYamlSubset', () => {
  it('refuses what it does not read instead of guessing', () => {
    expect(() => parseYamlSubset('a: &x 1\nb: *x\n')).toThrow(/anchors/)
    expect(() => parseYamlSubset('a:\n\tb: 1\n')).toThrow(/tabs/)
    expect(() => parseYamlSubset('a: 1\na: 2\n')).toThrow(/given twice/)
    expect(() => parseYamlSubset('a:\n  - b: 1\n')).toThrow(/mappings inside sequences/)
  })

  it('reads mappings, sequences, flow lists and comments', () => {
    expect(parseYamlSubset('# c\na:\n  b: "x # not a comment" # a comment\n  c: ["p", "q"]\n  d:\n    - one\n    - \'two\'\n')).toEqual({
      a: { b: 'x # not a comment', c: ['p', 'q'], d: ['one', 'two'] },
    })
  })
})
