import { describe, expect, it } from 'vitest'
import {
  basicHeader,
  body,
  ECHO_GRANT,
  expectAuthenticated,
  expectError,
  expectInvalidClient,
  JWT_BEARER,
  SECRETS,
  secretHash,
  setup,
  START,
  WEIRD_ID,
} from './fixtures.js'
import { sansRequestId } from '../helpers.js'

const echo = { grant_type: ECHO_GRANT }
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64')

describe('client_secret_basic (RFC 6749 §2.3.1)', () => {
  it('authenticates a client with its id and secret in a Basic header', async () => {
    const h = await setup()
    const res = await h.token({ grant_type: 'client_credentials' }, { authorization: basicHeader('svc', SECRETS.svc) })
    expect(res.status).toBe(200)
    expect(body(res)).toMatchObject({ token_type: 'Bearer', scope: 'api:read' })
    expect(typeof body(res).access_token).toBe('string')
    expectAuthenticated(await h.token(echo, { authorization: basicHeader('svc', SECRETS.svc) }), 'svc', 'client_secret_basic')
  })

  it('accepts the Basic scheme name in any case', async () => {
    const h = await setup()
    const header = basicHeader('svc', SECRETS.svc).replace(/^Basic/, 'bAsIc')
    expectAuthenticated(await h.token(echo, { authorization: header }), 'svc', 'client_secret_basic')
  })

  it('rejects a wrong secret', async () => {
    const h = await setup()
    expectInvalidClient(await h.token(echo, { authorization: basicHeader('svc', 'not-the-secret') }))
    expectInvalidClient(await h.token(echo, { authorization: basicHeader('svc', SECRETS.svc + 'x') }))
    expectInvalidClient(await h.token(echo, { authorization: basicHeader('svc', '') }))
  })

  it('rejects an unknown client', async () => {
    const h = await setup()
    expectInvalidClient(await h.token(echo, { authorization: basicHeader('nobody', SECRETS.svc) }))
  })

  it('form-url-decodes id and secret, with + meaning space (RFC 6749 §2.3.1)', async () => {
    const h = await setup()
    // 'weird:id +%' and 'p:a+s%s w rd', encoded by hand so the test does not trust an encoder.
    const header = 'Basic ' + b64('weird%3Aid+%2B%25:p%3Aa%2Bs%25s+w+rd')
    expect(header).toBe(basicHeader(WEIRD_ID, SECRETS.weird))
    expectAuthenticated(await h.token(echo, { authorization: header }), WEIRD_ID, 'client_secret_basic')
  })

  it('splits id and secret at the first colon, which an encoded id cannot contain', async () => {
    const h = await setup()
    // Unencoded, the id's own ':' would split it early.
    expectInvalidClient(await h.token(echo, { authorization: 'Basic ' + b64(`${WEIRD_ID}:${encodeURIComponent(SECRETS.weird)}`) }))
  })

  it('rejects a secret that was not form-url-encoded', async () => {
    const h = await setup()
    // Raw, '+' decodes to a space and '%s' is not an escape: not the registered secret.
    expectInvalidClient(await h.token(echo, { authorization: 'Basic ' + b64(`${encodeURIComponent(WEIRD_ID)}:${SECRETS.weird}`) }))
  })

  it.each([
    ['no colon', 'Basic ' + b64('svc')],
    ['bad base64', 'Basic !!not*base64!!'],
    ['empty id', 'Basic ' + b64(`:${SECRETS.svc}`)],
    ['no credentials', 'Basic '],
    ['bad percent-encoding', 'Basic ' + b64(`svc:%E0%A4%A`)],
  ])('rejects a malformed Basic header: %s', async (_, authorization) => {
    const h = await setup()
    expectInvalidClient(await h.token(echo, { authorization }))
  })

  it('rejects a client_id parameter that differs from the Basic user', async () => {
    const h = await setup()
    expectInvalidClient(await h.token({ ...echo, client_id: 'post' }, { authorization: basicHeader('svc', SECRETS.svc) }))
    expectAuthenticated(await h.token({ ...echo, client_id: 'svc' }, { authorization: basicHeader('svc', SECRETS.svc) }), 'svc', 'client_secret_basic')
  })

  it('rejects Basic from a client registered for client_secret_post, even with the right secret', async () => {
    const h = await setup()
    expectInvalidClient(await h.token(echo, { authorization: basicHeader('post', SECRETS.post) }))
  })

  it('rejects Basic from a client registered for client_secret_jwt, even with the right secret', async () => {
    const h = await setup()
    expectInvalidClient(await h.token(echo, { authorization: basicHeader('hmac', SECRETS.hmac) }))
  })

  it('rejects Basic from a public client', async () => {
    const h = await setup()
    expectInvalidClient(await h.token(echo, { authorization: basicHeader('pub', '') }))
    expectInvalidClient(await h.token(echo, { authorization: basicHeader('pub', 'anything') }))
  })

  it('checks a secret registered as client_secret_hash ("sha256:" + base64url SHA-256)', async () => {
    const h = await setup()
    expectAuthenticated(await h.token(echo, { authorization: basicHeader('hashed', SECRETS.hashed) }), 'hashed', 'client_secret_basic')
    expectInvalidClient(await h.token(echo, { authorization: basicHeader('hashed', 'wrong') }))
    // The hash itself is not a secret that authenticates.
    expectInvalidClient(await h.token(echo, { authorization: basicHeader('hashed', secretHash(SECRETS.hashed)) }))
  })

  it('rejects a secret whose client_secret_expires_at has passed (RFC 7591 §3.2.1)', async () => {
    const h = await setup()
    expectInvalidClient(await h.token(echo, { authorization: basicHeader('expired', SECRETS.expired) }))
  })

  it('accepts a secret until its client_secret_expires_at, and not from then on', async () => {
    const h = await setup()
    const header = { authorization: basicHeader('expiring', SECRETS.expiring) }
    expectAuthenticated(await h.token(echo, header), 'expiring', 'client_secret_basic')
    h.clock.set(START + 3599)
    expectAuthenticated(await h.token(echo, header), 'expiring', 'client_secret_basic')
    h.clock.set(START + 3600)
    expectInvalidClient(await h.token(echo, header))
  })
})

describe('client_secret_post (RFC 6749 §2.3.1)', () => {
  it('authenticates a client with client_id and client_secret in the body', async () => {
    const h = await setup()
    const res = await h.token({ grant_type: 'client_credentials', client_id: 'post', client_secret: SECRETS.post })
    expect(res.status).toBe(200)
    expect(typeof body(res).access_token).toBe('string')
    expectAuthenticated(await h.token({ ...echo, client_id: 'post', client_secret: SECRETS.post }), 'post', 'client_secret_post')
  })

  it('rejects a wrong secret', async () => {
    const h = await setup()
    expectInvalidClient(await h.token({ ...echo, client_id: 'post', client_secret: 'not-the-secret' }))
  })

  it('rejects an unknown client', async () => {
    const h = await setup()
    expectInvalidClient(await h.token({ ...echo, client_id: 'nobody', client_secret: SECRETS.post }))
  })

  it('rejects client_secret without client_id', async () => {
    const h = await setup()
    expectInvalidClient(await h.token({ ...echo, client_secret: SECRETS.post }))
  })

  it('rejects client_secret_post from a client registered for client_secret_basic, even with the right secret', async () => {
    const h = await setup()
    expectInvalidClient(await h.token({ ...echo, client_id: 'svc', client_secret: SECRETS.svc }))
  })

  it('rejects an expired secret', async () => {
    const h = await setup()
    // 'expired' is registered for Basic, so try it where the secret check comes first.
    expectInvalidClient(await h.token({ ...echo, client_id: 'expired', client_secret: SECRETS.expired }))
  })
})

describe('one authentication method per request (RFC 6749 §2.3)', () => {
  it('rejects Basic and client_secret_post together with invalid_request, even when both are valid', async () => {
    const h = await setup()
    const res = await h.token({ ...echo, client_id: 'svc', client_secret: SECRETS.svc }, { authorization: basicHeader('svc', SECRETS.svc) })
    expectError(res, 'invalid_request')
    expect(res.headers['www-authenticate']).toBeUndefined()
  })

  it('rejects Basic and a client assertion together with invalid_request', async () => {
    const h = await setup()
    const client_assertion = await h.assertion(h.keys.es256)
    expectError(
      await h.token({ ...echo, client_assertion_type: JWT_BEARER, client_assertion }, { authorization: basicHeader('svc', SECRETS.svc) }),
      'invalid_request',
    )
    // client_assertion_type alone already counts as the assertion method.
    expectError(await h.token({ ...echo, client_assertion_type: JWT_BEARER }, { authorization: basicHeader('svc', SECRETS.svc) }), 'invalid_request')
  })

  it('rejects client_secret_post and a client assertion together with invalid_request', async () => {
    const h = await setup()
    const client_assertion = await h.assertion(h.keys.es256)
    expectError(
      await h.token({ ...echo, client_id: 'pkjwt', client_secret: 'x', client_assertion_type: JWT_BEARER, client_assertion }),
      'invalid_request',
    )
    expectError(await h.token({ ...echo, client_id: 'post', client_secret: SECRETS.post, client_assertion }), 'invalid_request')
  })

  it('does not burn the jti of an assertion sent alongside another method', async () => {
    const h = await setup()
    const client_assertion = await h.assertion(h.keys.es256)
    expectError(await h.token({ ...echo, client_assertion_type: JWT_BEARER, client_assertion }, { authorization: basicHeader('svc', SECRETS.svc) }), 'invalid_request')
    expectAuthenticated(await h.token({ ...echo, client_assertion_type: JWT_BEARER, client_assertion }), 'pkjwt', 'private_key_jwt')
  })
})

describe('failures do not reveal their cause', () => {
  it('gives an unknown client and a known client with a wrong secret byte-identical responses', async () => {
    const h = await setup()
    const unknown = await h.token(echo, { authorization: basicHeader('nobody', 'guess') })
    const wrong = await h.token(echo, { authorization: basicHeader('svc', 'guess') })
    expectInvalidClient(unknown)
    expect(sansRequestId(wrong)).toStrictEqual(sansRequestId(unknown))

    const unknownPost = await h.token({ ...echo, client_id: 'nobody', client_secret: 'guess' })
    const wrongPost = await h.token({ ...echo, client_id: 'post', client_secret: 'guess' })
    expect(sansRequestId(wrongPost)).toStrictEqual(sansRequestId(unknownPost))
  })

  it('gives every invalid_client failure the same response, whatever the cause', async () => {
    const h = await setup()
    const reference = await h.token(echo, { authorization: basicHeader('svc', 'guess') })
    const others = [
      await h.token(echo, { authorization: basicHeader('expired', SECRETS.expired) }),
      await h.token(echo, { authorization: basicHeader('post', SECRETS.post) }),
      await h.token(echo, { authorization: 'Basic ' + b64('svc') }),
      await h.token({ ...echo, client_id: 'post', client_secret: 'guess' }),
      await h.token({ ...echo, client_secret: 'guess' }),
      await h.token({ ...echo, client_id: 'svc' }),
      await h.token(echo),
      await h.token({ ...echo, client_assertion_type: JWT_BEARER, client_assertion: await h.assertion(h.keys.stranger) }),
      await h.token({ ...echo, client_assertion_type: JWT_BEARER, client_assertion: 'not.a.jwt' }),
    ]
    for (const res of others) expect(sansRequestId(res)).toStrictEqual(sansRequestId(reference))
  })
})
