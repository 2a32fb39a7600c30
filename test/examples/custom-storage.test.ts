import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createJsonStorage } from '../../examples/custom-storage/storage.mjs'
import { CONFORMANCE_EPOCH, runStorageConformance } from '../../src/testing/storage-conformance.js'
import { basic, postForm, startExample, type RunningExample } from './run-example.js'

// The example storage keeps every rule a grantkit storage must keep.
runStorageConformance('examples/custom-storage (one Map of JSON)', () => {
  let t = CONFORMANCE_EPOCH
  return { storage: createJsonStorage({ now: () => t }), now: () => t, advance: (s: number) => void (t += s) }
})

describe('examples/custom-storage over HTTP', () => {
  let ex: RunningExample
  beforeAll(async () => {
    ex = await startExample('custom-storage')
  })
  afterAll(async () => {
    await ex?.stop()
  })

  const introspect = async (token: string): Promise<Record<string, unknown>> =>
    (await postForm(`${ex.url}/introspect`, { token }, { authorization: basic('rs', 'rs-secret') })).body

  it('stores opaque access tokens: introspection finds them, revocation removes them', async () => {
    const issued = await postForm(`${ex.url}/token`, { grant_type: 'client_credentials' }, { authorization: basic('svc', 'svc-secret') })
    expect(issued.status).toBe(200)
    const token = issued.body.access_token as string
    expect(token).not.toContain('.')
    expect(await introspect(token)).toMatchObject({ active: true, client_id: 'svc', scope: 'api:read' })
    const revoked = await fetch(`${ex.url}/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic('svc', 'svc-secret') },
      body: new URLSearchParams({ token }),
    })
    expect(revoked.status).toBe(200)
    expect(await introspect(token)).toEqual({ active: false })
    await vi.waitFor(() => expect(ex.output()).toMatch(/issued a client_credentials token to svc; storage holds \d+ entries/))
  })

  it('rotates refresh tokens once, and a reused one revokes the whole grant', async () => {
    const first = await postForm(`${ex.url}/token`, { grant_type: 'password', client_id: 'cli', username: 'alice', password: 'wonderland', scope: 'api:read offline_access' })
    expect(first.status).toBe(200)
    expect(await introspect(first.body.access_token as string)).toMatchObject({ active: true, sub: 'alice' })

    const second = await postForm(`${ex.url}/token`, { grant_type: 'refresh_token', client_id: 'cli', refresh_token: first.body.refresh_token as string })
    expect(second.status).toBe(200)
    expect(second.body.refresh_token).not.toBe(first.body.refresh_token)

    const replay = await postForm(`${ex.url}/token`, { grant_type: 'refresh_token', client_id: 'cli', refresh_token: first.body.refresh_token as string })
    expect(replay).toMatchObject({ status: 400, body: { error: 'invalid_grant' } })
    // RFC 9700 §4.14.2: reuse of a rotated token revokes what the grant issued.
    expect(await introspect(second.body.access_token as string)).toEqual({ active: false })
    const after = await postForm(`${ex.url}/token`, { grant_type: 'refresh_token', client_id: 'cli', refresh_token: second.body.refresh_token as string })
    expect(after.body.error).toBe('invalid_grant')
  })

  it('exits 0 on SIGTERM', async () => {
    expect(await ex.stop()).toBe(0)
  })
})
