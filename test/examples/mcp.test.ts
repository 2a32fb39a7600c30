import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { UnauthorizedError, type OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import { chromiumForFile, launchChromium } from '../browser/harness.js'
import { basic, jwtPayload, postForm, startExample, type RunningExample } from './run-example.js'

// Never fetched: the test reads the code off the authorization server's redirect.
const CALLBACK = 'http://127.0.0.1:9/callback'

const chromium = chromiumForFile('test/examples/mcp')

let browser: Browser | undefined
let closeBrowser: (() => Promise<void>) | undefined
beforeAll(async () => {
  if (!chromium) return
  const launched = await launchChromium()
  browser = launched.browser
  closeBrowser = launched.close
})
afterAll(async () => {
  await closeBrowser?.()
})

/** What the person saw on the way: the consent page's text. */
interface SignedIn {
  callback: URL
  consentText: string
}

/**
 * A person in Chromium: opens the authorization URL the SDK hands over, signs
 * in on grantkit's login page and clicks Allow on its consent page. The
 * browser's navigation to the client's redirect URI is caught (nothing listens
 * there) and its URL returned.
 */
async function signInAndAllow(authorizationUrl: URL): Promise<SignedIn> {
  const context = await browser!.newContext()
  try {
    const page = await context.newPage()
    let reached: (url: URL) => void
    const callback = new Promise<URL>((resolve) => (reached = resolve))
    await page.route(`${CALLBACK}**`, async (route) => {
      reached(new URL(route.request().url()))
      await route.fulfill({ status: 200, contentType: 'text/plain', body: 'signed in' })
    })
    await page.goto(authorizationUrl.href)
    expect(await page.locator('h1').textContent()).toBe('Sign in')
    await page.locator('input[name="username"]').fill('alice')
    await page.locator('input[name="password"]').fill('wonderland')
    await page.locator('form button[type="submit"]').click()
    const allow = page.getByRole('button', { name: 'Allow', exact: true })
    await allow.waitFor()
    const consentText = (await page.locator('main').textContent()) ?? ''
    await allow.click()
    return { callback: await callback, consentText }
  } finally {
    await context.close()
  }
}

/** The authorization server's URL, from the line the example prints after "listening on". */
async function issuerOf(ex: RunningExample): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const m = /authorization server: (http:\/\/127\.0\.0\.1:\d+)/.exec(ex.output())
    if (m !== null) return m[1]!
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`no "authorization server:" line in:\n${ex.output()}`)
}

/** The MCP client's side: an in-memory OAuthClientProvider whose browser is Chromium (signInAndAllow). */
class TestProvider implements OAuthClientProvider {
  client: OAuthClientInformationMixed | undefined
  saved: OAuthTokens | undefined
  verifier = ''
  authorizationUrl: URL | undefined
  signedIn: Promise<SignedIn> | undefined
  get redirectUrl(): string {
    return CALLBACK
  }
  get clientMetadata(): OAuthClientMetadata {
    return { client_name: 'SDK test client', redirect_uris: [CALLBACK], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none', scope: 'notes:read notes:write' }
  }
  clientInformation(): OAuthClientInformationMixed | undefined {
    return this.client
  }
  saveClientInformation(info: OAuthClientInformationMixed): void {
    this.client = info
  }
  tokens(): OAuthTokens | undefined {
    return this.saved
  }
  saveTokens(tokens: OAuthTokens): void {
    this.saved = tokens
  }
  redirectToAuthorization(url: URL): void {
    this.authorizationUrl = url
    this.signedIn = signInAndAllow(url)
  }
  saveCodeVerifier(v: string): void {
    this.verifier = v
  }
  codeVerifier(): string {
    return this.verifier
  }
}

describe.skipIf(!chromium)('examples/mcp: the MCP SDK client against grantkit with the MCP profile', () => {
  let ex: RunningExample
  let mcpUrl: string
  let issuer: string
  beforeAll(async () => {
    ex = await startExample('mcp')
    mcpUrl = `${ex.url}/mcp`
    issuer = await issuerOf(ex)
  })
  afterAll(async () => {
    await ex?.stop()
  })

  it('answers an unauthenticated MCP request with 401 naming its RFC 9728 metadata', async () => {
    const res = await fetch(mcpUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    expect(res.status).toBe(401)
    const metadataUrl = `${ex.url}/.well-known/oauth-protected-resource/mcp`
    // The Bearer challenge names the metadata (RFC 9728 §5.1); a DPoP challenge follows it (RFC 9449 §7.1).
    expect(res.headers.get('www-authenticate')!.startsWith(`Bearer realm="${mcpUrl}", resource_metadata="${metadataUrl}", DPoP realm="${mcpUrl}", resource_metadata="${metadataUrl}", algs="`)).toBe(true)
    const metadata = await (await fetch(metadataUrl)).json()
    expect(metadata).toMatchObject({ resource: mcpUrl, authorization_servers: [issuer], scopes_supported: ['notes:read', 'notes:write'] })
  })

  it('discovers, registers, gets a token for the MCP server through sign-in and consent, and calls its tools', async () => {
    const seen: { method: string; url: string; body?: string }[] = []
    const recording = async (url: string | URL, init?: RequestInit): Promise<Response> => {
      seen.push({ method: init?.method ?? 'GET', url: String(url), ...(typeof init?.body === 'string' && { body: init.body }), ...(init?.body instanceof URLSearchParams && { body: init.body.toString() }) })
      return fetch(url, init)
    }
    const provider = new TestProvider()
    const client = new Client({ name: 'grantkit-test', version: '1.0.0' })
    await expect(client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider, fetch: recording }))).rejects.toThrow(UnauthorizedError)

    // It found the authorization server from the MCP server's metadata, and registered (RFC 7591).
    const urls = seen.map((r) => `${r.method} ${r.url.split('?')[0]}`)
    expect(urls).toContain(`GET ${ex.url}/.well-known/oauth-protected-resource/mcp`)
    expect(urls).toContain(`GET ${issuer}/.well-known/oauth-authorization-server`)
    expect(urls).toContain(`POST ${issuer}/register`)
    expect(provider.client?.client_id).toMatch(/.+/)

    // The authorization request names the MCP server and uses PKCE S256.
    const auth = provider.authorizationUrl!
    expect(auth.origin).toBe(issuer)
    expect(auth.searchParams.get('resource')).toBe(mcpUrl)
    expect(auth.searchParams.get('code_challenge_method')).toBe('S256')

    const { callback, consentText } = await provider.signedIn!
    expect(consentText).toContain('SDK test client')
    expect(callback.searchParams.get('iss')).toBe(issuer)
    const code = callback.searchParams.get('code')!
    const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider, fetch: recording })
    await transport.finishAuth(code)

    // The token request names it too, and the token's audience is the MCP server alone.
    const tokenRequest = seen.find((r) => r.method === 'POST' && r.url === `${issuer}/token`)!
    expect(new URLSearchParams(tokenRequest.body).get('resource')).toBe(mcpUrl)
    const claims = jwtPayload(provider.saved!.access_token)
    expect(claims).toMatchObject({ aud: [mcpUrl], sub: 'alice', iss: issuer })
    expect(String(claims.scope).split(' ').sort()).toEqual(['notes:read', 'notes:write'])

    await client.connect(transport)
    const tools = await client.listTools()
    expect(tools.tools.map((t) => t.name).sort()).toEqual(['add_note', 'list_notes'])
    const added = await client.callTool({ name: 'add_note', arguments: { text: 'buy milk' } })
    expect(added.isError).toBeFalsy()
    const listed = await client.callTool({ name: 'list_notes', arguments: {} })
    expect(JSON.parse((listed.content as { text: string }[])[0]!.text)).toEqual({ for: 'alice', notes: ['buy milk'] })
    await client.close()
  })

  it('refuses a token minted for another resource with 401 invalid_token', async () => {
    const minted = await postForm(`${issuer}/token`, { grant_type: 'client_credentials', scope: 'reports:read', resource: `${ex.url}/reports` }, { authorization: basic('reporter', 'reporter-secret') })
    expect(minted.status).toBe(200)
    const token = minted.body.access_token as string
    expect(jwtPayload(token).aud).toEqual([`${ex.url}/reports`])
    const res = await fetch(mcpUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    })
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"')
    expect(res.headers.get('www-authenticate')).toContain(`resource_metadata="${ex.url}/.well-known/oauth-protected-resource/mcp"`)
  })

  it('refuses a token request without resource with invalid_target (the profile)', async () => {
    const noResource = await postForm(`${issuer}/token`, { grant_type: 'client_credentials', scope: 'reports:read' }, { authorization: basic('reporter', 'reporter-secret') })
    expect(noResource.status).toBe(400)
    expect(noResource.body.error).toBe('invalid_target')
  })
})

describe.skipIf(!chromium)('examples/mcp: the MCP SDK client with a client ID metadata document', () => {
  // The client publishes its metadata at an https URL (the SDK takes no other);
  // the example's authorization server trusts this test's self-signed
  // certificate (NODE_EXTRA_CA_CERTS) and may fetch from 127.0.0.1.
  let dir: string
  let documents: Server
  let documentUrl: string
  let fetchedDocument = 0
  let ex: RunningExample
  let mcpUrl: string
  let issuer: string
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'grantkit-mcp-'))
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' })
    documents = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (req, res) => {
      if (req.url !== '/oauth/client.json') return void res.writeHead(404).end()
      fetchedDocument++
      const document = { client_id: documentUrl, client_name: 'SDK test client (CIMD)', redirect_uris: [CALLBACK], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none', scope: 'notes:read notes:write' }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(document))
    })
    await new Promise<void>((resolve) => documents.listen(0, '127.0.0.1', resolve))
    documentUrl = `https://127.0.0.1:${(documents.address() as AddressInfo).port}/oauth/client.json`
    ex = await startExample('mcp', { NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem'), MCP_EXAMPLE_LOOPBACK_DOCUMENTS: '1' })
    mcpUrl = `${ex.url}/mcp`
    issuer = await issuerOf(ex)
  })
  afterAll(async () => {
    await ex?.stop()
    documents?.close()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  it('uses its metadata document URL as client_id instead of registering, and calls a tool', async () => {
    const seen: string[] = []
    const recording = async (url: string | URL, init?: RequestInit): Promise<Response> => {
      seen.push(`${init?.method ?? 'GET'} ${String(url).split('?')[0]}`)
      return fetch(url, init)
    }
    const provider = new TestProvider()
    ;(provider as OAuthClientProvider).clientMetadataUrl = documentUrl
    const client = new Client({ name: 'grantkit-test', version: '1.0.0' })
    await expect(client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider, fetch: recording }))).rejects.toThrow(UnauthorizedError)
    expect(seen).not.toContain(`POST ${issuer}/register`)
    expect(provider.authorizationUrl!.searchParams.get('client_id')).toBe(documentUrl)

    const { callback, consentText } = await provider.signedIn!
    // CIMD: the consent page says where the client's description came from (its host).
    expect(consentText).toContain(new URL(documentUrl).host)
    const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider, fetch: recording })
    await transport.finishAuth(callback.searchParams.get('code')!)
    expect(fetchedDocument).toBeGreaterThan(0)
    expect(jwtPayload(provider.saved!.access_token)).toMatchObject({ aud: [mcpUrl], client_id: documentUrl, sub: 'alice' })

    await client.connect(transport)
    const listed = await client.callTool({ name: 'list_notes', arguments: {} })
    expect(JSON.parse((listed.content as { text: string }[])[0]!.text)).toEqual({ for: 'alice', notes: [] })
    await client.close()
  })
})
