import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { killAll, requireBuiltCli, startCli } from '../cli/run-cli.js'
import { parseArgs } from '../../src/cli/args.js'
import { resolvedConfig } from '../../src/cli/print-config.js'

let dir: string
beforeAll(() => {
  requireBuiltCli()
  dir = mkdtempSync(join(tmpdir(), 'grantkit-dcr-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))
afterEach(() => killAll())

const INITIAL = 'serve-initial-access-token-0123456789'

describe('grantkit serve with "registration" in the config file', () => {
  it('registers a client at run time with the initial access token, which then gets a token; nothing secret is printed', async () => {
    const file = join(dir, 'registration.json')
    writeFileSync(file, JSON.stringify({ scopes: ['api:read'], clients: [], registration: { enabled: true, initialAccessToken: INITIAL } }))
    const cli = startCli(['serve', '--config', file, '--port', '0'])
    const url = await cli.listening()
    const metadata = (await (await fetch(`${url}/.well-known/oauth-authorization-server`)).json()) as { registration_endpoint: string }
    expect(metadata.registration_endpoint).toBe(`${url}/register`)

    const post = (headers: Record<string, string>) =>
      fetch(metadata.registration_endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ client_name: 'Reports', grant_types: ['client_credentials'], scope: 'api:read' }),
      })
    expect((await post({})).status).toBe(401)
    const res = await post({ authorization: `Bearer ${INITIAL}` })
    expect(res.status).toBe(201)
    const reg = (await res.json()) as Record<string, string>

    const token = await fetch(`${url}/token`, {
      method: 'POST',
      headers: { authorization: 'Basic ' + Buffer.from(`${reg.client_id}:${reg.client_secret}`).toString('base64'), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    })
    expect(token.status).toBe(200)

    const printed = cli.stdout + cli.stderr
    for (const secret of [INITIAL, reg.client_secret!, reg.registration_access_token!]) expect(printed).not.toContain(secret)
  })

  it('without "registration" there is no registration endpoint', async () => {
    const file = join(dir, 'plain.json')
    writeFileSync(file, JSON.stringify({ clients: [] }))
    const cli = startCli(['serve', '--config', file, '--port', '0'])
    const url = await cli.listening()
    const metadata = (await (await fetch(`${url}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>
    expect(metadata).not.toHaveProperty('registration_endpoint')
    expect((await fetch(`${url}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(404)
  })
})

describe('grantkit serve --print-config with "registration"', () => {
  it('masks the initial access token', async () => {
    const file = join(dir, 'print.json')
    writeFileSync(file, JSON.stringify({ clients: [], registration: { enabled: true, initialAccessToken: INITIAL } }))
    const command = parseArgs(['serve', '--config', file, '--port', '0'], {})
    if (command.command !== 'serve') throw new Error('not serve')
    const printed = JSON.stringify(await resolvedConfig(command, {}))
    expect(printed).toContain('"enabled":true')
    expect(printed).not.toContain(INITIAL)
  })
})
