import { generateKeyPairSync } from 'node:crypto'
import { SignJWT, type JWK } from 'jose'
import { describe, expect, it } from 'vitest'
import { body, registerRequest, registrationServer, statementIssuer } from './fixtures.js'

const SERVICE = { grant_types: ['client_credentials'], scope: 'api:read' }

describe('software statements (RFC 7591 §2.3, §3.1.1)', () => {
  it('accepts a statement of a trusted issuer; its claims win over the plain JSON values', async () => {
    const trusted = statementIssuer()
    const seen: unknown[] = []
    const { server } = registrationServer({
      enabled: true,
      softwareStatement: { issuers: [{ issuer: trusted.issuer, jwks: trusted.jwks }] },
      policy: (m, ctx) => {
        seen.push(ctx.softwareStatement)
        return m
      },
    })
    const statement = await trusted.sign({ software_id: 'app-4711', client_name: 'Signed Name', scope: 'api:read', not_metadata: 1 })
    const res = await server.handle(registerRequest({ ...SERVICE, scope: 'api:read api:write', client_name: 'Claimed Name', software_statement: statement }))
    expect(res.status, res.body).toBe(201)
    const json = body(res)
    expect(json).toMatchObject({ software_id: 'app-4711', client_name: 'Signed Name', scope: 'api:read' })
    // The JWT's own claims are not client metadata, nor are fields the server does not understand.
    for (const field of ['iss', 'iat', 'not_metadata', 'software_statement']) expect(json).not.toHaveProperty(field)
    expect(seen[0]).toMatchObject({ iss: trusted.issuer, software_id: 'app-4711' })
  })

  it('unapproved_software_statement for an issuer that is not configured', async () => {
    const trusted = statementIssuer()
    const stranger = statementIssuer('https://stranger.example')
    const { server } = registrationServer({ enabled: true, softwareStatement: { issuers: [{ issuer: trusted.issuer, jwks: trusted.jwks }] } })
    const res = await server.handle(registerRequest({ ...SERVICE, software_statement: await stranger.sign({ software_id: 'x' }) }))
    expect(res.status).toBe(400)
    expect(body(res).error).toBe('unapproved_software_statement')
    // Without any configured issuer a statement is never approved either.
    const open = registrationServer().server
    expect(body(await open.handle(registerRequest({ ...SERVICE, software_statement: await trusted.sign({}) }))).error).toBe('unapproved_software_statement')
  })

  it('invalid_software_statement for a forged one: the trusted iss, signed by another key', async () => {
    const trusted = statementIssuer()
    const forger = statementIssuer(trusted.issuer)
    const { server } = registrationServer({ enabled: true, softwareStatement: { issuers: [{ issuer: trusted.issuer, jwks: trusted.jwks }] } })
    const res = await server.handle(registerRequest({ ...SERVICE, software_statement: await forger.sign({ software_id: 'x' }) }))
    expect(res.status).toBe(400)
    expect(body(res).error).toBe('invalid_software_statement')
  })

  it('invalid_software_statement for alg none, HMAC, and a value that is no JWT', async () => {
    const trusted = statementIssuer()
    const { server } = registrationServer({ enabled: true, softwareStatement: { issuers: [{ issuer: trusted.issuer, jwks: trusted.jwks }] } })
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
    const none = `${b64({ alg: 'none' })}.${b64({ iss: trusted.issuer, software_id: 'x' })}.`
    const hmac = await new SignJWT({ software_id: 'x' }).setProtectedHeader({ alg: 'HS256' }).setIssuer(trusted.issuer).sign(new Uint8Array(32))
    for (const statement of [none, hmac, 'not-a-jwt', 42]) {
      const res = await server.handle(registerRequest({ ...SERVICE, software_statement: statement }))
      expect(res.status, String(statement)).toBe(400)
      expect(body(res).error, String(statement)).toBe('invalid_software_statement')
    }
  })

  it('an expired statement of the trusted issuer is invalid', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const jwks = { keys: [{ ...(publicKey.export({ format: 'jwk' }) as JWK), kid: 'k' }] }
    const { server, clock } = registrationServer({ enabled: true, softwareStatement: { issuers: [{ issuer: 'https://st.example', jwks }] } })
    const sign = (exp: number) =>
      new SignJWT({ software_id: 'x' }).setProtectedHeader({ alg: 'ES256', kid: 'k' }).setIssuer('https://st.example').setExpirationTime(exp).sign(privateKey)
    expect((await server.handle(registerRequest({ ...SERVICE, software_statement: await sign(clock.now() + 3600) }))).status).toBe(201)
    const res = await server.handle(registerRequest({ ...SERVICE, software_statement: await sign(clock.now() - 3600) }))
    expect(body(res).error).toBe('invalid_software_statement')
  })

  it('required: a registration without a statement is unapproved_software_statement', async () => {
    const trusted = statementIssuer()
    const { server } = registrationServer({ enabled: true, softwareStatement: { issuers: [{ issuer: trusted.issuer, jwks: trusted.jwks }], required: true } })
    const res = await server.handle(registerRequest(SERVICE))
    expect(body(res).error).toBe('unapproved_software_statement')
    expect((await server.handle(registerRequest({ ...SERVICE, software_statement: await trusted.sign({ software_id: 'a' }) }))).status).toBe(201)
  })

  it('refuses a broken configuration at construction, naming the field', () => {
    const trusted = statementIssuer()
    expect(() => registrationServer({ enabled: true, softwareStatement: { issuers: [] } })).toThrow(/^registration\.softwareStatement\.issuers: /)
    expect(() => registrationServer({ enabled: true, softwareStatement: { issuers: [{ issuer: 'x', jwks: { keys: [{ kty: 'oct', k: 'AAAA' }] } }] } })).toThrow(
      /^registration\.softwareStatement\.issuers\[0\]\.jwks\.keys\[0\]: must be a public asymmetric key/,
    )
    expect(() => registrationServer({ enabled: true, softwareStatement: { issuers: [{ issuer: trusted.issuer, jwks: trusted.jwks }], requried: true } as never })).toThrow(
      /^registration\.softwareStatement\.requried: unknown field/,
    )
  })
})

