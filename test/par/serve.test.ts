import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { killAll, requireBuiltCli, startCli } from '../cli/run-cli.js'

let dir: string
beforeAll(() => {
  requireBuiltCli()
  dir = mkdtempSync(join(tmpdir(), 'grantkit-par-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))
afterEach(() => killAll())

const form = (params: Record<string, string>) => ({ 'content-type': 'application/x-www-form-urlencoded', body: new URLSearchParams(params) })

describe('grantkit serve: PAR and request objects are on (serve contract, "Newer standards")', () => {
  it('advertises them under their standard names, takes a push of a config-file client that requires PAR, and refuses its plain requests', async () => {
    const file = join(dir, 'par.json')
    writeFileSync(
      file,
      JSON.stringify({
        users: [{ username: 'alice', password: 'wonderland', claims: { sub: 'alice' } }],
        clients: [{ client_id: 'web', client_secret: 'web-secret', redirect_uris: ['http://127.0.0.1:8080/cb'], scope: 'openid api:read', require_pushed_authorization_requests: true }],
      }),
    )
    const cli = startCli(['serve', '--port', '0', '--config', file])
    const url = await cli.listening()
    const metadata = (await (await fetch(`${url}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>
    expect(metadata.pushed_authorization_request_endpoint).toBe(`${url}/par`)
    expect(metadata.require_pushed_authorization_requests).toBe(false)
    expect(metadata.request_parameter_supported).toBe(true)
    expect(metadata.require_signed_request_object).toBe(false)

    const { body, ...headers } = form({ response_type: 'code', redirect_uri: 'http://127.0.0.1:8080/cb', scope: 'api:read', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' })
    const pushed = await fetch(`${url}/par`, { method: 'POST', headers: { ...headers, authorization: 'Basic ' + Buffer.from('web:web-secret').toString('base64') }, body })
    expect(pushed.status).toBe(201)
    const { request_uri, expires_in } = (await pushed.json()) as { request_uri: string; expires_in: number }
    expect(expires_in).toBeLessThanOrEqual(60)
    const viaPar = await fetch(`${url}/authorize?client_id=web&request_uri=${encodeURIComponent(request_uri)}`, { redirect: 'manual' })
    expect(viaPar.status).toBe(303)
    expect(viaPar.headers.get('location')).toContain('/interaction/')

    const plain = await fetch(`${url}/authorize?response_type=code&client_id=web&redirect_uri=${encodeURIComponent('http://127.0.0.1:8080/cb')}&scope=api:read`, { redirect: 'manual' })
    expect(plain.status).toBe(303)
    expect(new URL(plain.headers.get('location')!).searchParams.get('error')).toBe('invalid_request')
  })
})
