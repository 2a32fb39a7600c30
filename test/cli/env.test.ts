import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { parseArgs, type ServeCommand } from '../../src/cli/args.js'
import { createServer, loadServeConfig } from '../../src/cli/config.js'
import { envValue, misspeltVariables } from '../../src/cli/env.js'
import { CliError } from '../../src/cli/errors.js'
import { killAll, requireBuiltCli, startCli } from './run-cli.js'

function serveOf(argv: string[], env: Record<string, string>): ServeCommand {
  const command = parseArgs(['serve', ...argv], env)
  if (command.command !== 'serve') throw new Error(`not serve: ${JSON.stringify(command)}`)
  return command
}

function usageErrorOf(argv: string[], env: Record<string, string>): CliError {
  try {
    parseArgs(argv, env)
  } catch (error) {
    expect(error).toBeInstanceOf(CliError)
    expect((error as CliError).exitCode).toBe(2)
    return error as CliError
  }
  throw new Error(`parseArgs(${JSON.stringify(argv)}) did not throw`)
}

describe('grantkit serve settings from the environment', () => {
  // One row per variable: the setting, the value in the environment, what it becomes, and a flag that beats it.
  const rows = [
    { variable: 'GRANTKIT_CONFIG', setting: 'config', value: 'from-env.json', expected: 'from-env.json', flag: ['--config', 'flag.json'], flagValue: 'flag.json' },
    { variable: 'GRANTKIT_ISSUER', setting: 'issuer', value: 'https://env.example', expected: 'https://env.example', flag: ['--issuer', 'https://flag.example'], flagValue: 'https://flag.example' },
    { variable: 'GRANTKIT_HOST', setting: 'host', value: '0.0.0.0', expected: '0.0.0.0', flag: ['--host', '::1'], flagValue: '::1' },
    { variable: 'GRANTKIT_PORT', setting: 'port', value: '8080', expected: 8080, flag: ['--port', '0'], flagValue: 0 },
    { variable: 'GRANTKIT_ADAPTER', setting: 'adapter', value: 'express', expected: 'express', flag: ['--adapter', 'hono'], flagValue: 'hono' },
    { variable: 'GRANTKIT_STORAGE', setting: 'storage', value: 'postgres://db/auth', expected: 'postgres://db/auth', flag: ['--storage', 'redis://r'], flagValue: 'redis://r' },
    { variable: 'GRANTKIT_LOG_LEVEL', setting: 'logLevel', value: 'warn', expected: 'warn', flag: ['--log-level', 'debug'], flagValue: 'debug' },
  ] as const

  it.each(rows)('$variable gives $setting and is named as its source', ({ variable, setting, value, expected }) => {
    const command = serveOf([], { [variable]: value })
    expect(command[setting]).toBe(expected)
    expect(command.sources).toEqual({ [setting]: variable })
  })

  it.each(rows)('--flag wins over $variable', ({ variable, setting, value, flag, flagValue }) => {
    const command = serveOf([...flag], { [variable]: value })
    expect(command[setting]).toBe(flagValue)
    expect(command.sources[setting]).toBe(flag[0])
  })

  it.each(rows)('an empty or blank $variable counts as unset', ({ variable, setting }) => {
    const defaults = serveOf([], {})
    expect(serveOf([], { [variable]: '' })[setting]).toEqual(defaults[setting])
    expect(serveOf([], { [variable]: '  ' })[setting]).toEqual(defaults[setting])
    expect(serveOf([], { [variable]: '' }).sources).toEqual({})
  })

  it('listens on the platform\'s PORT when neither --port nor GRANTKIT_PORT is given', () => {
    expect(serveOf([], { PORT: '8080' })).toMatchObject({ port: 8080, sources: { port: 'PORT' } })
    expect(serveOf([], { PORT: '8080', GRANTKIT_PORT: '9090' })).toMatchObject({ port: 9090, sources: { port: 'GRANTKIT_PORT' } })
    expect(serveOf(['--port', '0'], { PORT: '8080', GRANTKIT_PORT: '9090' })).toMatchObject({ port: 0, sources: { port: '--port' } })
  })

  it('refuses a bad value in a variable as it refuses it in a flag, naming the variable', () => {
    expect(usageErrorOf(['serve'], { GRANTKIT_PORT: 'http' }).message).toBe('GRANTKIT_PORT: "http" is not a port number (0 to 65535)')
    expect(usageErrorOf(['serve'], { GRANTKIT_PORT: '65536' }).message).toContain('GRANTKIT_PORT:')
    expect(usageErrorOf(['serve'], { PORT: 'eighty' }).message).toBe('PORT: "eighty" is not a port number (0 to 65535)')
    expect(usageErrorOf(['serve'], { GRANTKIT_ADAPTER: 'koa' }).message).toBe('GRANTKIT_ADAPTER: "koa" is not one of node, express, hono')
    expect(usageErrorOf(['serve'], { GRANTKIT_LOG_LEVEL: 'verbose' }).message).toBe('GRANTKIT_LOG_LEVEL: "verbose" is not one of trace, debug, info, warn, error, fatal, silent')
    expect(usageErrorOf(['serve'], { GRANTKIT_ISSUER: 'auth.example.com' }).message).toBe('GRANTKIT_ISSUER: "auth.example.com" is not an http(s) URL')
    const storage = usageErrorOf(['serve'], { GRANTKIT_STORAGE: 'mysql://root:hunter2@db/auth' })
    expect(storage.message).toBe('GRANTKIT_STORAGE: must be "memory", "postgres://…" or "redis://…"')
    expect(storage.message).not.toContain('hunter2')
  })

  it('does not look at a variable whose flag is given, even when the variable is bad', () => {
    expect(serveOf(['--port', '1'], { GRANTKIT_PORT: 'http' }).port).toBe(1)
  })

  it('reads the lower-case log level names in any case', () => {
    expect(serveOf([], { GRANTKIT_LOG_LEVEL: 'ERROR' }).logLevel).toBe('error')
  })

  it('reads only the environment it is given, never process.env', () => {
    vi.stubEnv('GRANTKIT_PORT', '1234')
    vi.stubEnv('GRANTKIT_STORAGE', 'redis://r')
    try {
      expect(serveOf([], {})).toMatchObject({ port: 4000, storage: 'memory' })
      expect(parseArgs(['serve'])).toMatchObject({ port: 4000, storage: 'memory' })
    } finally {
      vi.unstubAllEnvs()
    }
  })
})

describe('grantkit migrate, cleanup and keys seal take GRANTKIT_STORAGE', () => {
  it.each([
    ['migrate', 'migrate'],
    ['cleanup', 'cleanup'],
    ['keys seal', 'keys-seal'],
  ] as const)('%s: from the variable, with --storage winning', (typed, command) => {
    const argv = typed.split(' ')
    expect(parseArgs(argv, { GRANTKIT_STORAGE: 'postgres://db/auth' })).toEqual({ command, storage: 'postgres://db/auth' })
    expect(parseArgs([...argv, '--storage', 'redis://r'], { GRANTKIT_STORAGE: 'postgres://db/auth' })).toEqual({ command, storage: 'redis://r' })
    const missing = usageErrorOf(argv, { GRANTKIT_STORAGE: '' })
    expect(missing.message).toBe(`${typed}: --storage is required (postgres://... or redis://...; or set GRANTKIT_STORAGE)`)
    expect(usageErrorOf(argv, { GRANTKIT_STORAGE: 'mysql://x' }).message).toBe('GRANTKIT_STORAGE: must be "memory", "postgres://…" or "redis://…"')
  })

  it('read no other serve variable', () => {
    expect(parseArgs(['migrate'], { GRANTKIT_STORAGE: 'redis://r', GRANTKIT_PORT: 'not a port' })).toEqual({ command: 'migrate', storage: 'redis://r' })
  })
})

describe('envValue and misspeltVariables', () => {
  it('treats unset, empty and blank alike', () => {
    expect(envValue({}, 'X')).toBeUndefined()
    expect(envValue({ X: '' }, 'X')).toBeUndefined()
    expect(envValue({ X: ' \t' }, 'X')).toBeUndefined()
    expect(envValue({ X: 'v' }, 'X')).toBe('v')
  })

  it('warns about a GRANTKIT_ variable one slip from a known one, and only then', () => {
    expect(misspeltVariables({ GRANTKIT_STORGE: 'postgres://db' })).toEqual(['GRANTKIT_STORGE is not a variable grantkit reads; did you mean GRANTKIT_STORAGE?'])
    expect(misspeltVariables({ grantkit_port: '1' })).toEqual(['grantkit_port is not a variable grantkit reads; did you mean GRANTKIT_PORT?'])
    expect(misspeltVariables({ GRANTKIT_KEY_ENCRYPTON_KEY: 'x' })).toEqual([expect.stringContaining('did you mean GRANTKIT_KEY_ENCRYPTION_KEY?')])
    // Known ones, other programs' and a test suite's own are no concern of grantkit's.
    expect(misspeltVariables({ GRANTKIT_STORAGE: 'x', GRANTKIT_KEY_ENCRYPTION_KEY_FILE: 'x', PORT: '1', GRANTKIT_TEST_POSTGRES: 'x', GRANTKIT_REDIS_URL: 'x' })).toEqual([])
  })
})

describe('issuer precedence: --issuer, then GRANTKIT_ISSUER, then the config file', () => {
  let dir: string
  let file: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'grantkit-env-'))
    file = join(dir, 'grantkit.json')
    writeFileSync(file, JSON.stringify({ issuer: 'http://127.0.0.1:1111', clients: [{ client_id: 'svc', client_secret: 'svc-secret', grant_types: ['client_credentials'] }] }))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  afterEach(() => killAll())

  it('keeps the file\'s issuer without either, and replaces it with the variable, or the flag over the variable', () => {
    expect(loadServeConfig(serveOf(['--config', file], {})).issuer).toBe('http://127.0.0.1:1111')
    const fromEnv = loadServeConfig(serveOf(['--config', file], { GRANTKIT_ISSUER: 'http://127.0.0.1:2222' }))
    expect(fromEnv).toMatchObject({ issuer: 'http://127.0.0.1:2222', issuerFrom: 'GRANTKIT_ISSUER', source: file })
    const fromFlag = loadServeConfig(serveOf(['--config', file, '--issuer', 'http://127.0.0.1:3333'], { GRANTKIT_ISSUER: 'http://127.0.0.1:2222' }))
    expect(fromFlag).toMatchObject({ issuer: 'http://127.0.0.1:3333', issuerFrom: '--issuer' })
  })

  it('gives the demo configuration the issuer of the variable too', () => {
    expect(loadServeConfig(serveOf([], { GRANTKIT_ISSUER: 'https://demo.example' })).issuer).toBe('https://demo.example')
  })

  it('names the variable, not the file, when the core refuses an issuer the variable gave', () => {
    const config = loadServeConfig(serveOf(['--config', file], { GRANTKIT_ISSUER: 'http://auth.example.com' }))
    expect(() => createServer(config, 'http://127.0.0.1:4000')).toThrow(/^GRANTKIT_ISSUER: must be https \(http only for loopback hosts, or with allowHttpIssuer\)$/)
    const flagged = loadServeConfig(serveOf(['--config', file, '--issuer', 'https://auth.example.com/'], {}))
    expect(() => createServer(flagged, 'http://127.0.0.1:4000')).toThrow(/^--issuer: must not end with "\/"$/)
  })

  it('a server started from the environment alone listens where it says and uses the issuer of the variable', async () => {
    requireBuiltCli()
    const cli = startCli(['serve'], dir, { GRANTKIT_CONFIG: 'grantkit.json', GRANTKIT_PORT: '0', GRANTKIT_HOST: '127.0.0.1', GRANTKIT_ISSUER: 'http://localhost:5555' })
    const url = await cli.listening()
    expect(cli.stdout).toContain('grantkit: grantkit.json: 1 client(s), issuer http://localhost:5555')
    // GRANTKIT_PORT=0 picked a free port, on the GRANTKIT_HOST address.
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const discovery = (await (await fetch(`${url}/.well-known/openid-configuration`)).json()) as { issuer: string }
    expect(discovery.issuer).toBe('http://localhost:5555')
    cli.child.kill('SIGTERM')
    expect(await cli.exited()).toBe(0)
  })

  it('a bad variable stops the built command with exit 2 before it listens, naming the variable', async () => {
    requireBuiltCli()
    const cli = startCli(['serve'], dir, { GRANTKIT_PORT: 'http' })
    expect(await cli.exited()).toBe(2)
    expect(cli.stderr).toContain('grantkit: GRANTKIT_PORT: "http" is not a port number (0 to 65535)')
    expect(cli.stderr).toContain('Run "grantkit help serve" for usage.')
    expect(cli.stdout).not.toContain('listening on')
  })

  it('the built command warns about a misspelt variable on stderr', async () => {
    requireBuiltCli()
    const cli = startCli(['serve', '--print-config'], dir, { GRANTKIT_STORGE: 'postgres://db/auth' })
    expect(await cli.exited()).toBe(0)
    expect(cli.stderr).toContain('grantkit: warning: GRANTKIT_STORGE is not a variable grantkit reads; did you mean GRANTKIT_STORAGE?')
  })
})
