import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { basic, postForm, startExample, type RunningExample } from './run-example.js'

describe('examples/node-minimal', () => {
  let ex: RunningExample
  beforeAll(async () => {
    ex = await startExample('node-minimal')
  })
  afterAll(async () => {
    await ex?.stop()
  })

  it('prints a curl line for its own address', async () => {
    await vi.waitFor(() => expect(ex.output()).toContain(`curl -s -u reporting:reporting-secret -d grant_type=client_credentials -d scope=reports:read ${ex.url}/token`))
  })

  it('issues a client_credentials token to the client it registers', async () => {
    const res = await postForm(`${ex.url}/token`, { grant_type: 'client_credentials', scope: 'reports:read' }, { authorization: basic('reporting', 'reporting-secret') })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ token_type: 'Bearer', scope: 'reports:read' })
    expect(typeof res.body.access_token).toBe('string')
  })

  it('refuses a wrong secret with 401 invalid_client', async () => {
    const res = await postForm(`${ex.url}/token`, { grant_type: 'client_credentials' }, { authorization: basic('reporting', 'nope') })
    expect(res.status).toBe(401)
    expect(res.body.error).toBe('invalid_client')
  })

  it('publishes its issuer in discovery', async () => {
    const res = await fetch(`${ex.url}/.well-known/oauth-authorization-server`)
    expect(((await res.json()) as { issuer: string }).issuer).toBe(ex.url)
  })

  it('exits 0 on SIGTERM', async () => {
    expect(await ex.stop()).toBe(0)
  })
})
