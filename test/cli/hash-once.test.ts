import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { serve, type Output } from '../../src/cli/serve.js'
import * as password from '../../src/users/password.js'
import { contextOf } from '../../src/server.js'

// Counts scrypt hashes: StaticUserSource makes one per password, and one dummy.
vi.mock('../../src/users/password.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/users/password.js')>()
  return { ...original, hashPassword: vi.fn(original.hashPassword) }
})

let dir: string
beforeAll(() => void (dir = mkdtempSync(join(tmpdir(), 'grantkit-hash-once-'))))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const quiet: Output = { stdout: () => {}, stderr: () => {} }

describe('grantkit serve hashes the passwords of the config once', () => {
  // Without an issuer in the config the server is built twice: once to check
  // the config before listening, once with the issuer of the real port.
  it.each([
    ['without an issuer', {}],
    ['with an issuer', { issuer: 'https://as.example.test' }],
  ])('%s', async (_, extra) => {
    const file = join(dir, 'users.json')
    writeFileSync(
      file,
      JSON.stringify({
        ...extra,
        clients: [{ client_id: 'web', client_secret: 'w', redirect_uris: ['http://127.0.0.1:8080/cb'], grant_types: ['authorization_code'] }],
        users: [
          { username: 'alice', password: 'wonderland' },
          { username: 'bob', password: 'builder' },
        ],
      }),
    )
    const hash = vi.mocked(password.hashPassword)
    hash.mockClear()
    const running = await serve({ config: file, host: '127.0.0.1', port: 0, adapter: 'node', storage: 'memory' }, { out: quiet })
    try {
      expect(hash).toHaveBeenCalledTimes(3)
      expect(await contextOf(running.server).users!.findByUsername('bob')).toEqual({ sub: 'bob', username: 'bob' })
    } finally {
      await running.close()
    }
  })
})
