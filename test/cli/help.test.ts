import { spawn } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { HELP_TOPICS } from '../../src/cli/args.js'
import { helpText } from '../../src/cli/help.js'
import { packageVersion } from '../../src/cli/version.js'
import { BIN, killAll, requireBuiltCli, startCli } from './run-cli.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }

describe('packageVersion', () => {
  it('is the version of package.json, from the sources and from the build', () => {
    expect(packageVersion()).toBe(manifest.version)
    expect(packageVersion(BIN)).toBe(manifest.version)
  })

  it('skips a package.json of another package on the way up', () => {
    const dir = mkdtempSync(join(tmpdir(), 'grantkit-version-'))
    try {
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'grantkit', version: '9.8.7' }))
      const nested = join(dir, 'node_modules', 'other')
      mkdirSync(nested, { recursive: true })
      writeFileSync(join(nested, 'package.json'), JSON.stringify({ name: 'other', version: '1.0.0' }))
      expect(packageVersion(join(nested, 'cli', 'grantkit.js'))).toBe('9.8.7')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('says where it looked when there is no grantkit package.json above', () => {
    expect(() => packageVersion('/grantkit.js')).toThrow('cannot find the package.json of grantkit in / or above')
  })
})

describe('help pages', () => {
  it('the overview lists every command and points at the pages', () => {
    const text = helpText()
    for (const line of ['grantkit serve [options]', 'grantkit migrate --storage URL', 'grantkit cleanup --storage URL', 'grantkit keys seal --storage URL', 'grantkit help [COMMAND]', 'grantkit --version']) {
      expect(text).toContain(line)
    }
  })

  it('each page starts with its own usage line and says nothing of the other commands\' flags', () => {
    expect(helpText('serve')).toMatch(/^Usage: grantkit serve \[options\]\n/)
    expect(helpText('migrate')).toMatch(/^Usage: grantkit migrate --storage URL\n/)
    expect(helpText('cleanup')).toMatch(/^Usage: grantkit cleanup --storage URL\n/)
    expect(helpText('keys')).toMatch(/^Usage: grantkit keys seal --storage URL\n/)
    for (const topic of ['migrate', 'cleanup', 'keys'] as const) {
      expect(helpText(topic)).not.toContain('--port')
      expect(helpText(topic)).toContain('GRANTKIT_STORAGE')
    }
    expect(helpText('serve')).not.toContain('grantkit migrate')
  })

  it('the serve page names every flag and its variable', () => {
    const text = helpText('serve')
    const pairs = [
      ['--config', 'GRANTKIT_CONFIG'],
      ['--issuer', 'GRANTKIT_ISSUER'],
      ['--host', 'GRANTKIT_HOST'],
      ['--port', 'GRANTKIT_PORT'],
      ['--adapter', 'GRANTKIT_ADAPTER'],
      ['--storage', 'GRANTKIT_STORAGE'],
      ['--log-level', 'GRANTKIT_LOG_LEVEL'],
    ]
    for (const [flag, variable] of pairs) expect(text).toMatch(new RegExp(`${variable} +${flag}`))
    expect(text).toContain('--print-config')
    expect(text).toContain('GRANTKIT_KEY_ENCRYPTION_KEY')
    expect(text).toContain('PORT (the port a platform assigns)')
  })

  it('no line of any page is wider than 80 columns', () => {
    for (const topic of [undefined, ...HELP_TOPICS]) {
      for (const line of helpText(topic).split('\n')) expect(line.length, `${topic ?? 'overview'}: ${line}`).toBeLessThanOrEqual(80)
    }
  })
})

describe('the built command: --version and help', () => {
  beforeAll(() => requireBuiltCli())
  afterEach(() => killAll())

  it.each([['--version'], ['-v']])('%s prints the package version and exits 0', async (flag) => {
    const cli = startCli([flag])
    expect(await cli.exited()).toBe(0)
    expect(cli.stdout).toBe(`${manifest.version}\n`)
  })

  it.each([
    [['--help'], undefined],
    [['help'], undefined],
    [['help', 'serve'], 'serve'],
    [['serve', '--help'], 'serve'],
    [['migrate', '--help'], 'migrate'],
    [['cleanup', '-h'], 'cleanup'],
    [['keys', 'seal', '--help'], 'keys'],
    [['help', 'keys'], 'keys'],
  ] as const)('%j prints that page only and exits 0', async (argv, topic) => {
    const cli = startCli([...argv])
    expect(await cli.exited()).toBe(0)
    expect(cli.stdout).toBe(helpText(topic))
  })

  it('an unknown command exits 2, naming it and the closest command', async () => {
    const cli = startCli(['sevre', '--port', '0'])
    expect(await cli.exited()).toBe(2)
    expect(cli.stderr).toBe('grantkit: unknown command "sevre"; did you mean "serve"?\nRun "grantkit help" for usage.\n')
  })

  it('works from a copy of the built package, with the version of the package it is in', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'grantkit-version-cli-'))
    try {
      cpSync(join(root, 'dist'), join(dir, 'dist'), { recursive: true })
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'grantkit', version: '3.2.1', type: 'module' }))
      // The dependencies of the build, without the package.json they come with.
      symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'))
      const copy = runAt(join(dir, 'dist', 'cli', 'grantkit.js'), ['--version'])
      expect(await copy.exited).toBe(0)
      expect(copy.stdout()).toBe('3.2.1\n')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

/** Runs a copy of the command (startCli runs the one of this checkout). */
function runAt(bin: string, args: string[]): { exited: Promise<number | null>; stdout: () => string } {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
  return { exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))), stdout: () => out }
}
