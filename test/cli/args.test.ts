import { describe, expect, it } from 'vitest'
import { DEFAULT_HOST, DEFAULT_PORT, parseArgs } from '../../src/cli/args.js'
import { CliError } from '../../src/cli/errors.js'

function usageErrorOf(argv: string[]): CliError {
  try {
    parseArgs(argv)
  } catch (error) {
    expect(error).toBeInstanceOf(CliError)
    expect((error as CliError).exitCode).toBe(2)
    return error as CliError
  }
  throw new Error(`parseArgs(${JSON.stringify(argv)}) did not throw`)
}

describe('parseArgs', () => {
  it('defaults to 127.0.0.1:4000, the node adapter and memory storage', () => {
    expect(parseArgs(['serve'])).toEqual({ command: 'serve', host: DEFAULT_HOST, port: DEFAULT_PORT, adapter: 'node', storage: 'memory' })
    expect(DEFAULT_HOST).toBe('127.0.0.1')
    expect(DEFAULT_PORT).toBe(4000)
  })

  it('reads every flag, in both --flag value and --flag=value form', () => {
    expect(parseArgs(['serve', '--config', 'a.json', '--host=::1', '--port', '0', '--adapter=hono', '--storage', 'redis://r'])).toEqual({
      command: 'serve',
      config: 'a.json',
      host: '::1',
      port: 0,
      adapter: 'hono',
      storage: 'redis://r',
    })
  })

  it('answers --help, -h and help with the usage', () => {
    expect(parseArgs(['--help'])).toEqual({ command: 'help' })
    expect(parseArgs(['serve', '-h'])).toEqual({ command: 'help' })
    expect(parseArgs(['help'])).toEqual({ command: 'help' })
  })

  it('rejects a missing or unknown command', () => {
    expect(usageErrorOf([]).message).toMatch(/no command/)
    expect(usageErrorOf(['start']).message).toContain('unknown command "start"')
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
