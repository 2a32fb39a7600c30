import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { killAll, requireBuiltCli, startCli } from './run-cli.js'

let dir: string
beforeAll(() => {
  requireBuiltCli()
  dir = mkdtempSync(join(tmpdir(), 'grantkit-cli-resource-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))
afterEach(() => killAll())

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'
const basicAuth = (id: string, secret: string): string => 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64')
const payload = (jwt: string): Record<string, unknown> => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>

async function post(url: string, form: [string, string][], id: string, secret: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { authorization: basicAuth(id, secret), 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

describe('grantkit serve: the "Newer standards" of the contract for resource indicators and token exchange', () => {
  it('restricts tokens to a resourceServers entry, refuses another resource with invalid_target, and exchanges tokens for clients registered for it', async () => {
    const file = join(dir, 'resource.json')
    writeFileSync(file, JSON.stringify({
      scopes: ['api:read', 'api:write'],
      resourceServers: [{ resource: 'https://api.example', scopes: ['api:read'] }],
      clients: [
        { client_id: 'svc', client_secret: 'svc-secret', grant_types: ['client_credentials'], scope: 'api:read api:write' },
        { client_id: 'gw', client_secret: 'gw-secret', grant_types: [TOKEN_EXCHANGE], scope: 'api:read' },
      ],
    }))
    const cli = startCli(['serve', '--config', file, '--port', '0'])
    const url = await cli.listening()
    const metadata = (await (await fetch(`${url}/.well-known/oauth-authorization-server`)).json()) as { grant_types_supported: string[] }
    expect(metadata.grant_types_supported).toContain(TOKEN_EXCHANGE)

    const token = await post(`${url}/token`, [['grant_type', 'client_credentials'], ['scope', 'api:read api:write'], ['resource', 'https://api.example']], 'svc', 'svc-secret')
    expect(token.status).toBe(200)
    expect(token.body.scope).toBe('api:read')
    expect(payload(token.body.access_token as string)).toMatchObject({ aud: ['https://api.example'], scope: 'api:read' })

    const other = await post(`${url}/token`, [['grant_type', 'client_credentials'], ['resource', 'https://other.example']], 'svc', 'svc-secret')
    expect(other).toMatchObject({ status: 400, body: { error: 'invalid_target' } })

    const exchanged = await post(`${url}/token`, [
      ['grant_type', TOKEN_EXCHANGE],
      ['subject_token', token.body.access_token as string],
      ['subject_token_type', 'urn:ietf:params:oauth:token-type:access_token'],
      ['audience', 'https://api.example'],
    ], 'gw', 'gw-secret')
    expect(exchanged.status).toBe(200)
    expect(exchanged.body).toMatchObject({ issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', scope: 'api:read' })
    expect(payload(exchanged.body.access_token as string)).toMatchObject({ sub: 'svc', client_id: 'gw', aud: ['https://api.example'] })
    // svc is not registered for token exchange.
    const refused = await post(`${url}/token`, [['grant_type', TOKEN_EXCHANGE], ['subject_token', 'x'], ['subject_token_type', 'urn:ietf:params:oauth:token-type:access_token']], 'svc', 'svc-secret')
    expect(refused).toMatchObject({ status: 400, body: { error: 'unauthorized_client' } })
  })
})
