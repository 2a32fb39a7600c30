import { describe, expect, it } from 'vitest'
import { createAuthorizationServer, type GrantkitRequest, type GrantkitResponse } from '../../src/index.js'
import { cookieName, readCookie, serializeCookie, signCookieValue, verifyCookieValue } from '../../src/http/cookies.js'
import { counterIds, fakeClock } from '../helpers.js'
import { fakeUsers } from '../users/fixtures.js'

const setCookies = (res: GrantkitResponse): string[] => {
  const v = res.headers['set-cookie']
  return v === undefined ? [] : Array.isArray(v) ? v : [v]
}

describe('cookie names (RFC 6265bis §4.1.3)', () => {
  it('are __Host- under https with Path=/, __Secure- under https with another path, plain over http', () => {
    expect(cookieName('c', { secure: true, path: '/' })).toBe('__Host-c')
    expect(cookieName('c', { secure: true, path: '/tenant' })).toBe('__Secure-c')
    expect(cookieName('c', { secure: false, path: '/' })).toBe('c')
  })

  it('are read under the name they were set with, and not under the plain one', () => {
    const place = { secure: true, path: '/' }
    const set = serializeCookie('c', 'v1', place).split(';')[0]!
    expect(readCookie(set, 'c', place)).toBe('v1')
    // A cookie without the prefix may have been planted by a sibling host or an http page: not read.
    expect(readCookie('c=planted', 'c', place)).toBeUndefined()
  })
})

describe('signed cookie values', () => {
  const secret = 's'.repeat(32)
  it('verify under the secret and purpose they were signed for only', () => {
    const value = signCookieValue([secret], 'device-browser', 'id-1')
    expect(verifyCookieValue([secret], 'device-browser', value)).toBe('id-1')
    expect(verifyCookieValue([secret], 'known-device', value)).toBeUndefined()
    expect(verifyCookieValue(['t'.repeat(32)], 'device-browser', value)).toBeUndefined()
    expect(verifyCookieValue(['t'.repeat(32), secret], 'device-browser', value)).toBe('id-1')
    expect(verifyCookieValue([secret], 'device-browser', `id-2${value.slice(4)}`)).toBeUndefined()
    expect(verifyCookieValue([secret], 'device-browser', 'id-1')).toBeUndefined()
  })

  it('refuses cookieSecrets shorter than 32 characters at construction', () => {
    expect(() => createAuthorizationServer({ issuer: 'https://as.example', clients: [], cookieSecrets: ['short'] })).toThrow(/^cookieSecrets\[0\]: must be a string of at least 32 characters/)
    expect(() => createAuthorizationServer({ issuer: 'https://as.example', clients: [], cookieSecrets: [] })).toThrow(/^cookieSecrets: must be a non-empty array/)
  })
})

describe('every cookie the server sets', () => {
  const cases = [
    { issuer: 'https://as.example', name: (n: string) => `__Host-${n}`, attrs: /; Path=\/; HttpOnly; SameSite=Lax; Secure(; |$)/ },
    { issuer: 'https://as.example/tenant', name: (n: string) => `__Secure-${n}`, attrs: /; Path=\/tenant; HttpOnly; SameSite=Lax; Secure(; |$)/ },
    { issuer: 'http://127.0.0.1:4000', name: (n: string) => n, attrs: /; Path=\/; HttpOnly; SameSite=Lax(; Max-Age=\d+)?$/ },
  ]
  for (const { issuer, name, attrs } of cases) {
    it(`under ${issuer} is named ${name('grantkit_…')}`, async () => {
      const clock = fakeClock()
      const server = createAuthorizationServer({
        issuer,
        clients: [{ client_id: 'web', client_secret: 'web-secret', redirect_uris: ['https://app.example/cb'], grant_types: ['authorization_code', 'urn:ietf:params:oauth:grant-type:device_code'], scope: 'api:read' }],
        users: fakeUsers({ alice: { password: 'wonderland' } }),
        deps: { now: clock.now, randomId: counterIds() },
      })
      const jar = new Map<string, string>()
      const seen: string[] = []
      const send = async (req: Omit<GrantkitRequest, 'headers'> & { headers?: Record<string, string> }): Promise<GrantkitResponse> => {
        const headers = { ...req.headers, ...(jar.size > 0 && { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') }) }
        const res = await server.handle({ ...req, headers })
        for (const c of setCookies(res)) {
          seen.push(c)
          const pair = c.split(';')[0]!
          jar.set(pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1))
        }
        return res
      }
      const q = new URLSearchParams({ response_type: 'code', client_id: 'web', redirect_uri: 'https://app.example/cb', scope: 'api:read', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' })
      const start = await send({ method: 'GET', url: new URL(`${issuer}/authorize?${q}`) })
      const interaction = new URL(start.headers.location as string)
      const page = await send({ method: 'GET', url: interaction })
      const csrf = /name="csrf" value="([^"]+)"/.exec(page.body!)![1]!
      await send({ method: 'POST', url: new URL(`${interaction}/login`), headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ csrf, username: 'alice', password: 'wonderland' }).toString() })
      await send({ method: 'GET', url: new URL(`${issuer}/device`) })
      const names = seen.map((c) => c.slice(0, c.indexOf('=')))
      expect(new Set(names)).toEqual(new Set(['grantkit_interaction', 'grantkit_session', 'grantkit_known_device', 'grantkit_device'].map(name)))
      for (const c of seen) expect(c).toMatch(attrs)
      for (const c of seen) expect(c).not.toMatch(/Domain=/i)
      // And each is read back under that name: the login step found its interaction, the session is live.
      expect(await server.interactions.details({ method: 'GET', url: interaction, headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } }, interaction.pathname.split('/').pop()!)).toMatchObject({ prompt: 'consent', sub: 'alice' })
    })
  }
})
