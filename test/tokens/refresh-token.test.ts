import { describe, expect, it } from 'vitest'
import { hashToken, prepareClient, shouldIssueRefreshToken } from '../../src/index.js'
import { makeServer } from '../helpers.js'
import { createRefreshToken } from '../../src/tokens/refresh-token.js'
import { contextOf } from '../../src/server.js'

const client = (extra: Record<string, unknown> = {}) =>
  prepareClient({ client_id: 'c', client_secret: 's', grant_types: ['password', 'refresh_token'], scope: 'openid offline_access api', ...extra })

describe('shouldIssueRefreshToken (RFC 6749 §6, OIDC Core §11)', () => {
  it('refuses a client not registered for the refresh_token grant', () => {
    expect(shouldIssueRefreshToken(client({ grant_types: ['password'] }), 'api')).toBe(false)
  })

  it('issues for a plain OAuth scope', () => {
    expect(shouldIssueRefreshToken(client(), 'api')).toBe(true)
  })

  it('issues with openid only when offline_access is in the scope', () => {
    expect(shouldIssueRefreshToken(client(), 'openid api')).toBe(false)
    expect(shouldIssueRefreshToken(client(), 'openid offline_access')).toBe(true)
  })

  it('issues with openid and no offline_access to a client registered with always_issue_refresh_token: true', () => {
    expect(shouldIssueRefreshToken(client({ always_issue_refresh_token: true }), 'openid')).toBe(true)
    // Only the boolean true counts, not a truthy string from a loosely typed config.
    expect(shouldIssueRefreshToken(client({ always_issue_refresh_token: 'yes' }), 'openid')).toBe(false)
  })
})

describe('createRefreshToken', () => {
  it('returns a 256-bit token and a record that holds only its SHA-256 hash', () => {
    const { server } = makeServer()
    const { token, record } = createRefreshToken(contextOf(server), { clientId: 'c', sub: 'alice', scope: 'api', grantId: 'g', absoluteExpiresAt: contextOf(server).now() + 1000 })
    expect(Buffer.from(token, 'base64url').length).toBeGreaterThanOrEqual(32)
    expect(record.tokenHash).toBe(hashToken(token))
    expect(JSON.stringify(record)).not.toContain(token)
  })

  it('expires after ttl.refreshToken, but never after the chain absolute end', () => {
    const { server, clock } = makeServer({ ttl: { refreshToken: 100 } })
    const now = clock.now()
    const input = { clientId: 'c', sub: 'alice', scope: 'api', grantId: 'g' }
    expect(createRefreshToken(contextOf(server), { ...input, absoluteExpiresAt: now + 1000 }).record).toMatchObject({ issuedAt: now, expiresAt: now + 100, absoluteExpiresAt: now + 1000 })
    expect(createRefreshToken(contextOf(server), { ...input, absoluteExpiresAt: now + 40 }).record).toMatchObject({ expiresAt: now + 40, absoluteExpiresAt: now + 40 })
  })

  it('makes a different token every time', () => {
    const { server } = makeServer()
    const input = { clientId: 'c', sub: 'alice', scope: 'api', grantId: 'g', absoluteExpiresAt: contextOf(server).now() + 1000 }
    const tokens = new Set(Array.from({ length: 50 }, () => createRefreshToken(contextOf(server), input).token))
    expect(tokens.size).toBe(50)
  })
})
