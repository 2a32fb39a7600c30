import { describe, expect, it } from 'vitest'
import { createServer, parseConfig } from '../../src/cli/config.js'
import { CliError } from '../../src/cli/errors.js'

const ISSUER = 'http://127.0.0.1:4000'
const web = {
  client_id: 'web',
  client_secret: 'web-secret',
  redirect_uris: ['http://127.0.0.1:8080/cb'],
  grant_types: ['authorization_code'],
  scope: 'openid',
  post_logout_redirect_uris: ['http://127.0.0.1:8080/bye'],
  backchannel_logout_uri: 'http://127.0.0.1:8080/backchannel',
  backchannel_logout_session_required: true,
}
const users = [{ username: 'alice', password: 'wonderland', claims: { sub: 'alice' } }]

describe('grantkit serve: logout in the config file (serve contract, "Newer standards")', () => {
  it('takes the logout client metadata and allowPrivateNetworkFetches, and advertises the endpoint', () => {
    const server = createServer(parseConfig({ clients: [web], users, allowPrivateNetworkFetches: true }, 'grantkit.json', '.'), ISSUER)
    const meta = JSON.parse(server.metadata({ method: 'GET', url: new URL(`${ISSUER}/.well-known/openid-configuration`), headers: {} }).body!) as Record<string, unknown>
    expect(meta).toMatchObject({ end_session_endpoint: `${ISSUER}/session/end`, backchannel_logout_supported: true, backchannel_logout_session_supported: true })
  })

  it('refuses a loopback backchannel_logout_uri without allowPrivateNetworkFetches, naming the file and the field', () => {
    let error: unknown
    try {
      createServer(parseConfig({ clients: [web], users }, 'grantkit.json', '.'), ISSUER)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(CliError)
    expect((error as Error).message).toMatch(/^grantkit\.json: clients\[0\]\.backchannel_logout_uri: .*allowPrivateNetworkFetches/)
  })
})
