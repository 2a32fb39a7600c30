import { describe, expect, it } from 'vitest'
import {
  exportPrivateJwk,
  generateSigningKey,
  hashToken,
  type AuthorizationServerOptions,
  type Client,
} from '../../src/index.js'
import { makeServer } from '../helpers.js'
import { issueAccessToken } from '../../src/tokens/access-token.js'
import { issueIdToken } from '../../src/tokens/id-token.js'
import { validateAccessToken } from '../../src/tokens/validate.js'
import type { ServerContext } from '../../src/context.js'
import { contextOf } from '../../src/server.js'

const GRANT = { clientId: 'svc', sub: 'alice', scope: 'openid profile', grantId: 'grant-1' }

function setup(extra: Partial<AuthorizationServerOptions> = {}) {
  const { server, clock } = makeServer(extra)
  return { ctx: contextOf(server), clock }
}

const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')

describe('validateAccessToken: garbage and forgeries', () => {
  it.each([
    ['an empty string', ''],
    ['a word', 'garbage'],
    ['three dots', '...'],
    ['two dots and nothing else', 'a.b.c'],
    ['a JSON array header', `${enc([1])}.${enc({})}.sig`],
    ['a JSON array payload', `${enc({ alg: 'ES256', typ: 'at+jwt', kid: 'k' })}.${enc([1])}.sig`],
    ['a non-string kid', `${enc({ alg: 'ES256', typ: 'at+jwt', kid: 42 })}.${enc({ sub: 'x' })}.sig`],
    ['four segments', 'a.b.c.d'],
    ['invalid base64 everywhere', '%%%.%%%.%%%'],
  ])('returns null for %s', async (_, token) => {
    const { ctx } = setup()
    await expect(validateAccessToken(ctx, token)).resolves.toBeNull()
  })

  it('returns null for an opaque-looking token over 8192 characters without looking it up', async () => {
    const { ctx } = setup({ accessTokenFormat: 'opaque' })
    const find = ctx.storage.accessTokens.find.bind(ctx.storage.accessTokens)
    let lookups = 0
    ctx.storage.accessTokens.find = async (hash) => {
      lookups++
      return find(hash)
    }
    expect(await validateAccessToken(ctx, 'a'.repeat(8193))).toBeNull()
    expect(lookups).toBe(0)
  })

  it('returns null for a JWT over 8192 characters even when we signed it', async () => {
    const { ctx } = setup()
    const { token } = await issueAccessToken(ctx, { ...GRANT, claims: { padding: 'x'.repeat(8192) } })
    expect(token.length).toBeGreaterThan(8192)
    expect(await validateAccessToken(ctx, token)).toBeNull()
  })

  it('returns null for an ID token (typ JWT) signed with our own key', async () => {
    const { ctx } = setup()
    const client = ctx.clients.find('svc') as Client
    expect(await validateAccessToken(ctx, issueIdToken(ctx, { client, sub: 'alice', authTime: Math.floor(ctx.now()) }))).toBeNull()
  })

  it('returns null for a JWT access token signed by a key the server does not hold', async () => {
    const { ctx } = setup()
    const { ctx: stranger } = setup()
    const token = (await issueAccessToken(stranger, GRANT)).token
    expect(await validateAccessToken(stranger, token)).not.toBeNull()
    expect(await validateAccessToken(ctx, token)).toBeNull()
  })

  it('returns null for a JWT access token from another issuer signed with the same key', async () => {
    const jwk = exportPrivateJwk(generateSigningKey('ES256'))
    const { ctx } = setup({ keys: { keys: [jwk] } })
    const { ctx: other } = setup({ issuer: 'https://other.example', keys: { keys: [jwk] } })
    const token = (await issueAccessToken(other, GRANT)).token
    expect(await validateAccessToken(other, token)).not.toBeNull()
    expect(await validateAccessToken(ctx, token)).toBeNull()
  })
})

describe.each(['jwt', 'opaque'] as const)('validateAccessToken with %s access tokens', (accessTokenFormat) => {
  async function issued(ctx: ServerContext) {
    return issueAccessToken(ctx, GRANT)
  }

  it('returns the subject, client, scope and grant of a live token', async () => {
    const { ctx, clock } = setup({ accessTokenFormat })
    const { token, id } = await issued(ctx)
    expect(await validateAccessToken(ctx, token)).toMatchObject({
      id,
      format: accessTokenFormat,
      clientId: 'svc',
      sub: 'alice',
      scope: 'openid profile',
      grantId: 'grant-1',
      audience: ['https://as.example'],
      issuedAt: clock.now(),
      expiresAt: clock.now() + 3600,
    })
  })

  it('returns null once the token has expired', async () => {
    const { ctx, clock } = setup({ accessTokenFormat })
    const { token } = await issued(ctx)
    clock.advance(3599)
    expect(await validateAccessToken(ctx, token)).not.toBeNull()
    clock.advance(1)
    expect(await validateAccessToken(ctx, token)).toBeNull()
  })

  it('returns null once the grant it descends from is revoked', async () => {
    const { ctx, clock } = setup({ accessTokenFormat })
    const { token } = await issued(ctx)
    const { token: unrelated } = await issueAccessToken(ctx, { ...GRANT, grantId: 'grant-2' })
    await ctx.storage.grants.revoke('grant-1', clock.now() + 3600)
    expect(await validateAccessToken(ctx, token)).toBeNull()
    expect(await validateAccessToken(ctx, unrelated)).not.toBeNull()
  })

  it('returns null for a revoked token', async () => {
    const { ctx } = setup({ accessTokenFormat })
    const { token, id, expiresAt } = await issued(ctx)
    const { token: sibling } = await issued(ctx)
    if (accessTokenFormat === 'jwt') await ctx.storage.accessTokens.revokeJti(id, expiresAt)
    else await ctx.storage.accessTokens.revoke(hashToken(token))
    expect(await validateAccessToken(ctx, token)).toBeNull()
    expect(await validateAccessToken(ctx, sibling)).not.toBeNull()
  })
})

describe('validateAccessToken: JWT specifics (RFC 9068)', () => {
  it('returns null for a JWT whose jti was revoked with storage.accessTokens.revokeJti', async () => {
    const { ctx } = setup()
    const { token, id, expiresAt } = await issueAccessToken(ctx, GRANT)
    expect(id).toBe('id-1')
    await ctx.storage.accessTokens.revokeJti('id-1', expiresAt)
    expect(await validateAccessToken(ctx, token)).toBeNull()
  })

  it('returns null for a JWT whose signature was made over another payload', async () => {
    const { ctx } = setup()
    const [h, p, s] = (await issueAccessToken(ctx, GRANT)).token.split('.') as [string, string, string]
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>
    const tampered = `${h}.${enc({ ...payload, scope: 'openid profile admin' })}.${s}`
    expect(await validateAccessToken(ctx, tampered)).toBeNull()
  })

  it('returns null for a JWT with alg none under our kid', async () => {
    const { ctx } = setup()
    const [h, p] = (await issueAccessToken(ctx, GRANT)).token.split('.') as [string, string]
    const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>
    expect(await validateAccessToken(ctx, `${enc({ ...header, alg: 'none' })}.${p}.`)).toBeNull()
  })
})
