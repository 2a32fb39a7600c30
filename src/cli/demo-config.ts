import { createHash } from 'node:crypto'
import { DEVICE_CODE_GRANT, JWT_BEARER_GRANT, SAML2_BEARER_GRANT, type AuthorizationServer, type ClientMetadata } from '../index.js'
import type { ServeConfig } from './config.js'

/**
 * What `grantkit serve` runs without `--config`: in-memory storage, a signing
 * key generated at start, a demo user and one client per way of getting a
 * token. The credentials are public on purpose and printed at start, with a
 * ready-to-paste line for each grant (`demoExamples`).
 *
 * @example
 * const server = createServer(demoConfig, 'http://127.0.0.1:4000')
 */
export const demoConfig: ServeConfig = {
  source: 'demo config',
  accessTokenFormat: 'jwt',
  scopes: ['openid', 'profile', 'email', 'offline_access', 'api:read', 'api:write'],
  clients: [
    {
      client_id: 'web',
      client_secret: 'web-secret',
      client_name: 'Demo web app',
      token_endpoint_auth_method: 'client_secret_basic',
      redirect_uris: ['http://127.0.0.1:8080/cb'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      scope: 'openid profile email offline_access api:read',
    },
    {
      client_id: 'spa',
      client_name: 'Demo single-page app',
      token_endpoint_auth_method: 'none',
      redirect_uris: ['http://127.0.0.1:8080/spa'],
      grant_types: ['authorization_code', 'implicit', 'refresh_token'],
      response_types: ['code', 'token', 'id_token token'],
      scope: 'openid profile api:read',
    },
    {
      client_id: 'svc',
      client_secret: 'svc-secret',
      client_name: 'Demo service (client_secret_basic)',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      scope: 'api:read api:write',
    },
    {
      client_id: 'svc-post',
      client_secret: 'svc-post-secret',
      client_name: 'Demo service (client_secret_post)',
      token_endpoint_auth_method: 'client_secret_post',
      grant_types: ['client_credentials'],
      scope: 'api:read',
    },
    {
      client_id: 'cli',
      client_name: 'Demo command-line tool',
      token_endpoint_auth_method: 'none',
      grant_types: ['password', 'refresh_token', DEVICE_CODE_GRANT],
      scope: 'openid profile offline_access api:read',
    },
    {
      client_id: 'rs',
      client_secret: 'rs-secret',
      client_name: 'Demo resource server',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      // RFC 7662 §2.1: a protected resource may introspect tokens issued to other clients.
      introspection_allowed: true,
    },
  ],
  users: [
    {
      username: 'alice',
      password: 'wonderland',
      claims: { sub: 'alice', name: 'Alice Liddell', email: 'alice@example.com', email_verified: true },
      // May sign in to the admin console, once a config turns it on (docs/admin.md#console).
      admin: true,
    },
  ],
}

/**
 * The PKCE verifier of the printed authorization code example (RFC 7636 §4.1).
 * Fixed so that the printed URL and the printed curl line match; a real client
 * makes a fresh verifier for every request.
 */
const DEMO_VERIFIER = 'grantkit-demo-code-verifier-not-secret-0123456789'

/**
 * The S256 pair of the printed authorization code example (RFC 7636 §4.2),
 * used whenever the server advertises S256.
 */
export const DEMO_PKCE = {
  verifier: DEMO_VERIFIER,
  challenge: createHash('sha256').update(DEMO_VERIFIER).digest('base64url'),
  method: 'S256',
} as const

/** `state` and `nonce` of the printed browser URLs. */
const DEMO_STATE = 'demo-state'
const DEMO_NONCE = 'demo-nonce'

/**
 * The part of a server's discovery document (RFC 8414 §2, OIDC Discovery §3)
 * the printout is built from, plus the URL it was read at. Endpoints a server
 * does not advertise are absent, and so are the examples that would use them.
 */
export interface DemoMetadata {
  /** Where the document was read: the discovery example prints it. */
  discovery: string
  issuer: string
  token_endpoint: string
  authorization_endpoint?: string
  device_authorization_endpoint?: string
  introspection_endpoint?: string
  revocation_endpoint?: string
  jwks_uri?: string
  grant_types_supported: readonly string[]
  response_types_supported?: readonly string[]
  code_challenge_methods_supported?: readonly string[]
}

/**
 * Reads a server's discovery document the way a client would, through its
 * router, so the printout names only what the server itself advertises.
 *
 * @param issuer the server's issuer; OIDC Discovery §4 puts the document under it
 * @throws Error when the server does not answer the document with 200
 * @example
 * const metadata = await readDemoMetadata(server, 'http://127.0.0.1:4000')
 * metadata.token_endpoint // 'http://127.0.0.1:4000/token'
 */
export async function readDemoMetadata(server: Pick<AuthorizationServer, 'handle'>, issuer: string): Promise<DemoMetadata> {
  // OIDC Discovery §4: the well-known suffix is appended to the issuer, after any path it has.
  const discovery = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`
  const res = await server.handle({ method: 'GET', url: new URL(discovery), headers: { accept: 'application/json' } })
  if (res.status !== 200 || res.body === undefined) throw new Error(`${discovery}: the server answered ${res.status}, not its discovery document`)
  const doc = JSON.parse(res.body) as Omit<DemoMetadata, 'discovery'>
  if (typeof doc.token_endpoint !== 'string' || !Array.isArray(doc.grant_types_supported)) {
    throw new Error(`${discovery}: the discovery document has no token_endpoint or grant_types_supported`)
  }
  return { ...doc, discovery }
}

/** An HTTP request of the printout: shown as a curl line (`curlCommand`) and sent exactly the same way by the tests (`curlRequest`). */
export interface DemoRequest {
  url: string
  /** HTTP Basic client credentials (`curl -u`). */
  basic?: { id: string; secret: string }
  /** Form fields in order (`curl -d` / `--data-urlencode`). Absent: a GET. */
  form?: ReadonlyArray<readonly [string, string]>
}

/** One ready-to-paste example: a curl line, or a URL to open in a browser. */
export interface DemoExample {
  /** Stable name, for tests. */
  name: DemoExampleName
  /** What it does, printed above it. */
  title: string
  request?: DemoRequest
  /** A URL to open in a browser instead of a request. */
  browser?: string
  /** Printed after it. */
  notes?: string[]
}

/** Names of the examples `demoExamples` returns, in the order they are printed. */
export type DemoExampleName =
  | 'client_credentials_basic'
  | 'client_credentials_post'
  | 'password'
  | 'refresh_token'
  | 'device_authorization'
  | 'device_poll'
  | 'authorization_code_browser'
  | 'authorization_code_redeem'
  | 'implicit_browser'
  | 'introspection'
  | 'revocation'
  | 'jwks'
  | 'discovery'

/**
 * Values the user pastes into the examples; printed as these placeholders.
 * Tests pass real values to send the same requests.
 */
export interface DemoPlaceholders {
  /** An access token of `svc`. */
  ACCESS_TOKEN: string
  /** The refresh_token of the password example's answer. */
  REFRESH_TOKEN: string
  /** The device_code of the device authorization answer. */
  DEVICE_CODE: string
  /** The code the browser brings back to the web client's redirect_uri. */
  CODE: string
}

function demoClient(config: ServeConfig, id: string): ClientMetadata {
  const client = config.clients.find((c) => c.client_id === id)
  if (client === undefined) throw new Error(`the demo config has no client "${id}"`)
  return client
}

const basicOf = (c: ClientMetadata) => ({ id: c.client_id, secret: c.client_secret! })

/**
 * The PKCE pair for the methods a server advertises: S256 when it can
 * (RFC 7636 §4.2: clients capable of S256 must use it), else plain, else none.
 */
function pkceFor(methods: readonly string[] | undefined): { verifier: string; challenge: string; method: string } | undefined {
  if (methods?.includes(DEMO_PKCE.method) === true) return DEMO_PKCE
  // RFC 7636 §4.2: with plain, the challenge is the verifier itself.
  if (methods?.includes('plain') === true) return { verifier: DEMO_VERIFIER, challenge: DEMO_VERIFIER, method: 'plain' }
  return undefined
}

/**
 * The examples printed in demo mode, one per grant and endpoint the server
 * advertises. The printer and the tests both use this, so what is printed is
 * what is tested. URLs, grant types, response types and the PKCE method all
 * come from `metadata`: an example whose endpoint, grant or response type the
 * server does not advertise is left out rather than printed wrong.
 *
 * @param fill real values for the placeholders; by default the placeholder names themselves
 * @param authorizationCodeTtl seconds a code lives, to say how soon to redeem it
 * @example
 * for (const e of demoExamples(demoConfig, await readDemoMetadata(server, issuer))) console.log(e.title)
 */
export function demoExamples(config: ServeConfig, metadata: DemoMetadata, fill: Partial<DemoPlaceholders> = {}, authorizationCodeTtl?: number): DemoExample[] {
  const value = (name: keyof DemoPlaceholders): string => fill[name] ?? name
  const svc = demoClient(config, 'svc')
  const svcPost = demoClient(config, 'svc-post')
  const cli = demoClient(config, 'cli')
  const web = demoClient(config, 'web')
  const spa = demoClient(config, 'spa')
  const rs = demoClient(config, 'rs')
  const user = config.users?.[0]
  const who = user === undefined ? '' : ` as ${user.username} / ${user.password}`
  const webRedirect = web.redirect_uris![0]!
  const grants = new Set(metadata.grant_types_supported)
  const responseTypes = new Set(metadata.response_types_supported ?? [])
  const pkce = pkceFor(metadata.code_challenge_methods_supported)
  const token = metadata.token_endpoint
  const out: DemoExample[] = []

  if (grants.has('client_credentials')) {
    out.push(
      {
        name: 'client_credentials_basic',
        title: `client_credentials, client_secret_basic (${svc.client_id}):`,
        request: { url: token, basic: basicOf(svc), form: [['grant_type', 'client_credentials'], ['scope', svc.scope!.split(' ')[0]!]] },
      },
      {
        name: 'client_credentials_post',
        title: `client_credentials, client_secret_post (${svcPost.client_id}):`,
        request: { url: token, form: [['grant_type', 'client_credentials'], ['client_id', svcPost.client_id], ['client_secret', svcPost.client_secret!]] },
      },
    )
  }
  if (grants.has('password')) {
    out.push({
      name: 'password',
      title: `password (${cli.client_id}, a public client, signing in${who}):`,
      request: {
        url: token,
        form: [['grant_type', 'password'], ['client_id', cli.client_id], ['username', user?.username ?? 'USERNAME'], ['password', user?.password ?? 'PASSWORD'], ['scope', cli.scope!]],
      },
    })
    if (grants.has('refresh_token')) {
      out.push({
        name: 'refresh_token',
        title: 'refresh_token (REFRESH_TOKEN: the refresh_token of the password answer; each one works once):',
        request: { url: token, form: [['grant_type', 'refresh_token'], ['client_id', cli.client_id], ['refresh_token', value('REFRESH_TOKEN')]] },
      })
    }
  }
  // RFC 8628 §4: the endpoint is advertised only with the grant, but both are needed.
  if (metadata.device_authorization_endpoint !== undefined && grants.has(DEVICE_CODE_GRANT)) {
    out.push(
      {
        name: 'device_authorization',
        title: `device_code (${cli.client_id}, RFC 8628): ask for a user code,`,
        request: { url: metadata.device_authorization_endpoint, form: [['client_id', cli.client_id], ['scope', cli.scope!]] },
        notes: [`then open its verification_uri_complete in a browser, sign in${who} and Allow; meanwhile poll every "interval" seconds with its device_code:`],
      },
      {
        name: 'device_poll',
        title: '',
        request: { url: token, form: [['grant_type', DEVICE_CODE_GRANT], ['client_id', cli.client_id], ['device_code', value('DEVICE_CODE')]] },
      },
    )
  }
  if (metadata.authorization_endpoint !== undefined && grants.has('authorization_code') && responseTypes.has('code')) {
    const authorize = new URL(metadata.authorization_endpoint)
    authorize.search = new URLSearchParams({
      response_type: 'code',
      client_id: web.client_id,
      redirect_uri: webRedirect,
      scope: web.scope!,
      state: DEMO_STATE,
      ...(pkce !== undefined && { code_challenge: pkce.challenge, code_challenge_method: pkce.method }),
    }).toString()
    out.push(
      {
        name: 'authorization_code_browser',
        title: `authorization_code${pkce !== undefined ? ' with PKCE' : ''} (${web.client_id}): open in a browser, sign in${who} and Allow:`,
        browser: authorize.href,
        notes: [
          `the browser then goes to ${webRedirect}?code=CODE&state=${DEMO_STATE} (nothing listens there: copy CODE from the address bar) and redeem it ${authorizationCodeTtl === undefined ? 'at once' : `within ${authorizationCodeTtl} s`}:`,
        ],
      },
      {
        name: 'authorization_code_redeem',
        title: '',
        request: {
          url: token,
          basic: basicOf(web),
          form: [['grant_type', 'authorization_code'], ['code', value('CODE')], ['redirect_uri', webRedirect], ...(pkce !== undefined ? [['code_verifier', pkce.verifier] as const] : [])],
        },
        notes:
          pkce === undefined
            ? []
            : [
                pkce.method === 'S256'
                  ? `(code_verifier ${pkce.verifier} is the secret behind code_challenge ${pkce.challenge} = BASE64URL(SHA-256(code_verifier)))`
                  : `(code_verifier ${pkce.verifier} is the secret behind code_challenge ${pkce.challenge}, sent as it is with method plain)`,
              ],
      },
    )
  }
  // OIDC Core §3.2: the implicit flow that returns an ID token with the access token.
  if (metadata.authorization_endpoint !== undefined && grants.has('implicit') && responseTypes.has('id_token token')) {
    const implicit = new URL(metadata.authorization_endpoint)
    implicit.search = new URLSearchParams({
      response_type: 'id_token token',
      client_id: spa.client_id,
      redirect_uri: spa.redirect_uris![0]!,
      scope: spa.scope!,
      state: DEMO_STATE,
      // OIDC Core §3.2.2.1: required when an id_token comes from the authorization endpoint.
      nonce: DEMO_NONCE,
    }).toString()
    out.push({ name: 'implicit_browser', title: `implicit (${spa.client_id}): open in a browser; the tokens come back in the URL fragment:`, browser: implicit.href })
  }
  if (metadata.introspection_endpoint !== undefined) {
    out.push({
      name: 'introspection',
      title: `introspection (${rs.client_id}, a resource server; ACCESS_TOKEN: the access_token of the ${svc.client_id} answer):`,
      request: { url: metadata.introspection_endpoint, basic: basicOf(rs), form: [['token', value('ACCESS_TOKEN')]] },
    })
  }
  if (metadata.revocation_endpoint !== undefined) {
    out.push({
      name: 'revocation',
      title: `revocation (${svc.client_id} revokes its own token; introspect it again afterwards):`,
      request: { url: metadata.revocation_endpoint, basic: basicOf(svc), form: [['token', value('ACCESS_TOKEN')]] },
    })
  }
  if (metadata.jwks_uri !== undefined) out.push({ name: 'jwks', title: 'signing keys:', request: { url: metadata.jwks_uri } })
  out.push({ name: 'discovery', title: 'discovery:', request: { url: metadata.discovery } })
  return out
}

// Characters curl -d may send as they are: they mean the same in a form body.
const FORM_SAFE = /^[A-Za-z0-9._~:/-]*$/
// Characters a POSIX shell leaves alone in an unquoted word.
const SHELL_SAFE = /^[A-Za-z0-9._~:/=@%+,-]+$/

function shellQuote(word: string): string {
  return SHELL_SAFE.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`
}

/** curl's percent-encoding for `--data-urlencode` (curl_easy_escape): all but ALPHA DIGIT - . _ ~. */
function curlEscape(text: string): string {
  let out = ''
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte)
    out += /[A-Za-z0-9._~-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

/**
 * The curl line of a request. Values that a form body would read differently
 * are sent with `--data-urlencode`; the rest with `-d`, as curl sends them.
 *
 * @example
 * curlCommand({ url: 'http://127.0.0.1:4000/token', basic: { id: 'svc', secret: 'svc-secret' }, form: [['grant_type', 'client_credentials']] })
 * // curl -s -u svc:svc-secret -d grant_type=client_credentials http://127.0.0.1:4000/token
 */
export function curlCommand(req: DemoRequest): string {
  // curl globs on brackets, which an IPv6 literal has.
  const words = [req.url.includes('[') ? 'curl -sg' : 'curl -s']
  if (req.basic !== undefined) words.push('-u', shellQuote(`${req.basic.id}:${req.basic.secret}`))
  for (const [name, value] of req.form ?? []) {
    words.push(FORM_SAFE.test(value) ? '-d' : '--data-urlencode', shellQuote(`${name}=${value}`))
  }
  words.push(shellQuote(req.url))
  return words.join(' ')
}

/**
 * The request `curlCommand`'s line sends, byte for byte in its body, for
 * `fetch(url, init)`.
 *
 * @example
 * const { url, init } = curlRequest(example.request)
 * const res = await fetch(url, init)
 */
export function curlRequest(req: DemoRequest): { url: string; init: { method: string; headers: Record<string, string>; body?: string } } {
  const headers: Record<string, string> = {}
  // curl -u sends id:secret as given, without the form-encoding of RFC 6749 §2.3.1 (none is needed for the demo ids).
  if (req.basic !== undefined) headers.authorization = 'Basic ' + Buffer.from(`${req.basic.id}:${req.basic.secret}`).toString('base64')
  if (req.form === undefined) return { url: req.url, init: { method: 'GET', headers } }
  headers['content-type'] = 'application/x-www-form-urlencoded'
  const body = req.form.map(([name, value]) => (FORM_SAFE.test(value) ? `${name}=${value}` : `${name}=${curlEscape(value)}`)).join('&')
  return { url: req.url, init: { method: 'POST', headers, body } }
}

/** A grant type as people say it: the last part of a URN (RFC 6755), the name itself otherwise. */
const shortGrant = (g: string): string => (g.startsWith('urn:') ? g.slice(g.lastIndexOf(':') + 1) : g)

function describeClient(c: ClientMetadata): string[] {
  const method = c.token_endpoint_auth_method ?? 'client_secret_basic'
  const secret = method === 'none' ? 'public (no secret)' : `secret ${c.client_secret}, ${method}`
  const lines = [`  ${c.client_id.padEnd(9)}${secret}; grants ${(c.grant_types ?? []).map(shortGrant).join(', ')}${c.scope !== undefined ? `; scope "${c.scope}"` : ''}`]
  if (c.redirect_uris !== undefined) lines.push(`  ${''.padEnd(9)}redirect_uris ${c.redirect_uris.join(' ')}; response_types ${(c.response_types ?? []).map((t) => `"${t}"`).join(', ')}`)
  if (c.introspection_allowed === true) lines.push(`  ${''.padEnd(9)}introspection_allowed: may introspect every client's tokens`)
  return lines
}

/**
 * The text printed in demo mode: the credentials and a ready-to-paste line
 * for each grant. This is the only place the CLI prints secrets.
 *
 * @param metadata the running server's discovery document (`readDemoMetadata`): its endpoints, grants and PKCE methods
 * @param authorizationCodeTtl seconds a code lives, to say how soon to redeem it
 * @example
 * process.stdout.write(describeDemo(demoConfig, await readDemoMetadata(server, issuer)))
 */
export function describeDemo(config: ServeConfig, metadata: DemoMetadata, authorizationCodeTtl?: number): string {
  const advertised = new Set(metadata.grant_types_supported)
  // What a demo client is registered for but the server does not offer: said once, instead of a line that fails.
  const missing = [...new Set(config.clients.flatMap((c) => c.grant_types ?? []))].filter((g) => !advertised.has(g)).map(shortGrant)
  const lines = [
    'grantkit: demo mode (no --config): in-memory storage, a signing key generated at start.',
    'Everything below is public: use it only to try grantkit out.',
    '',
    'Demo users:',
    ...(config.users ?? []).map((u) => {
      const notes = [...(u.claims?.name !== undefined ? [String(u.claims.name)] : []), ...(u.admin === true ? ['administrator'] : [])]
      return `  ${u.username} / ${u.password ?? '(password_hash)'}${notes.length > 0 ? `  (${notes.join(', ')})` : ''}`
    }),
    'Demo clients:',
    ...config.clients.flatMap(describeClient),
  ]
  if (missing.length > 0) lines.push(`Not offered by this server: ${missing.join(', ')}.`)
  const assertions = [JWT_BEARER_GRANT, SAML2_BEARER_GRANT].filter((g) => advertised.has(g)).map(shortGrant)
  if (assertions.length > 0) lines.push(`${assertions.join(' and ')}: ${assertions.length === 1 ? 'needs' : 'need'} an issuer to trust, set with "trust" in a config file.`)

  lines.push('', 'Try each grant:')
  for (const example of demoExamples(config, metadata, {}, authorizationCodeTtl)) {
    if (example.title !== '') lines.push(example.title)
    if (example.request !== undefined) lines.push(`  ${curlCommand(example.request)}`)
    if (example.browser !== undefined) lines.push(`  ${example.browser}`)
    for (const note of example.notes ?? []) lines.push(`  ${note}`)
  }
  lines.push('')
  return lines.join('\n') + '\n'
}
