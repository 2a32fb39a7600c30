import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { killAll, requireBuiltCli, startCli } from './run-cli.js'

let dir: string
beforeAll(() => {
  requireBuiltCli()
  dir = mkdtempSync(join(tmpdir(), 'grantkit-cli-obs-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))
afterEach(() => killAll())

const SECRET = 'svc-basic-secret-5e1a'
const CONFIG = {
  issuer: 'https://auth.example.test/tenant',
  clients: [{ client_id: 'svc', client_secret: SECRET, grant_types: ['client_credentials'], scope: 'api:read' }],
}

function configFile(): string {
  const file = join(dir, 'tenant.json')
  writeFileSync(file, JSON.stringify(CONFIG))
  return file
}

/** The JSON lines of stdout, the `listening on` line and other text left out. */
function logLines(stdout: string): Array<Record<string, unknown>> {
  return stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>)
}

async function until<T>(what: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = what()
    if (found !== undefined) return found
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 25))
  }
}

describe('grantkit serve logs', () => {
  it('writes a JSON line with the reason of a refused request, and round-trips X-Request-Id', async () => {
    const cli = startCli(['serve', '--config', configFile(), '--port', '0'])
    const url = await cli.listening()
    const res = await fetch(`${url}/tenant/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-request-id': 'lb-4711' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'svc', client_secret: SECRET }),
    })
    expect(res.status).toBe(401)
    expect(res.headers.get('x-request-id')).toBe('lb-4711')
    const line = await until(() => logLines(cli.stdout).find((l) => l.requestId === 'lb-4711'))
    expect(line).toMatchObject({
      level: 'info',
      endpoint: 'token',
      method: 'POST',
      status: 401,
      clientId: 'svc',
      grantType: 'client_credentials',
      error: 'invalid_client',
      reason: 'client is registered for client_secret_basic',
      msg: 'POST token 401',
    })
    expect(cli.stdout + cli.stderr).not.toContain(SECRET)
    // The line tools grep for is still a plain line.
    expect(cli.stdout).toMatch(/^grantkit: listening on http:\/\/127\.0\.0\.1:\d+$/m)
  })

  it('writes nothing with --log-level silent, and only warnings and errors with GRANTKIT_LOG_LEVEL=warn', async () => {
    const silent = startCli(['serve', '--config', configFile(), '--port', '0', '--log-level', 'silent'])
    const warn = startCli(['serve', '--config', configFile(), '--port', '0'], undefined, { GRANTKIT_LOG_LEVEL: 'warn' })
    for (const cli of [silent, warn]) {
      const url = await cli.listening()
      const res = await fetch(`${url}/tenant/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' })
      expect(res.status).toBe(401)
    }
    await new Promise((r) => setTimeout(r, 200))
    expect(logLines(silent.stdout)).toEqual([])
    expect(logLines(warn.stdout)).toEqual([])
  })

  it('exits 2 for an unknown --log-level', async () => {
    const cli = startCli(['serve', '--port', '0', '--log-level', 'chatty'])
    expect(await cli.exited()).toBe(2)
    expect(cli.stderr).toContain('--log-level: "chatty" is not one of trace, debug, info, warn, error, fatal, silent')
  })
})

describe('grantkit serve health', () => {
  it('answers /healthz and /readyz under the issuer path, with the checks', async () => {
    const cli = startCli(['serve', '--config', configFile(), '--port', '0'])
    const url = await cli.listening()
    const live = await fetch(`${url}/tenant/healthz`)
    expect(live.status).toBe(200)
    expect(await live.json()).toEqual({ status: 'ok' })
    const ready = await fetch(`${url}/tenant/readyz`)
    expect(ready.status).toBe(200)
    expect(ready.headers.get('cache-control')).toBe('no-store')
    expect(await ready.json()).toEqual({ status: 'ok', checks: { storage: { status: 'ok' }, keys: { status: 'ok' } } })
    expect((await fetch(`${url}/tenant/readyz`, { method: 'HEAD' })).status).toBe(200)
    expect((await fetch(`${url}/tenant/readyz`, { method: 'POST' })).status).toBe(405)
    // Not at the root: only under the issuer's path.
    expect((await fetch(`${url}/readyz`)).status).toBe(404)
  })
})
