import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { basic, postForm, startExample, type RunningExample } from './run-example.js'

describe.each(['jwt', 'opaque'])('examples/protected-api (%s access tokens)', (format) => {
  let ex: RunningExample
  beforeAll(async () => {
    ex = await startExample('protected-api', { TOKEN_FORMAT: format })
  })
  afterAll(async () => {
    await ex?.stop()
  })

  const tokenFor = async (id: string, scope: string): Promise<string> => {
    const res = await postForm(`${ex.url}/token`, { grant_type: 'client_credentials', scope }, { authorization: basic(id, `${id}-secret`) })
    expect(res.status).toBe(200)
    return res.body.access_token as string
  }

  it('serves the API to a token with the required scope', async () => {
    const res = await fetch(`${ex.url}/api/reports`, { headers: { authorization: `Bearer ${await tokenFor('dashboard', 'reports:read')}` } })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ reports: ['q1', 'q2'], for: 'dashboard' })
  })

  it('answers 401 without an error code when no token is sent (RFC 6750 §3.1)', async () => {
    const res = await fetch(`${ex.url}/api/reports`)
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="[^"]+"$/)
  })

  it('answers 403 insufficient_scope naming the scope for a token without it', async () => {
    const res = await fetch(`${ex.url}/api/reports`, { headers: { authorization: `Bearer ${await tokenFor('metrics', 'metrics:read')}` } })
    expect(res.status).toBe(403)
    expect(res.headers.get('www-authenticate')).toContain('error="insufficient_scope"')
    expect(res.headers.get('www-authenticate')).toContain('scope="reports:read"')
  })

  it('answers 401 invalid_token once the token is revoked', async () => {
    const token = await tokenFor('dashboard', 'reports:read')
    const revoke = await postForm(`${ex.url}/revoke`, { token }, { authorization: basic('dashboard', 'dashboard-secret') })
    expect(revoke.status).toBe(200)
    const res = await fetch(`${ex.url}/api/reports`, { headers: { authorization: `Bearer ${token}` } })
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"')
  })
})
