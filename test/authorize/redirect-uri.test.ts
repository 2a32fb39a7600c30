import { describe, expect, it } from 'vitest'
import { matchesRedirectUri } from '../../src/authorize/redirect-uri.js'
import { authorizeRequest, expectErrorPage, pkce, redirect, setup } from './fixtures.js'

const NATIVE = ['http://127.0.0.1/cb', 'http://[::1]/cb?app=1', 'http://localhost/cb']

describe('redirect_uri matching (RFC 6749 §3.1.2.3, RFC 9700 §4.1.3, RFC 8252 §7.3)', () => {
  it('lets a loopback IP literal over http come back on any port, nothing else differing', () => {
    expect(matchesRedirectUri(NATIVE, 'http://127.0.0.1:51234/cb')).toBe(true)
    expect(matchesRedirectUri(NATIVE, 'http://127.0.0.1/cb')).toBe(true)
    expect(matchesRedirectUri(NATIVE, 'http://[::1]:8080/cb?app=1')).toBe(true)
    expect(matchesRedirectUri(['http://127.0.0.1:9000/cb'], 'http://127.0.0.1:51234/cb')).toBe(true)
  })

  it('keeps path, query, scheme and host exact, and gives localhost no leeway', () => {
    expect(matchesRedirectUri(NATIVE, 'http://127.0.0.1:51234/cb/')).toBe(false)
    expect(matchesRedirectUri(NATIVE, 'http://127.0.0.1:51234/cb2')).toBe(false)
    expect(matchesRedirectUri(NATIVE, 'http://127.0.0.1:51234/cb?x=1')).toBe(false)
    expect(matchesRedirectUri(NATIVE, 'http://[::1]:8080/cb')).toBe(false)
    expect(matchesRedirectUri(NATIVE, 'https://127.0.0.1:51234/cb')).toBe(false)
    expect(matchesRedirectUri(NATIVE, 'http://127.0.0.2:51234/cb')).toBe(false)
    expect(matchesRedirectUri(NATIVE, 'http://localhost:51234/cb')).toBe(false)
    expect(matchesRedirectUri(NATIVE, 'http://127.0.0.1:0/cb')).toBe(false)
    expect(matchesRedirectUri(NATIVE, 'http://127.0.0.1:99999/cb')).toBe(false)
    expect(matchesRedirectUri(NATIVE, 'http://127.0.0.1@evil.example/cb')).toBe(false)
    expect(matchesRedirectUri(['https://app.example/cb'], 'https://app.example:444/cb')).toBe(false)
  })

  it('accepts a native app on an ephemeral loopback port at the authorization endpoint and redirects to that port', async () => {
    const h = setup({
      clients: [{ client_id: 'cli', token_endpoint_auth_method: 'none', redirect_uris: NATIVE, grant_types: ['authorization_code'], scope: 'api:read' }],
      interaction: { url: (uid) => `https://ui.example/${uid}` },
    })
    const { challenge } = pkce()
    const params = { response_type: 'code', client_id: 'cli', code_challenge: challenge, code_challenge_method: 'S256', scope: 'bogus' }
    const ok = await h.server.authorize(authorizeRequest({ ...params, redirect_uri: 'http://127.0.0.1:51234/cb' }))
    // An error after validation goes to the port the app listens on.
    expect(redirect(ok).url.origin).toBe('http://127.0.0.1:51234')
    expectErrorPage(await h.server.authorize(authorizeRequest({ ...params, redirect_uri: 'http://localhost:51234/cb' })))
  })
})
