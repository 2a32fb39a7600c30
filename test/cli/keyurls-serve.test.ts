import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startDocumentServer, type DocumentServer } from '../clients/document-server.js'
import { killAll, requireBuiltCli, startCli } from './run-cli.js'

let dir: string
let host: DocumentServer
beforeAll(async () => {
  requireBuiltCli()
  dir = mkdtempSync(join(tmpdir(), 'grantkit-keyurls-'))
  host = await startDocumentServer()
})
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true })
  await host.close()
})
afterEach(() => killAll())

async function signer(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256' } }
}

function assertion(key: Awaited<ReturnType<typeof signer>>, clientId: string, tokenUrl: string, jti: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({ iss: clientId, sub: clientId, aud: tokenUrl, iat: now, exp: now + 60, jti }).setProtectedHeader({ alg: 'ES256', kid: key.kid }).sign(key.privateKey)
}

async function token(url: string, clientAssertion: string): Promise<Response> {
  return fetch(`${url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: clientAssertion,
    }).toString(),
  })
}

describe('grantkit serve: jwks_uri and client ID metadata documents (issue 15)', () => {
  it('authenticates a configured client by its jwks_uri and a metadata-document client, on loopback with allowPrivateNetworkFetches', async () => {
    const configured = await signer('configured-1')
    const published = await signer('published-1')
    host.route('/signer/jwks.json', { json: { keys: [configured.jwk] } })
    const documentId = `${host.origin}/agent/client.json`
    host.route('/agent/client.json', {
      json: { client_id: documentId, client_name: 'Agent', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [published.jwk] }, grant_types: ['client_credentials'], scope: 'api:read' },
    })
    const file = join(dir, 'keyurls.json')
    writeFileSync(
      file,
      JSON.stringify({
        scopes: ['api:read'],
        allowPrivateNetworkFetches: true,
        clientIdMetadataDocuments: { enabled: true, allowedHosts: ['127.0.0.1'] },
        clients: [{ client_id: 'signer', token_endpoint_auth_method: 'private_key_jwt', jwks_uri: `${host.origin}/signer/jwks.json`, grant_types: ['client_credentials'], scope: 'api:read' }],
      }),
    )
    const cli = startCli(['serve', '--config', file, '--port', '0'])
    const url = await cli.listening()
    const metadata = (await (await fetch(`${url}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>
    expect(metadata.client_id_metadata_document_supported).toBe(true)

    const first = await token(url, await assertion(configured, 'signer', `${url}/token`, 'a-1'))
    expect(first.status, await first.clone().text()).toBe(200)
    const second = await token(url, await assertion(published, documentId, `${url}/token`, 'b-1'))
    expect(second.status, await second.clone().text()).toBe(200)
    expect(((await second.json()) as Record<string, unknown>).scope).toBe('api:read')
    // A key the client never published is refused.
    expect((await token(url, await assertion(published, 'signer', `${url}/token`, 'a-2'))).status).toBe(401)
  })

  it('refuses at start a client whose jwks_uri is on loopback without allowPrivateNetworkFetches, naming the field', async () => {
    const file = join(dir, 'private.json')
    writeFileSync(file, JSON.stringify({ clients: [{ client_id: 'signer', token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://127.0.0.1:9/jwks.json', grant_types: ['client_credentials'] }] }))
    const cli = startCli(['serve', '--config', file, '--port', '0'])
    const code = await cli.exited()
    expect(code).not.toBe(0)
    expect(cli.stderr).toMatch(/clients\[0\]\.jwks_uri: .*loopback or private address/)
  })
})
