import { describe, expect, it } from 'vitest'
import { DEFAULT_HOST, DEFAULT_PORT, parseArgs } from '../../src/cli/args.js'
import { CliError } from '../../src/cli/errors.js'

function usageErrorOf(argv: string[], env: Record<string, string> = {}): CliError {
  try {
    parseArgs(argv, env)
  } catch (error) {
    expect(error).toBeInstanceOf(CliError)
    expect((error as CliError).exitCode).toBe(2)
    return error as CliError
  }
  throw new Error(`parseArgs(${JSON.stringify(argv)}) did not throw`)
}

describe('parseArgs', () => {
  it('defaults to 127.0.0.1:4000, the node adapter and memory storage', () => {
    expect(parseArgs(['serve'])).toEqual({ command: 'serve', host: DEFAULT_HOST, port: DEFAULT_PORT, adapter: 'node', storage: 'memory', sources: {} })
    expect(DEFAULT_HOST).toBe('127.0.0.1')
    expect(DEFAULT_PORT).toBe(4000)
  })

  it('reads every flag, in both --flag value and --flag=value form, and says which flag gave each setting', () => {
    const argv = ['serve', '--config', 'a.json', '--issuer=https://as.example', '--host=::1', '--port', '0', '--adapter=hono', '--storage', 'redis://r', '--log-level', 'debug']
    expect(parseArgs(argv)).toEqual({
      command: 'serve',
      config: 'a.json',
      issuer: 'https://as.example',
      host: '::1',
      port: 0,
      adapter: 'hono',
      storage: 'redis://r',
      logLevel: 'debug',
      sources: { config: '--config', issuer: '--issuer', host: '--host', port: '--port', adapter: '--adapter', storage: '--storage', logLevel: '--log-level' },
    })
  })

  it('answers --help, -h and help with the overview, and with a command after or before it, with that command\'s page', () => {
    expect(parseArgs(['--help'])).toEqual({ command: 'help' })
    expect(parseArgs(['-h'])).toEqual({ command: 'help' })
    expect(parseArgs(['help'])).toEqual({ command: 'help' })
    expect(parseArgs(['serve', '-h'])).toEqual({ command: 'help', topic: 'serve' })
    expect(parseArgs(['serve', '--port', '1', '--help'])).toEqual({ command: 'help', topic: 'serve' })
    expect(parseArgs(['help', 'serve'])).toEqual({ command: 'help', topic: 'serve' })
    expect(parseArgs(['--help', 'migrate'])).toEqual({ command: 'help', topic: 'migrate' })
    expect(parseArgs(['migrate', '--help'])).toEqual({ command: 'help', topic: 'migrate' })
    expect(parseArgs(['cleanup', '-h'])).toEqual({ command: 'help', topic: 'cleanup' })
    expect(parseArgs(['keys', '--help'])).toEqual({ command: 'help', topic: 'keys' })
    expect(parseArgs(['keys', 'seal', '--help'])).toEqual({ command: 'help', topic: 'keys' })
    expect(parseArgs(['help', 'keys'])).toEqual({ command: 'help', topic: 'keys' })
  })

  it('refuses help for a command that does not exist, with the closest one', () => {
    expect(usageErrorOf(['help', 'migrat']).message).toBe('unknown command "migrat"; did you mean "migrate"?')
    expect(usageErrorOf(['help', 'serve', 'now']).message).toContain('unexpected argument "now"')
  })

  it('answers --version and -v, alone', () => {
    expect(parseArgs(['--version'])).toEqual({ command: 'version' })
    expect(parseArgs(['-v'])).toEqual({ command: 'version' })
    expect(usageErrorOf(['-v', 'serve']).message).toContain('-v: takes nothing after it')
    // After a command, -v is not a version request (it would be a verbose flag elsewhere): refused, not ignored.
    expect(usageErrorOf(['serve', '-v']).message).toContain('unknown option "-v"')
  })

  it('rejects a missing or unknown command, naming the closest command', () => {
    expect(usageErrorOf([]).message).toMatch(/no command/)
    expect(usageErrorOf(['start']).message).toBe('unknown command "start"; the commands are "serve", "migrate", "cleanup", "keys seal", "clients", "grants" and "help"')
    expect(usageErrorOf(['serv']).message).toBe('unknown command "serv"; did you mean "serve"?')
    expect(usageErrorOf(['migrat']).message).toContain('did you mean "migrate"?')
    expect(usageErrorOf(['clenup']).message).toContain('did you mean "cleanup"?')
  })

  it('names the closest flag for a misspelt one', () => {
    expect(usageErrorOf(['serve', '--prot', '0']).message).toBe('unknown option "--prot"; did you mean "--port"?')
    expect(usageErrorOf(['serve', '--print-conifg']).message).toContain('did you mean "--print-config"?')
    expect(usageErrorOf(['migrate', '--storag', 'redis://r']).message).toContain('did you mean "--storage"?')
    expect(usageErrorOf(['serve', '--verbose']).message).toBe('unknown option "--verbose"')
  })

  it('takes --print-config as a switch, once, without a value', () => {
    expect(parseArgs(['serve', '--print-config'])).toMatchObject({ command: 'serve', printConfig: true })
    expect(parseArgs(['serve'])).not.toHaveProperty('printConfig')
    expect(usageErrorOf(['serve', '--print-config=yes']).message).toBe('--print-config: takes no value')
    expect(usageErrorOf(['serve', '--print-config', '--print-config']).message).toBe('--print-config: given more than once')
    expect(usageErrorOf(['migrate', '--print-config']).message).toContain('unknown option "--print-config"')
  })

  it('accepts the log levels in any case and refuses others', () => {
    for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']) {
      expect(parseArgs(['serve', '--log-level', level])).toMatchObject({ logLevel: level })
    }
    expect(parseArgs(['serve', '--log-level=WARN'])).toMatchObject({ logLevel: 'warn' })
    expect(usageErrorOf(['serve', '--log-level', 'verbose']).message).toBe('--log-level: "verbose" is not one of trace, debug, info, warn, error, fatal, silent')
  })

  it('rejects an --issuer that is not an http(s) URL; the core checks the rest', () => {
    expect(usageErrorOf(['serve', '--issuer', 'auth.example.com']).message).toBe('--issuer: "auth.example.com" is not an http(s) URL')
    expect(usageErrorOf(['serve', '--issuer', 'ftp://auth.example.com']).message).toContain('is not an http(s) URL')
  })

  it('rejects a storage of another kind without echoing it (it may hold a password)', () => {
    const error = usageErrorOf(['serve', '--storage', 'mysql://root:hunter2@db/auth'])
    expect(error.message).toBe('--storage: must be "memory", "postgres://…" or "redis://…"')
    expect(error.message).not.toContain('hunter2')
    expect(usageErrorOf(['migrate', '--storage', 'mysql://x']).message).toContain('--storage: must be')
  })

  it('rejects unknown flags, stray arguments, repeated flags and missing values', () => {
    expect(usageErrorOf(['serve', '--verbose']).message).toContain('unknown option "--verbose"')
    expect(usageErrorOf(['serve', 'extra']).message).toContain('unexpected argument "extra"')
    expect(usageErrorOf(['serve', '--port', '1', '--port', '2']).message).toContain('--port: given more than once')
    expect(usageErrorOf(['serve', '--config']).message).toContain('--config: needs a value')
    expect(usageErrorOf(['serve', '--config', '--port', '1']).message).toContain('--config: needs a value')
    expect(usageErrorOf(['serve', '--host=']).message).toContain('--host: needs a value')
  })

  it('rejects a port outside 0..65535 or not a number', () => {
    for (const port of ['65536', '-1', 'http', '1.5', '']) {
      expect(usageErrorOf(['serve', `--port=${port}`]).message).toMatch(/--port/)
    }
    expect(parseArgs(['serve', '--port', '65535'])).toMatchObject({ port: 65535 })
  })

  it('rejects an adapter the contract does not name', () => {
    expect(usageErrorOf(['serve', '--adapter', 'koa']).message).toContain('"koa" is not one of node, express, hono')
  })
})
