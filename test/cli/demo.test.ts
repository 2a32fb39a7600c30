import { createHash } from 'node:crypto'
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { curlCommand, curlRequest, DEMO_PKCE, demoConfig, demoExamples, type DemoExampleName, type DemoMetadata, type DemoPlaceholders } from '../../src/cli/demo-config.js'
import { Browser, signInAndAllow } from './browser.js'
import { printedUses, unadvertisedUses } from './demo-lines.js'
import { killAll, requireBuiltCli, startCli, type CliProcess } from './run-cli.js'

// One demo server for the whole file; each test uses fresh tokens.
let cli: CliProcess
let url: string
let metadata: DemoMetadata
let discoveryDoc: Record<string, unknown>

beforeAll(async () => {
  requireBuiltCli()
  cli = startCli(['serve', '--port', '0'])
  url = await cli.listening()
  // The examples are rebuilt from what the server publishes, not from what the CLI knows.
  const discovery = `${url}/.well-known/openid-configuration`
  discoveryDoc = (await (await fetch(discovery)).json()) as Record<string, unknown>
  metadata = { ...(discoveryDoc as unknown as DemoMetadata), discovery }
})
afterAll(() => killAll())

function example(name: DemoExampleName, fill: Partial<DemoPlaceholders> = {}) {
  const found = demoExamples(demoConfig, metadata, fill).find((e) => e.name === name)
  if (found === undefined) throw new Error(`no example ${name}`)
  return found
}

/** Sends an example's request exactly as its printed curl line does. */
async function send(name: DemoExampleName, fill: Partial<DemoPlaceholders> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const { url: target, init } = curlRequest(example(name, fill).request!)
  const res = await fetch(target, init)
  const text = await res.text()
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) }
}

describe('grantkit serve, demo mode: the printed examples', () => {
  it('are all printed, with their placeholders', () => {
    const all = demoExamples(demoConfig, metadata)
    expect(all.map((e) => e.name)).toEqual([
      'client_credentials_basic',
      'client_credentials_post',
      'password',
      'refresh_token',
      'device_authorization',
      'device_poll',
      'authorization_code_browser',
      'authorization_code_redeem',
      'implicit_browser',
      'introspection',
      'revocation',
      'jwks',
      'discovery',
    ])
    for (const e of all) {
      if (e.request !== undefined) expect(cli.stdout, e.name).toContain(`  ${curlCommand(e.request)}\n`)
      if (e.browser !== undefined) expect(cli.stdout, e.name).toContain(`  ${e.browser}\n`)
    }
    expect(cli.stdout).toContain('alice / wonderland')
    for (const id of ['web', 'spa', 'svc', 'svc-post', 'cli', 'rs']) expect(cli.stdout).toMatch(new RegExp(`^  ${id} +`, 'm'))
    expect(cli.stdout).toContain(`code_challenge=${DEMO_PKCE.challenge}&code_challenge_method=S256`)
    expect(createHash('sha256').update(DEMO_PKCE.verifier).digest('base64url')).toBe(DEMO_PKCE.challenge)
  })

  it('name only endpoints, grant types, response types and PKCE methods the running server advertises', () => {
    // Every curl line and browser URL of the real printout, against the discovery document the same process serves.
    expect(printedUses(cli.stdout).length).toBe(13)
    expect(unadvertisedUses(cli.stdout, discoveryDoc, metadata.discovery)).toEqual([])
  })

  it('client_credentials with client_secret_basic and client_secret_post get tokens that verify against the JWKS', async () => {
    const basic = await send('client_credentials_basic')
    expect(basic.status, JSON.stringify(basic.body)).toBe(200)
    expect(basic.body).toMatchObject({ token_type: 'Bearer', scope: 'api:read' })
    const { payload } = await jwtVerify(basic.body.access_token as string, createRemoteJWKSet(new URL(metadata.jwks_uri!)), { issuer: url, typ: 'at+jwt' })
    expect(payload.client_id).toBe('svc')

    const post = await send('client_credentials_post')
    expect(post.status, JSON.stringify(post.body)).toBe(200)
    expect(post.body.scope).toBe('api:read')
  })

  it('password signs alice in and its refresh token works once with the refresh_token line', async () => {
    const password = await send('password')
    expect(password.status, JSON.stringify(password.body)).toBe(200)
    expect(password.body).toMatchObject({ token_type: 'Bearer', scope: 'openid profile offline_access api:read' })
    expect(decodeJwt(password.body.access_token as string).sub).toBe('alice')
    const REFRESH_TOKEN = password.body.refresh_token as string
    expect(REFRESH_TOKEN).toEqual(expect.any(String))

    const refreshed = await send('refresh_token', { REFRESH_TOKEN })
    expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200)
    expect(refreshed.body.access_token).toEqual(expect.any(String))
    expect((await send('refresh_token', { REFRESH_TOKEN })).body.error).toBe('invalid_grant')
  })

  it('device_authorization gives a code to poll with; once alice allows in the browser, the poll line gets tokens', async () => {
    const first = await send('device_authorization')
    expect(first.status, JSON.stringify(first.body)).toBe(200)
    expect(first.body).toMatchObject({ verification_uri: `${url}/device`, interval: 5, device_code: expect.any(String), user_code: expect.any(String) })
    const pending = await send('device_poll', { DEVICE_CODE: first.body.device_code as string })
    expect(pending).toMatchObject({ status: 400, body: { error: 'authorization_pending' } })

    // A second code, so that its first poll comes after approval and not too soon.
    const second = await send('device_authorization')
    const browser = new Browser(url)
    const entry = await browser.open(second.body.verification_uri_complete as string)
    const done = await signInAndAllow(browser, await browser.submit(entry), 'alice', 'wonderland')
    expect(done.html).toContain('Device connected')
    const tokens = await send('device_poll', { DEVICE_CODE: second.body.device_code as string })
    expect(tokens.status, JSON.stringify(tokens.body)).toBe(200)
    expect(tokens.body).toMatchObject({ token_type: 'Bearer', refresh_token: expect.any(String) })
    expect(decodeJwt(tokens.body.access_token as string).sub).toBe('alice')
  })

  it('introspection by rs sees the svc token; after the revocation line it is inactive', async () => {
    const ACCESS_TOKEN = (await send('client_credentials_basic')).body.access_token as string
    const active = await send('introspection', { ACCESS_TOKEN })
    expect(active.status, JSON.stringify(active.body)).toBe(200)
    expect(active.body).toMatchObject({ active: true, client_id: 'svc', scope: 'api:read' })

    const revoked = await send('revocation', { ACCESS_TOKEN })
    expect(revoked.status, JSON.stringify(revoked.body)).toBe(200)
    expect(await send('introspection', { ACCESS_TOKEN })).toEqual({ status: 200, body: { active: false } })
  })

  it('the authorization code URL, signed in as alice, gives a code that the printed curl line redeems with the PKCE verifier', async () => {
    const browser = new Browser(url)
    const login = await browser.open(example('authorization_code_browser').browser!)
    const back = await signInAndAllow(browser, login, 'alice', 'wonderland')
    expect(back.leftTo?.origin + back.leftTo!.pathname).toBe('http://127.0.0.1:8080/cb')
    expect(back.leftTo!.searchParams.get('state')).toBe('demo-state')
    const CODE = back.leftTo!.searchParams.get('code')!

    const tokens = await send('authorization_code_redeem', { CODE })
    expect(tokens.status, JSON.stringify(tokens.body)).toBe(200)
    expect(tokens.body).toMatchObject({ token_type: 'Bearer', refresh_token: expect.any(String), scope: 'openid profile email offline_access api:read' })
    expect(decodeJwt(tokens.body.id_token as string)).toMatchObject({ sub: 'alice', aud: 'web', iss: url })
  })

  it('the implicit URL brings spa its tokens in the fragment', async () => {
    const browser = new Browser(url)
    const back = await signInAndAllow(browser, await browser.open(example('implicit_browser').browser!), 'alice', 'wonderland')
    expect(back.leftTo?.origin + back.leftTo!.pathname).toBe('http://127.0.0.1:8080/spa')
    const fragment = new URLSearchParams(back.leftTo!.hash.slice(1))
    expect(fragment.get('state')).toBe('demo-state')
    expect(fragment.get('access_token')).toEqual(expect.any(String))
    expect(decodeJwt(fragment.get('id_token')!)).toMatchObject({ sub: 'alice', aud: 'spa', nonce: 'demo-nonce' })
  })

  it('the jwks and discovery lines answer', async () => {
    // The ES256 access-token key and the RS256 ID-token key (OIDC Core §3.1.3.7).
    expect(((await send('jwks')).body.keys as Array<{ alg: string }>).map((k) => k.alg)).toEqual(['ES256', 'RS256'])
    expect((await send('discovery')).body.issuer).toBe(url)
  })
})
