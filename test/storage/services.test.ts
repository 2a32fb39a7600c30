import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { postgresDatabaseUrl, POSTGRES_URL, redisDatabaseUrl, REDIS_URL, serviceUrl, shown, withDeadline } from './services.js'

const TEST_DIR = fileURLToPath(new URL('..', import.meta.url))

function sourcesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name)
    if (e.isDirectory()) return e.name === 'fixtures' ? [] : sourcesUnder(path)
    return /\.(ts|mjs|js)$/.test(e.name) ? [path] : []
  })
}

describe('the services the tests are given', () => {
  it('reads one URL per service, and refuses one that is not a URL of that service, naming the variable', () => {
    const pg = ['postgres:', 'postgresql:']
    expect(serviceUrl({}, 'GRANTKIT_TEST_POSTGRES', 'postgres://u@h:5432/d', pg).toString()).toBe('postgres://u@h:5432/d')
    expect(serviceUrl({ GRANTKIT_TEST_POSTGRES: '' }, 'GRANTKIT_TEST_POSTGRES', 'postgres://u@h/d', pg).toString()).toBe('postgres://u@h/d')
    expect(serviceUrl({ GRANTKIT_TEST_POSTGRES: 'postgresql://ci@db:6543/gk' }, 'GRANTKIT_TEST_POSTGRES', 'postgres://u@h/d', pg).host).toBe('db:6543')
    expect(() => serviceUrl({ GRANTKIT_TEST_POSTGRES: 'db:5432' }, 'GRANTKIT_TEST_POSTGRES', 'postgres://u@h/d', pg)).toThrow(/GRANTKIT_TEST_POSTGRES must start with postgres:\/\/ or postgresql:\/\//)
    expect(() => serviceUrl({ GRANTKIT_TEST_REDIS: 'not a url' }, 'GRANTKIT_TEST_REDIS', 'redis://h', ['redis:'])).toThrow(/GRANTKIT_TEST_REDIS is not a URL/)
  })

  it('derives other databases on the same servers, with the same credentials', () => {
    const pg = new URL(postgresDatabaseUrl('grantkit_cli_scale'))
    const given = new URL(POSTGRES_URL)
    expect([pg.host, pg.username, pg.password, pg.search, pg.pathname]).toEqual([given.host, given.username, given.password, given.search, '/grantkit_cli_scale'])
    expect(() => postgresDatabaseUrl('x; DROP DATABASE test')).toThrow(/not a plain database name/)
    const redis = new URL(redisDatabaseUrl(7))
    expect([redis.host, redis.username, redis.password, redis.pathname]).toEqual([new URL(REDIS_URL).host, new URL(REDIS_URL).username, new URL(REDIS_URL).password, '/7'])
    expect(() => redisDatabaseUrl(16)).toThrow(/not a Redis database number/)
  })

  it('never shows a password in a message', () => {
    expect(shown('postgres://ci:s3cret@db/gk')).toBe('postgres://ci:***@db/gk')
    expect(shown('redis://:s3cret@r:6379/2')).not.toContain('s3cret')
    expect(shown('postgres://ci@db/gk')).toBe('postgres://ci@db/gk')
  })

  it('bounds a wait that would never end, naming what it waited for', async () => {
    await expect(withDeadline(50, 'Redis at x', () => new Promise(() => {}))).rejects.toThrow('Redis at x: no answer within 50 ms')
    await expect(withDeadline(1000, 'y', async () => 'ok')).resolves.toBe('ok')
  })

  it('has no test reaching a local PostgreSQL or Redis except through services.ts', () => {
    // A literal URL of a local server bypasses GRANTKIT_TEST_POSTGRES / GRANTKIT_TEST_REDIS.
    // Port 1 is allowed: the tests use it as a port nothing listens on.
    const local = /(?:postgres(?:ql)?|rediss?(?:\+cluster)?):\/\/(?:[^@/\s'"`]*@)?(?:127\.0\.0\.1|localhost|\[::1\])(?::(\d+))?/g
    const found: string[] = []
    for (const file of sourcesUnder(TEST_DIR)) {
      const name = relative(TEST_DIR, file)
      if (name === join('storage', 'services.ts') || name === join('storage', 'services.test.ts')) continue
      const text = readFileSync(file, 'utf8')
      for (const m of text.matchAll(local)) if (m[1] !== '1' && !text.slice(m.index + m[0].length).startsWith(':$')) found.push(`${name}: ${m[0]}`)
      for (const m of text.matchAll(/process\.env\.(DATABASE_URL|REDIS_URL|GRANTKIT_REDIS_URL)\b/g)) found.push(`${name}: ${m[0]}`)
    }
    expect(found).toEqual([])
  })
})
