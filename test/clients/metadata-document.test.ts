/**
 * Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document):
 * clients whose client_id is the URL of their metadata, served here by a local
 * web host (so allowPrivateNetworkFetches is on, as the contract's tests run).
 */
import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clientIdUrlProblem, type AuthorizationServerOptions, type ClientMetadata, type GrantkitEvent, type GrantkitResponse } from '../../src/index.js'
import { authorizeAs, authorizeRequest, Browser, expectErrorPage, ISSUER, pkce, redirect, setup as authorizeSetup, uidOf } from '../authorize/fixtures.js'
import { json, tokenRequest } from '../helpers.js'
import { startDocumentServer, type DocumentServer } from './document-server.js'
import { assertionClaims, expectInvalidClient, JWT_BEARER, testKeys, TOKEN_URL } from './fixtures.js'
import { counterIds } from '../helpers.js'

let host: DocumentServer
beforeAll(async () => {
  host = await startDocumentServer()
})
afterAll(() => host.close())

const CB = 'https://app.example/cb'
let documents = 0

/** Publishes a document at a fresh path; `client_id` defaults to its URL. */
function publish(metadata: Partial<ClientMetadata> = {}, headers: Record<string, string> = {}): { id: string; path: string } {
  const path = `/clients/app-${++documents}.json`
  const id = `${host.origin}${path}`
  host.route(path, {
    json: { client_id: id, client_name: 'Totally Your Bank', redirect_uris: [CB], token_endpoint_auth_method: 'none', scope: 'openid api:read api:write', ...metadata },
    headers,
  })
  return { id, path }
}

function setup(cimd: AuthorizationServerOptions['clientIdMetadataDocuments'] = {}, extra: Partial<AuthorizationServerOptions> = {}) {
  const h = authorizeSetup({ clientIdMetadataDocuments: { enabled: true, ...cimd }, allowPrivateNetworkFetches: true, ...extra })
  const events: GrantkitEvent[] = []
  h.server.on('*', (e) => void events.push(e))
  const ignored = () => events.filter((e): e is Extract<GrantkitEvent, { type: 'client.ignored' }> => e.type === 'client.ignored').map((e) => e.detail)
  return { ...h, events, ignored }
}

function codeParams(clientId: string, challenge: string, extra: Record<string, string> = {}): Record<string, string> {
  return { response_type: 'code', client_id: clientId, redirect_uri: CB, scope: 'api:read', state: 's', code_challenge: challenge, code_challenge_method: 'S256', ...extra }
}

describe('Client ID Metadata Documents', () => {
  it('runs the authorization code flow for a client known only by its document, fetching it once', async () => {
    const h = setup()
    const { id, path } = publish({}, { 'cache-control': 'max-age=3600' })
    const { verifier, challenge } = pkce()
    const res = await authorizeAs(h, new Browser(), codeParams(id, challenge, { scope: 'openid api:read' }))
    const code = redirect(res).query.get('code')
    expect(code).toBeTypeOf('string')
    const token = await h.server.token(tokenRequest({ grant_type: 'authorization_code', code: code!, redirect_uri: CB, client_id: id, code_verifier: verifier }))
    expect(token.status, token.body).toBe(200)
    expect(json(token)).toMatchObject({ token_type: 'Bearer', scope: 'openid api:read' })
    expect(JSON.parse(Buffer.from((json(token).id_token as string).split('.')[1]!, 'base64url').toString())).toMatchObject({ aud: id, iss: ISSUER })
    // Revocation finds the client the same way (RFC 7009 §2.1); the userinfo endpoint then refuses the token.
    const accessToken = json(token).access_token as string
    const userinfo = () => h.server.userinfo({ method: 'GET', url: new URL(`${ISSUER}/userinfo`), headers: { authorization: `Bearer ${accessToken}` } })
    expect((await userinfo()).status).toBe(200)
    const revoked = await h.server.revoke({ ...tokenRequest({ token: accessToken, client_id: id }), url: new URL(`${ISSUER}/revoke`) })
    expect(revoked.status).toBe(200)
    expect((await userinfo()).status).toBe(401)
    // A public client may not introspect (RFC 7662 §2.1): the document client is found, then refused as public.
    const introspected = await h.server.introspect({ ...tokenRequest({ token: accessToken, client_id: id }), url: new URL(`${ISSUER}/introspect`) })
    expectInvalidClient(introspected)
    expect(h.events.some((e) => e.type === 'client.authentication.failed')).toBe(false)
    expect(host.hits(path)).toBe(1)
  })

  it('advertises client_id_metadata_document_supported only when on (CIMD §6)', async () => {
    const on = setup()
    const off = authorizeSetup()
    const meta = (s: typeof off) => s.server.metadata({ method: 'GET', url: new URL(`${ISSUER}/.well-known/oauth-authorization-server`), headers: {} })
    expect(json(meta(on)).client_id_metadata_document_supported).toBe(true)
    expect(json(meta(off))).not.toHaveProperty('client_id_metadata_document_supported')
  })

  it('is off by default: an https client_id is an unknown client, and nothing is fetched', async () => {
    const h = authorizeSetup({ allowPrivateNetworkFetches: true })
    const { id, path } = publish()
    expectErrorPage(await h.server.authorize(authorizeRequest(codeParams(id, pkce().challenge))))
    expect(host.hits(path)).toBe(0)
  })

  it('shows the host of the client_id on the consent page, in English and German (CIMD §8.5)', async () => {
    const h = setup()
    const { id } = publish()
    const browser = new Browser()
    const uid = uidOf(browser.absorb(await h.server.authorize(authorizeRequest(codeParams(id, pkce().challenge), { cookie: browser.cookie }))))
    browser.absorb(await h.server.interactions.finish(browser.request(), uid, { login: { sub: 'sub-alice' } }))
    expect(await h.server.interactions.details(browser.request(), uid)).toMatchObject({ prompt: 'consent', client: { id, name: 'Totally Your Bank', host: new URL(id).host } })
    const page = (lang: string): Promise<GrantkitResponse> =>
      h.server.handle({ method: 'GET', url: new URL(`${ISSUER}/interaction/${uid}`), headers: { cookie: browser.cookie, 'accept-language': lang } })
    const en = await page('en')
    expect(en.status).toBe(200)
    expect(en.body).toContain(`This application is published by <strong>${new URL(id).host}</strong>.`)
    expect(en.body).toContain('Allow')
    expect((await page('de')).body).toContain(`Diese Anwendung wird von <strong>${new URL(id).host}</strong> veröffentlicht.`)
  })

  it('does not show a host for a registered client', async () => {
    const h = setup()
    const browser = new Browser()
    const uid = uidOf(browser.absorb(await h.server.authorize(authorizeRequest({ response_type: 'code', client_id: 'web', redirect_uri: 'https://client.example/cb', scope: 'api:read', state: 's' }, { cookie: browser.cookie }))))
    browser.absorb(await h.server.interactions.finish(browser.request(), uid, { login: { sub: 'sub-alice' } }))
    const details = await h.server.interactions.details(browser.request(), uid)
    expect(details?.client).not.toHaveProperty('host')
    const page = await h.server.handle({ method: 'GET', url: new URL(`${ISSUER}/interaction/${uid}`), headers: { cookie: browser.cookie } })
    expect(page.body).not.toContain('published by')
  })

  it("refuses a document whose client_id is not its URL: an error page, never a redirect to its redirect_uri (CIMD §4)", async () => {
    const h = setup()
    const { id } = publish({ client_id: `${host.origin}/clients/someone-else.json` })
    const res = await h.server.authorize(authorizeRequest(codeParams(id, pkce().challenge)))
    expectErrorPage(res)
    expect(h.ignored().at(-1)).toMatch(/client_id: is ".*someone-else\.json", not the document's URL/)
    expectInvalidClient(await h.server.token(tokenRequest({ grant_type: 'authorization_code', code: 'x', redirect_uri: CB, client_id: id, code_verifier: 'v'.repeat(43) })))
  })

  it('refuses secrets and shared-secret authentication methods (CIMD §4.1)', async () => {
    const h = setup()
    const cases: Array<[Partial<ClientMetadata>, RegExp]> = [
      [{ client_secret: 'from-the-web-0123456789', token_endpoint_auth_method: 'client_secret_basic' }, /client_secret: must not be used/],
      [{ client_secret_expires_at: 0 }, /client_secret_expires_at: must not be used/],
      [{ token_endpoint_auth_method: 'client_secret_post' }, /token_endpoint_auth_method: is "client_secret_post"/],
      [{ token_endpoint_auth_method: 'client_secret_jwt' }, /token_endpoint_auth_method: is "client_secret_jwt"/],
      [{ token_endpoint_auth_method: undefined }, /absent, so the RFC 7591 default client_secret_basic/],
    ]
    for (const [metadata, why] of cases) {
      const { id } = publish(metadata)
      expectErrorPage(await h.server.authorize(authorizeRequest(codeParams(id, pkce().challenge))))
      expect(h.ignored().at(-1)).toMatch(why)
    }
  })

  it('refuses a document that breaks the rules of every client (a fragment in a redirect URI)', async () => {
    const h = setup()
    const { id } = publish({ redirect_uris: ['https://app.example/cb#frag'] })
    expectErrorPage(await h.server.authorize(authorizeRequest(codeParams(id, pkce().challenge))))
    expect(h.ignored().at(-1)).toMatch(/redirect_uris\[0\]: .*fragment/)
  })

  it('ignores privileges a document grants itself (introspection_allowed, jwt_bearer_subjects)', async () => {
    const h = setup()
    const { id } = publish({ introspection_allowed: true, jwt_bearer_subjects: ['sub-alice'] })
    const res = await h.server.authorize(authorizeRequest(codeParams(id, pkce().challenge)))
    expect(res.status).toBe(303)
    const { contextOf } = await import('../../src/server.js')
    const client = await contextOf(h.server).clients.find(id)
    expect(client?.metadata).not.toHaveProperty('introspection_allowed')
    expect([...client!.selfAssertableSubjects]).toEqual([id])
  })

  it('lets the policy refuse a client', async () => {
    const h = setup({
      policy: (metadata, { host: name }) => {
        if (metadata.client_name?.includes('Bank') === true) throw new Error(`no banks from ${name}`)
        return metadata
      },
    })
    const { id } = publish()
    expectErrorPage(await h.server.authorize(authorizeRequest(codeParams(id, pkce().challenge))))
    expect(h.ignored().at(-1)).toBe('no banks from 127.0.0.1')
  })

  it('lets the policy narrow what a client may ask for', async () => {
    const h = setup({ policy: (metadata) => ({ ...metadata, scope: 'api:read' }) })
    const { id } = publish()
    const wide = await h.server.authorize(authorizeRequest(codeParams(id, pkce().challenge, { scope: 'api:write' })))
    expect(redirect(wide).query.get('error')).toBe('invalid_scope')
    expect((await h.server.authorize(authorizeRequest(codeParams(id, pkce().challenge)))).status).toBe(303)
  })

  it('does not let the policy give the client a secret or another id', async () => {
    const secret = setup({ policy: (metadata) => ({ ...metadata, token_endpoint_auth_method: 'client_secret_basic', client_secret: 'policy-secret-0123456789' }) })
    const a = publish()
    expectErrorPage(await secret.server.authorize(authorizeRequest(codeParams(a.id, pkce().challenge))))
    expect(secret.ignored().at(-1)).toMatch(/after the policy.*client_secret: must not be used/)
    const renamed = setup({ policy: (metadata) => ({ ...metadata, client_id: 'web' }) })
    const b = publish()
    expectErrorPage(await renamed.server.authorize(authorizeRequest(codeParams(b.id, pkce().challenge))))
    expect(renamed.ignored().at(-1)).toMatch(/the policy changed client_id/)
  })

  it('fetches only from allowedHosts', async () => {
    const h = setup({ allowedHosts: ['clients.example', '*.apps.example'] })
    const { id, path } = publish()
    expectErrorPage(await h.server.authorize(authorizeRequest(codeParams(id, pkce().challenge))))
    expect(host.hits(path)).toBe(0)
    expect(h.ignored().at(-1)).toMatch(/not in clientIdMetadataDocuments.allowedHosts/)
  })

  it('sends nothing to a loopback or private address without allowPrivateNetworkFetches', async () => {
    const h = setup({}, { allowPrivateNetworkFetches: false })
    const { id, path } = publish()
    expectErrorPage(await h.server.authorize(authorizeRequest(codeParams(id, pkce().challenge))))
    // An https URL on a private address is refused at resolution, before any connection.
    const privateId = `https://10.0.0.1/clients/app.json`
    expectErrorPage(await h.server.authorize(authorizeRequest(codeParams(privateId, pkce().challenge))))
    expect(h.ignored().at(-1)).toMatch(/loopback or private address/)
    expect(host.hits(path)).toBe(0)
  })

  it('refuses an oversized document (CIMD §8.7: 5 KB) and caches neither it nor any failure', async () => {
    const h = setup()
    const { id, path } = publish({ client_uri: `https://app.example/${'x'.repeat(6000)}` })
    expectErrorPage(await h.server.authorize(authorizeRequest(codeParams(id, pkce().challenge))))
    expect(h.ignored().at(-1)).toMatch(/larger than 5120 bytes/)
    // Fixed at the source: the next request fetches again and works (CIMD §5.2: errors are not cached).
    host.route(path, { json: { client_id: id, redirect_uris: [CB], token_endpoint_auth_method: 'none', scope: 'api:read' } })
    expect((await h.server.authorize(authorizeRequest(codeParams(id, pkce().challenge)))).status).toBe(303)
    expect(host.hits(path)).toBe(2)
  })

  it("keeps a document for its Cache-Control max-age on the server's clock", async () => {
    const h = setup()
    const { id, path } = publish({}, { 'cache-control': 'max-age=600' })
    await h.server.authorize(authorizeRequest(codeParams(id, pkce().challenge)))
    h.clock.advance(599)
    await h.server.authorize(authorizeRequest(codeParams(id, pkce().challenge)))
    expect(host.hits(path)).toBe(1)
    h.clock.advance(1)
    await h.server.authorize(authorizeRequest(codeParams(id, pkce().challenge)))
    expect(host.hits(path)).toBe(2)
  })

  it('authenticates a private_key_jwt client with keys at the jwks_uri its document names (CIMD §8.2)', async () => {
    const keys = await testKeys()
    host.route('/clients/keys.json', { json: { keys: [keys.es256.publicJwk] } })
    const { id } = publish({ token_endpoint_auth_method: 'private_key_jwt', jwks_uri: `${host.origin}/clients/keys.json`, grant_types: ['client_credentials'], redirect_uris: undefined })
    const h = setup()
    const assertion = await new SignJWT(assertionClaims(h.clock.now(), counterIds('jti'), { sub: id, aud: TOKEN_URL }))
      .setProtectedHeader({ alg: 'ES256', kid: keys.es256.kid })
      .sign(keys.es256.privateKey)
    const res = await h.server.token(tokenRequest({ grant_type: 'client_credentials', scope: 'api:read', client_assertion_type: JWT_BEARER, client_assertion: assertion }))
    expect(res.status, res.body).toBe(200)
    // Without an assertion the confidential client is refused.
    expectInvalidClient(await h.server.token(tokenRequest({ grant_type: 'client_credentials', client_id: id })))
  })

  it('reads the document again when an assertion fails (keys rotated inline), at most once per refetchInterval', async () => {
    const keys = await testKeys()
    const { id, path } = publish({ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [keys.es256.publicJwk] }, grant_types: ['client_credentials'], redirect_uris: undefined }, { 'cache-control': 'max-age=86400' })
    const h = setup()
    const jti = counterIds('jti')
    const assertion = (key: typeof keys.es256) =>
      new SignJWT(assertionClaims(h.clock.now(), jti, { sub: id, aud: TOKEN_URL })).setProtectedHeader({ alg: key.alg, kid: key.kid }).sign(key.privateKey)
    const request = async (key: typeof keys.es256) =>
      h.server.token(tokenRequest({ grant_type: 'client_credentials', scope: 'api:read', client_assertion_type: JWT_BEARER, client_assertion: await assertion(key) }))
    expect((await request(keys.es256)).status).toBe(200)
    // The client publishes its new key inline; the cached document (a day) does not have it yet.
    host.route(path, { json: { client_id: id, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [keys.rs256.publicJwk] }, grant_types: ['client_credentials'], scope: 'api:read' } })
    h.clock.advance(30)
    expectInvalidClient(await request(keys.rs256))
    expect(host.hits(path)).toBe(1)
    h.clock.advance(30)
    expect((await request(keys.rs256)).status).toBe(200)
    expect(host.hits(path)).toBe(2)
  })

  it('leaves a configured client with an https client_id as configured (CIMD §7.2)', async () => {
    const { id, path } = publish()
    const h = setup({}, { clients: [{ client_id: id, token_endpoint_auth_method: 'none', redirect_uris: ['https://configured.example/cb'] }] })
    const res = await h.server.authorize(authorizeRequest(codeParams(id, pkce().challenge, { redirect_uri: 'https://configured.example/cb' })))
    expect(res.status).toBe(303)
    expect(host.hits(path)).toBe(0)
  })
})

describe('clientIdUrlProblem (CIMD §3)', () => {
  it.each([
    ['https://app.example/client.json', undefined],
    ['https://app.example:8443/c', undefined],
    ['https://app.example/c?v=1', undefined],
    ['http://127.0.0.1:8080/c', 'must use https'],
    ['http://app.example/c', 'must use https'],
    ['https://user@app.example/c', 'must not contain user info'],
    ['https://app.example/c#x', 'must not contain a fragment'],
    ['https://app.example/a/../c', 'must not contain . or .. path segments'],
    ['https://app.example/a/./c', 'must not contain . or .. path segments'],
    ['https://app.example/a/%2e%2E/c', 'must not contain . or .. path segments'],
    ['https://app.example/', 'must have a path other than /'],
    ['https://app.example', 'must have a path other than /'],
    ['https://App.Example/c', 'must be written as https://app.example/c'],
    ['https://app.example:443/c', 'must be written as https://app.example/c'],
    ['not a url', 'is not a URL'],
  ])('%s', (id, problem) => {
    const found = clientIdUrlProblem(id, false)
    if (problem === undefined) expect(found).toBeUndefined()
    else expect(found).toContain(problem)
  })

  it('accepts http on loopback only with allowPrivateNetworkFetches, for tests', () => {
    expect(clientIdUrlProblem('http://127.0.0.1:8080/c', true)).toBeUndefined()
    expect(clientIdUrlProblem('http://app.example/c', true)).toBe('must use https')
  })
})
