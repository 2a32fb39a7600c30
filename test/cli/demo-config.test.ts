import { beforeAll, describe, expect, it } from 'vitest'
import { createServer, createUserSource } from '../../src/cli/config.js'
import {
  curlCommand,
  curlRequest,
  DEMO_PKCE,
  demoConfig,
  demoExamples,
  describeDemo,
  readDemoMetadata,
  type DemoMetadata,
} from '../../src/cli/demo-config.js'
import { DEVICE_CODE_GRANT } from '../../src/index.js'
import { printedUses, unadvertisedUses } from './demo-lines.js'

const ISSUER = 'http://127.0.0.1:4000'
const DISCOVERY = `${ISSUER}/.well-known/openid-configuration`

let metadata: DemoMetadata
let discovery: Record<string, unknown>
const demoServer = () => createServer(demoConfig, ISSUER, { users: createUserSource(demoConfig) })

beforeAll(async () => {
  const server = demoServer()
  metadata = await readDemoMetadata(server, ISSUER)
  const res = await server.handle({ method: 'GET', url: new URL(DISCOVERY), headers: {} })
  discovery = JSON.parse(res.body!) as Record<string, unknown>
})

describe('demo config', () => {
  it('is accepted by the core and its svc client gets a token', async () => {
    const server = demoServer()
    const res = await server.handle({
      method: 'POST',
      url: new URL(`${ISSUER}/token`),
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic ' + Buffer.from('svc:svc-secret').toString('base64') },
      body: 'grant_type=client_credentials',
    })
    expect(res.status).toBe(200)
    expect(JSON.parse(res.body!)).toMatchObject({ token_type: 'Bearer', scope: 'api:read api:write' })
  })
})

describe('readDemoMetadata', () => {
  it('reads the discovery document through the server router, at the OIDC Discovery URL of the issuer', () => {
    expect(metadata).toEqual({ ...discovery, discovery: DISCOVERY })
    expect(metadata.token_endpoint).toBe(`${ISSUER}/token`)
  })

  it('fails when the server does not serve its discovery document there', async () => {
    const notFound = { handle: async () => ({ status: 404, headers: {}, body: '' }) }
    await expect(readDemoMetadata(notFound, ISSUER)).rejects.toThrow(`${DISCOVERY}: the server answered 404`)
  })
})

describe('describeDemo', () => {
  it('prints every client, the user and an example for each grant the server advertises', () => {
    const text = describeDemo(demoConfig, metadata, 600)
    for (const c of demoConfig.clients) expect(text).toMatch(new RegExp(`^  ${c.client_id} `, 'm'))
    expect(text).toContain('alice / wonderland')
    expect(text).toContain(`  curl -s -u svc:svc-secret -d grant_type=client_credentials -d scope=api:read ${ISSUER}/token\n`)
    expect(text).toContain('redeem it within 600 s')
    const examples = demoExamples(demoConfig, metadata)
    expect(examples.map((e) => e.name)).toHaveLength(13)
    for (const e of examples) {
      if (e.request !== undefined) expect(text).toContain(`  ${curlCommand(e.request)}\n`)
      if (e.browser !== undefined) expect(text).toContain(`  ${e.browser}\n`)
    }
    // Every grant of a demo client is offered, so nothing is said to be missing.
    expect(text).not.toContain('Not offered')
  })

  it('uses only endpoints, grant types, response types and PKCE methods of the discovery document', () => {
    const text = describeDemo(demoConfig, metadata)
    expect(printedUses(text).length).toBe(13)
    expect(unadvertisedUses(text, discovery, DISCOVERY)).toEqual([])
  })

  it('takes each URL from the document, wherever the server puts its endpoints', () => {
    const moved: DemoMetadata = {
      ...metadata,
      token_endpoint: 'https://as.example/oauth2/token',
      authorization_endpoint: 'https://as.example/oauth2/authorize',
      jwks_uri: 'https://as.example/keys.json',
    }
    const text = describeDemo(demoConfig, moved)
    expect(text).toContain(`-d scope=api:read https://as.example/oauth2/token\n`)
    expect(text).toContain('  https://as.example/oauth2/authorize?response_type=code&client_id=web&')
    expect(text).toContain('  curl -s https://as.example/keys.json\n')
    expect(text).not.toContain(`${ISSUER}/token `)
  })

  it('leaves out the examples of a grant or endpoint the server does not advertise, and says which grants are missing', () => {
    const { device_authorization_endpoint: _device, revocation_endpoint: _revocation, ...rest } = metadata
    const lacking: DemoMetadata = {
      ...rest,
      grant_types_supported: metadata.grant_types_supported.filter((g) => g !== DEVICE_CODE_GRANT && g !== 'implicit'),
    }
    const names = demoExamples(demoConfig, lacking).map((e) => e.name)
    expect(names).not.toContain('device_authorization')
    expect(names).not.toContain('device_poll')
    expect(names).not.toContain('implicit_browser')
    expect(names).not.toContain('revocation')
    expect(names).toContain('authorization_code_browser')
    const text = describeDemo(demoConfig, lacking)
    expect(text).toContain('Not offered by this server: implicit, device_code.')
    expect(text).not.toContain(DEVICE_CODE_GRANT.replace(/:/g, '%3A'))
    expect(unadvertisedUses(text, { ...lacking }, DISCOVERY)).toEqual([])
  })

  it('sends the PKCE method the server advertises: S256 first, plain only when it is the one, none when none is', () => {
    const browserUrl = (m: DemoMetadata) => new URL(demoExamples(demoConfig, m).find((e) => e.name === 'authorization_code_browser')!.browser!)
    const verifierOf = (m: DemoMetadata) => new URLSearchParams(curlRequest(demoExamples(demoConfig, m).find((e) => e.name === 'authorization_code_redeem')!.request!).init.body).get('code_verifier')

    const s256 = browserUrl({ ...metadata, code_challenge_methods_supported: ['plain', 'S256'] })
    expect(s256.searchParams.get('code_challenge_method')).toBe('S256')
    expect(s256.searchParams.get('code_challenge')).toBe(DEMO_PKCE.challenge)

    const plainOnly = { ...metadata, code_challenge_methods_supported: ['plain'] }
    expect(browserUrl(plainOnly).searchParams.get('code_challenge_method')).toBe('plain')
    // RFC 7636 §4.2: with plain, the challenge is the verifier.
    expect(browserUrl(plainOnly).searchParams.get('code_challenge')).toBe(verifierOf(plainOnly))

    const none = { ...metadata, code_challenge_methods_supported: [] }
    expect(browserUrl(none).searchParams.has('code_challenge')).toBe(false)
    expect(verifierOf(none)).toBeNull()
  })
})

describe('unadvertisedUses (the check the tests above rely on)', () => {
  it('finds an endpoint path, grant type, response type or PKCE method the document does not advertise', () => {
    const text = [
      `  curl -s -u a:b -d grant_type=client_credentials ${ISSUER}/oauth/token`,
      `  curl -s -d grant_type=urn:example:unknown ${ISSUER}/token`,
      `  curl -s -d grant_type=client_credentials ${ISSUER}/introspect`,
      `  ${ISSUER}/authorize?response_type=code+id_token&code_challenge_method=S512`,
    ].join('\n')
    const problems = unadvertisedUses(text, discovery, DISCOVERY)
    expect(problems).toEqual([
      expect.stringContaining(`${ISSUER}/oauth/token is not an advertised endpoint`),
      expect.stringContaining('grant_type sent to'),
      expect.stringContaining('grant_type urn:example:unknown is not in grant_types_supported'),
      expect.stringContaining(`grant_type sent to ${ISSUER}/introspect`),
      expect.stringContaining('response_type code id_token is not in response_types_supported'),
      expect.stringContaining('code_challenge_method S512 is not in code_challenge_methods_supported'),
    ])
  })

  it('reads quoted words and --data-urlencode fields as the shell and curl would', () => {
    const [use] = printedUses(`  curl -s --data-urlencode 'scope=a b'\\''c' -d grant_type=password 'http://[::1]:4000/token'\n`)
    expect(use!.url.href).toBe('http://[::1]:4000/token')
    expect(use!.params.get('scope')).toBe("a b'c")
    expect(use!.params.get('grant_type')).toBe('password')
  })
})

describe('curlCommand and curlRequest', () => {
  it('sends with -d what a form body reads the same, and --data-urlencode the rest, quoted for the shell', () => {
    const req = { url: `${ISSUER}/token`, basic: { id: 'svc', secret: 'svc-secret' }, form: [['scope', 'api:read'], ['x', "it's a+b"]] as const }
    expect(curlCommand(req)).toBe(`curl -s -u svc:svc-secret -d scope=api:read --data-urlencode 'x=it'\\''s a+b' ${ISSUER}/token`)
    const { url, init } = curlRequest(req)
    expect(url).toBe(`${ISSUER}/token`)
    expect(init).toEqual({
      method: 'POST',
      headers: { authorization: 'Basic ' + Buffer.from('svc:svc-secret').toString('base64'), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'scope=api:read&x=it%27s%20a%2Bb',
    })
    expect(new URLSearchParams(init.body).get('x')).toBe("it's a+b")
  })

  it('is a GET without a form, and turns off curl globbing for an IPv6 literal', () => {
    // Quoted too: zsh would glob the brackets.
    expect(curlCommand({ url: 'http://[::1]:4000/jwks' })).toBe("curl -sg 'http://[::1]:4000/jwks'")
    expect(curlRequest({ url: 'http://[::1]:4000/jwks' }).init).toEqual({ method: 'GET', headers: {} })
  })
})
