import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { ASYMMETRIC_ALGORITHMS, decodeJwt, HMAC_ALGORITHMS, signJwt, verifyJwt, verifyOwnJws } from '../../src/crypto/jose.js'
import { SIGNING_ALGORITHMS } from '../../src/keys/signing-key.js'
import { createAuthorizationServer, exportPrivateJwk, generateSigningKey, type SigningAlgorithm } from '../../src/index.js'
import { alice, basic, counterIds, fakeClock, ISSUER, json, plainUsers, tokenRequest } from '../helpers.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '../..')
const NOW = 1_800_000_000

/** Every .ts file under `dir`, as paths relative to the repository root. */
function sourceFiles(dir: string): string[] {
  const files: string[] = []
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`
    if (entry.isDirectory()) files.push(...sourceFiles(path))
    else if (entry.name.endsWith('.ts')) files.push(path)
  }
  return files.sort()
}

/**
 * The module specifiers a file imports or re-exports: static imports (also
 * type-only and side-effect ones), `export … from`, dynamic `import()` and
 * `require()`.
 */
function importedModules(source: string): string[] {
  const found: string[] = []
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)(['"])([^'"\n]+)\1/g
  for (const m of source.matchAll(pattern)) found.push(m[2]!)
  return found
}

const isJose = (specifier: string): boolean => specifier === 'jose' || specifier.startsWith('jose/')

describe('one JOSE module (issue 11 §5)', () => {
  it('the import scanner sees every form of import', () => {
    const forms = [
      "import { jwtVerify } from 'jose'",
      'import type { JWK } from "jose"',
      "import * as jose from 'jose'",
      "import 'jose'",
      "export { SignJWT } from 'jose'",
      "export * from 'jose/webapi'",
      "const jose = await import('jose')",
      "const jose = require('jose')",
      "import {\n  createLocalJWKSet,\n  type JWK,\n} from 'jose'",
    ]
    for (const form of forms) expect(importedModules(form).filter(isJose), form).toHaveLength(1)
    expect(importedModules("import { x } from './jose.js'").filter(isJose)).toEqual([])
  })

  it('jose is imported by src/crypto/jose.ts and by no other file of the library', () => {
    const importers = [...sourceFiles('src'), ...sourceFiles('adapters')].filter((file) =>
      importedModules(readFileSync(join(root, file), 'utf8')).some(isJose),
    )
    expect(importers).toEqual(['src/crypto/jose.ts'])
  })

  it('the node:crypto signer (crypto/jws.ts) is reached only through src/crypto/jose.ts', () => {
    const importers = sourceFiles('src').filter((file) =>
      importedModules(readFileSync(join(root, file), 'utf8')).some((s) => /(^|\/)jws\.js$/.test(s)),
    )
    expect(importers).toEqual(['src/crypto/jose.ts'])
  })

  it('writes each algorithm list once: no other source file spells out RS384, PS384, ES384 or HS384', () => {
    // Names that only ever appear in an allow-list (the signer supports none of them).
    const spelled = sourceFiles('src').filter((file) => /['"](RS384|PS384|PS512|RS512|HS384|HS512)['"]/.test(readFileSync(join(root, file), 'utf8')))
    expect(spelled).toEqual(['src/crypto/jose.ts'])
  })

  it('keeps HMAC and none off the asymmetric list, and every signing algorithm on it', () => {
    const asymmetric: readonly string[] = ASYMMETRIC_ALGORITHMS
    for (const alg of [...HMAC_ALGORITHMS, 'none']) expect(asymmetric).not.toContain(alg)
    for (const alg of SIGNING_ALGORITHMS) expect(asymmetric).toContain(alg)
  })

  it('advertises exactly the algorithms client authentication accepts (RFC 8414 §2)', async () => {
    const server = createAuthorizationServer({ issuer: ISSUER, clients: [] })
    const metadata = json(await server.handle({ method: 'GET', url: new URL(`${ISSUER}/.well-known/oauth-authorization-server`), headers: {} }))
    expect(metadata.token_endpoint_auth_signing_alg_values_supported).toEqual([...ASYMMETRIC_ALGORITHMS, ...HMAC_ALGORITHMS])
  })
})

describe('the node:crypto signer, checked by jose', () => {
  // Every algorithm grantkit can sign with, so a new one is checked the day it is added.
  it.each(SIGNING_ALGORITHMS.map((alg) => [alg]))('jose verifies a %s JWT it signs, through jose.ts and directly', async (alg) => {
    const key = generateSigningKey(alg)
    const payload = { iss: ISSUER, sub: 'ünïcødé ✓', aud: ['a', 'b'], iat: NOW, exp: NOW + 60, nested: { n: 1.5, list: [true, null] } }
    for (const typ of ['at+jwt', 'JWT']) {
      const jwt = signJwt(key, typ, payload)
      const keys = createLocalJWKSet({ keys: [key.publicJwk] })
      // Directly with jose, restricted to this one algorithm.
      const direct = await jwtVerify(jwt, keys, { algorithms: [alg], typ, currentDate: new Date(NOW * 1000) })
      expect(direct.payload).toEqual(payload)
      expect(direct.protectedHeader).toEqual({ alg, typ, kid: key.kid })
      // Through the JOSE module, with the allow-list every verifier of grantkit uses.
      const viaModule = await verifyJwt(jwt, keys, { algorithms: ASYMMETRIC_ALGORITHMS, typ, issuer: ISSUER, now: NOW, clockTolerance: 0 })
      expect(viaModule.payload).toEqual(payload)
      // And our own verifier agrees.
      expect(verifyOwnJws(decodeJwt(jwt)!, key)).toBe(true)
    }
  })

  it.each(SIGNING_ALGORITHMS.map((alg) => [alg]))('jose verifies the %s access tokens and ID tokens a server issues, with its published JWKS', async (alg) => {
    const clock = fakeClock(NOW)
    const server = createAuthorizationServer({
      issuer: ISSUER,
      // The client asks for ID tokens in the key's algorithm (OIDC Registration §2); without it they are RS256.
      clients: [{ client_id: 'app', client_secret: 'app-secret', grant_types: ['password'], scope: 'openid api:read', id_token_signed_response_alg: alg }],
      users: plainUsers(alice()),
      keys: { keys: [exportPrivateJwk(generateSigningKey(alg as SigningAlgorithm))] },
      deps: { now: clock.now, randomId: counterIds() },
    })
    const get = async (path: string) => json(await server.handle({ method: 'GET', url: new URL(ISSUER + path), headers: {} }))
    const metadata = await get('/.well-known/openid-configuration')
    const keys = createLocalJWKSet((await get('/jwks')) as never)
    expect(metadata.access_token_signing_alg_values_supported).toEqual([alg])

    const res = json(
      await server.handle(tokenRequest({ grant_type: 'password', username: 'alice', password: 'wonderland', scope: 'openid api:read' }, { authorization: basic('app', 'app-secret') })),
    )
    const currentDate = new Date(NOW * 1000)
    const access = await jwtVerify(res.access_token as string, keys, { algorithms: metadata.access_token_signing_alg_values_supported as string[], typ: 'at+jwt', issuer: ISSUER, currentDate })
    expect(access.payload).toMatchObject({ sub: 'alice-sub', client_id: 'app', scope: 'openid api:read' })
    expect(decodeProtectedHeader(res.id_token as string).alg).toBe(alg)
    const id = await jwtVerify(res.id_token as string, keys, { algorithms: metadata.id_token_signing_alg_values_supported as string[], issuer: ISSUER, audience: 'app', currentDate })
    expect(id.payload).toMatchObject({ sub: 'alice-sub', aud: 'app' })
  })
})
