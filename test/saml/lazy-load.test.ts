import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../../', import.meta.url))

/** Runs a CommonJS script against the built package and returns what it printed. */
function run(script: string): string {
  return execFileSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8', timeout: 20_000 })
}

describe('the SAML libraries load on first use (memory)', () => {
  it('are not loaded by creating a server, and are loaded by the first SAML bearer request', () => {
    const out = run(`
      const loaded = () => Object.keys(require.cache).filter((k) => /node_modules[\\\\/](xml-crypto|@xmldom)/.test(k)).length > 0
      const { createAuthorizationServer, SAML2_BEARER_GRANT } = require('./dist/index.cjs')
      const server = createAuthorizationServer({ issuer: 'https://as.example', clients: [{ client_id: 'c', client_secret: 's', grant_types: [SAML2_BEARER_GRANT] }] })
      const before = loaded()
      const body = 'grant_type=' + encodeURIComponent(SAML2_BEARER_GRANT) + '&assertion=' + Buffer.from('<a/>').toString('base64url')
      server.token({ method: 'POST', url: new URL('https://as.example/token'), headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic ' + Buffer.from('c:s').toString('base64') }, body })
        .then((res) => console.log(JSON.stringify({ before, after: loaded(), status: res.status })))
    `)
    expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ before: false, after: true, status: 400 })
  })
})
