import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { basic, jwtPayload, postForm, startExample, type RunningExample } from './run-example.js'

describe('examples/hono-app', () => {
  let ex: RunningExample
  beforeAll(async () => {
    ex = await startExample('hono-app')
  })
  afterAll(async () => {
    await ex?.stop()
  })

  it("serves the app's own route next to grantkit's", async () => {
    const res = await fetch(`${ex.url}/`)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ service: 'hono-app', issuer: ex.url, discovery: `${ex.url}/.well-known/oauth-authorization-server` })
  })

  it('issues a token that its JWKS can verify the issuer of', async () => {
    const res = await postForm(`${ex.url}/token`, { grant_type: 'client_credentials' }, { authorization: basic('svc', 'svc-secret') })
    expect(res.status).toBe(200)
    expect(jwtPayload(res.body.access_token as string)).toMatchObject({ iss: ex.url, client_id: 'svc', scope: 'api:read' })
    const jwks = (await (await fetch(`${ex.url}/jwks`)).json()) as { keys: unknown[] }
    expect(jwks.keys.length).toBeGreaterThan(0)
  })

  it('leaves unknown paths to Hono (404)', async () => {
    expect((await fetch(`${ex.url}/nothing-here`)).status).toBe(404)
  })

  it('exits 0 on SIGTERM', async () => {
    expect(await ex.stop()).toBe(0)
  })
})
