import { describe, expect, it } from 'vitest'
import { createServer, parseConfig } from '../../src/cli/config.js'
import { contextOf } from '../../src/server.js'

const ISSUER = 'http://127.0.0.1:4000'
const parse = (data: Record<string, unknown>) => parseConfig(data, 'grantkit.json', process.cwd())
const signer = { client_id: 'signer', token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://signer.example/jwks.json', grant_types: ['client_credentials'] }

function errorOf(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    return (error as Error).message
  }
  throw new Error('did not throw')
}

describe('grantkit serve config: jwks_uri and client ID metadata documents (issue 15)', () => {
  it('takes jwks_uri in client entries and the clientIdMetadataDocuments and remoteDocuments groups', async () => {
    const config = parse({
      clients: [signer],
      clientIdMetadataDocuments: { enabled: true, allowedHosts: ['clients.example', '*.apps.example'] },
      remoteDocuments: { timeout: 3, minCacheTtl: 60, maxCacheTtl: 3600, maxEntries: 50, refetchInterval: 30, staleIfError: 0 },
    })
    const server = createServer(config, ISSUER)
    const ctx = contextOf(server)
    expect(ctx.clientIdMetadataDocuments).toMatchObject({ enabled: true, allowedHosts: ['clients.example', '*.apps.example'] })
    expect(ctx.remoteDocuments.options).toMatchObject({ timeout: 3, minCacheTtl: 60, maxCacheTtl: 3600, maxEntries: 50, refetchInterval: 30, staleIfError: 0 })
    const client = await ctx.clients.find('signer')
    expect(client?.jwksUri).toBe('https://signer.example/jwks.json')
    const meta = JSON.parse(server.metadata({ method: 'GET', url: new URL(`${ISSUER}/.well-known/oauth-authorization-server`), headers: {} }).body!)
    expect(meta.client_id_metadata_document_supported).toBe(true)
  })

  it('names the file and the field of a wrong value', () => {
    expect(errorOf(() => createServer(parse({ clients: [], clientIdMetadataDocuments: { allowedHosts: ['Clients.Example'] } }), ISSUER))).toMatch(
      /^grantkit\.json: clientIdMetadataDocuments\.allowedHosts\[0\]: must be a lower-case host name/,
    )
    expect(errorOf(() => createServer(parse({ clients: [], remoteDocuments: { minCacheTtl: 600, maxCacheTtl: 60 } }), ISSUER))).toMatch(/remoteDocuments\.minCacheTtl: must not be more than remoteDocuments\.maxCacheTtl/)
    expect(errorOf(() => createServer(parse({ clients: [{ ...signer, jwks_uri: 'http://signer.example/jwks.json' }] }), ISSUER))).toMatch(/^grantkit\.json: clients\[0\]\.jwks_uri: .*must use https/)
    expect(errorOf(() => createServer(parse({ clients: [{ ...signer, jwks_uri: 'https://127.0.0.1:9/jwks.json' }] }), ISSUER))).toMatch(/clients\[0\]\.jwks_uri: .*loopback or private address/)
  })

  it('accepts a loopback jwks_uri with allowPrivateNetworkFetches, as tests use', () => {
    expect(() => createServer(parse({ clients: [{ ...signer, jwks_uri: 'http://127.0.0.1:9/jwks.json' }], allowPrivateNetworkFetches: true }), ISSUER)).not.toThrow()
  })
})
