import { describe, expect, it } from 'vitest'
import { basicHeader, ECHO_GRANT, expectAuthenticated, expectInvalidClient, failures, JWT_BEARER, SECRETS, setup } from './fixtures.js'

const echo = { grant_type: ECHO_GRANT }

describe("event 'client.authentication.failed'", () => {
  it('names the client and the method of a failed Basic authentication, and carries no secret', async () => {
    const h = await setup()
    const presented = 'presented-wrong-secret-7f3a'
    const authorization = basicHeader('svc', presented)
    expectInvalidClient(await h.token(echo, { authorization }))
    expect(failures(h.events)).toEqual([expect.objectContaining({ type: 'client.authentication.failed', clientId: 'svc', method: 'client_secret_basic' })])
    const all = JSON.stringify(h.events)
    expect(all).not.toContain(presented)
    expect(all).not.toContain(authorization.slice('Basic '.length))
    expect(all).not.toContain(SECRETS.svc)
  })

  it('names the client of a failed client_secret_post authentication, and carries no secret', async () => {
    const h = await setup()
    const presented = 'presented-wrong-secret-9c1d'
    expectInvalidClient(await h.token({ ...echo, client_id: 'post', client_secret: presented }))
    expect(failures(h.events)).toEqual([expect.objectContaining({ clientId: 'post', method: 'client_secret_post' })])
    const all = JSON.stringify(h.events)
    expect(all).not.toContain(presented)
    expect(all).not.toContain(SECRETS.post)
  })

  it('carries no secret when the right secret was sent by the wrong method', async () => {
    const h = await setup()
    expectInvalidClient(await h.token(echo, { authorization: basicHeader('post', SECRETS.post) }))
    expect(failures(h.events)).toEqual([expect.objectContaining({ clientId: 'post' })])
    expect(JSON.stringify(h.events)).not.toContain(SECRETS.post)
  })

  it('names the client of a rejected private_key_jwt assertion, and carries no part of the assertion', async () => {
    const h = await setup()
    const client_assertion = await h.assertion(h.keys.es256, { aud: 'https://other.example' })
    expectInvalidClient(await h.token({ ...echo, client_assertion_type: JWT_BEARER, client_assertion }))
    expect(failures(h.events)).toEqual([expect.objectContaining({ clientId: 'pkjwt', method: 'private_key_jwt' })])
    const all = JSON.stringify(h.events)
    for (const part of client_assertion.split('.')) expect(all).not.toContain(part)
  })

  it('names the client of a replayed assertion, and carries no part of it', async () => {
    const h = await setup()
    const client_assertion = await h.assertion(h.keys.es256)
    expectAuthenticated(await h.token({ ...echo, client_assertion_type: JWT_BEARER, client_assertion }), 'pkjwt', 'private_key_jwt')
    expect(failures(h.events)).toEqual([])
    expectInvalidClient(await h.token({ ...echo, client_assertion_type: JWT_BEARER, client_assertion }))
    expect(failures(h.events)).toEqual([expect.objectContaining({ clientId: 'pkjwt' })])
    const all = JSON.stringify(h.events)
    for (const part of client_assertion.split('.')) expect(all).not.toContain(part)
  })

  it('carries neither the HMAC key nor the assertion of a rejected client_secret_jwt', async () => {
    const h = await setup()
    const presented = 'presented-wrong-hmac-key-of-32-bytes-or-more'
    const client_assertion = await h.assertion(new TextEncoder().encode(presented), { sub: 'hmac' })
    expectInvalidClient(await h.token({ ...echo, client_assertion_type: JWT_BEARER, client_assertion }))
    expect(failures(h.events)).toEqual([expect.objectContaining({ clientId: 'hmac', method: 'client_secret_jwt' })])
    const all = JSON.stringify(h.events)
    expect(all).not.toContain(presented)
    expect(all).not.toContain(SECRETS.hmac)
    for (const part of client_assertion.split('.')) expect(all).not.toContain(part)
  })

  it('is emitted once per failure, with no client id when none was given', async () => {
    const h = await setup()
    expectInvalidClient(await h.token(echo))
    expectInvalidClient(await h.token({ ...echo, client_secret: 'orphan-secret-value' }))
    expect(failures(h.events)).toEqual([
      expect.objectContaining({ clientId: undefined }),
      expect.objectContaining({ clientId: undefined, method: 'client_secret_post' }),
    ])
    expect(JSON.stringify(h.events)).not.toContain('orphan-secret-value')
  })

  it('is not emitted when authentication succeeds', async () => {
    const h = await setup()
    expectAuthenticated(await h.token(echo, { authorization: basicHeader('svc', SECRETS.svc) }), 'svc', 'client_secret_basic')
    expectAuthenticated(await h.token({ ...echo, client_id: 'pub' }), 'pub', 'none')
    expect(failures(h.events)).toEqual([])
  })
})
