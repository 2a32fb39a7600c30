import { describe, expect, it } from 'vitest'
import { defaultFeatures, type GrantkitResponse } from '../../src/index.js'
import {
  authorizeAs,
  authorizeRequest,
  base,
  Browser,
  IMPLICIT_CB,
  ISSUER,
  redirect,
  setup,
  uidOf,
  WEB_CB,
  webParams,
  type Harness,
} from './fixtures.js'

/**
 * Every way an authorization ends in an error sent to the client. Each case
 * returns the response and says where the parameters travel.
 */
const errorCases: [string, string, 'query' | 'fragment', (h: Harness) => Promise<GrantkitResponse>][] = [
  ['invalid_request (missing response_type)', 'invalid_request', 'query', (h) => h.server.authorize(authorizeRequest({ client_id: 'web', redirect_uri: WEB_CB, state: 'xyz' }))],
  ['unsupported_response_type', 'unsupported_response_type', 'query', (h) => h.server.authorize(authorizeRequest(webParams({ response_type: 'foo', state: 'xyz' })))],
  ['unauthorized_client', 'unauthorized_client', 'fragment', (h) => h.server.authorize(authorizeRequest(webParams({ response_type: 'token', state: 'xyz' })))],
  ['invalid_scope', 'invalid_scope', 'query', (h) => h.server.authorize(authorizeRequest(webParams({ scope: 'admin', state: 'xyz' })))],
  // Only with the request-objects feature left out: with it, a request object that fails is shown as a page (test/jar).
  ['request_not_supported', 'request_not_supported', 'query', () => setup({ features: defaultFeatures.filter((f) => f.name !== 'request-objects') }).server.authorize(authorizeRequest(webParams({ request: 'x.y.z', state: 'xyz' })))],
  ['request_uri_not_supported', 'request_uri_not_supported', 'query', (h) => h.server.authorize(authorizeRequest(webParams({ request_uri: 'https://client.example/r', state: 'xyz' })))],
  ['invalid_request in the fragment (nonce missing)', 'invalid_request', 'fragment', (h) => h.server.authorize(authorizeRequest({ response_type: 'id_token', client_id: 'implicit', redirect_uri: IMPLICIT_CB, scope: 'openid', state: 'xyz' }))],
  ['login_required (prompt=none, no session)', 'login_required', 'query', (h) => h.server.authorize(authorizeRequest(webParams({ prompt: 'none', state: 'xyz' })))],
  [
    'consent_required (prompt=none, session without consent)',
    'consent_required',
    'query',
    async (h) => {
      const browser = new Browser()
      await authorizeAs(h, browser, webParams())
      return h.server.authorize(authorizeRequest(webParams({ scope: 'api:write', prompt: 'none', state: 'xyz' }), { cookie: browser.cookie }))
    },
  ],
  ['access_denied (interaction finished with an error)', 'access_denied', 'query', (h) => authorizeAs(h, new Browser(), webParams({ state: 'xyz' }), { error: 'access_denied' })],
]

describe('error redirects (RFC 6749 §4.1.2.1, §4.2.2.1, RFC 9207)', () => {
  it.each(errorCases)('%s carries error, state and iss', async (_, error, mode, run) => {
    const h = setup()
    const r = redirect(await run(h))
    const params = mode === 'query' ? r.query : r.fragment
    expect(params.get('error')).toBe(error)
    expect(params.get('state')).toBe('xyz')
    expect(params.get('iss')).toBe(ISSUER)
    // Nothing leaks into the other component.
    const other = mode === 'query' ? r.fragment : r.query
    expect([...other.keys()]).toEqual([])
  })

  it.each(errorCases)('%s carries a non-empty error_description', async (_, error, mode, run) => {
    const h = setup()
    const r = redirect(await run(h))
    const params = mode === 'query' ? r.query : r.fragment
    expect(params.get('error')).toBe(error)
    expect(params.get('error_description') ?? '').not.toBe('')
  })

  it('leaves out state when the request had none', async () => {
    const h = setup()
    const { state: _, ...rest } = webParams({ response_type: 'foo' })
    const r = redirect(await h.server.authorize(authorizeRequest(rest)))
    expect(r.query.has('state')).toBe(false)
    expect(r.query.get('iss')).toBe(ISSUER)
  })

  it('does not echo a repeated state', async () => {
    const h = setup()
    const r = redirect(await h.server.authorize(authorizeRequest([...Object.entries(webParams()), ['state', 'other']])))
    expect(r.query.get('error')).toBe('invalid_request')
    expect(r.query.has('state')).toBe(false)
  })
})

describe('success redirects (RFC 6749 §4.1.2, RFC 9207)', () => {
  it('sends the code with state and iss in the query, by 303 and not cacheable', async () => {
    const h = setup()
    const res = await authorizeAs(h, new Browser(), webParams({ state: 'a b&c=d' }))
    expect(res.status).toBe(303)
    expect(res.headers['cache-control']).toBe('no-store')
    const r = redirect(res)
    expect(base(r.url)).toBe(WEB_CB)
    expect(r.query.get('code')).toBeTruthy()
    expect(r.query.get('state')).toBe('a b&c=d')
    expect(r.query.get('iss')).toBe(ISSUER)
    expect(r.url.hash).toBe('')
  })

  it('sends the code in the fragment when response_mode=fragment', async () => {
    const h = setup()
    const r = redirect(await authorizeAs(h, new Browser(), webParams({ response_mode: 'fragment' })))
    expect(r.fragment.get('code')).toBeTruthy()
    expect(r.fragment.get('iss')).toBe(ISSUER)
    expect(r.query.has('code')).toBe(false)
  })

  it('sends a person who must sign in to the interaction URL by 303', async () => {
    const h = setup()
    const res = await h.server.authorize(authorizeRequest(webParams()))
    expect(uidOf(res)).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(res.headers['cache-control']).toBe('no-store')
  })
})
