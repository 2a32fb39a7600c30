import { createHash } from 'node:crypto'
import type { ClientMetadata, ServerContext } from '../index.js'
import type { ServeConfig } from './config.js'

const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code'

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
      grant_types: ['password', 'refresh_token', DEVICE_CODE],
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
    },
  ],
}

/**
 * The PKCE pair of the printed authorization code example (RFC 7636 §4.1,
 * §4.2). Fixed so that the printed URL and the printed curl line match; a real
 * client makes a fresh verifier for every request.
 */
export const DEMO_PKCE = {
  verifier: 'grantkit-demo-code-verifier-not-secret-0123456789',
  challenge: createHash('sha256').update('grantkit-demo-code-verifier-not-secret-0123456789').digest('base64url'),
  method: 'S256',
} as const

/** `state` and `nonce` of the printed browser URLs. */
const DEMO_STATE = 'demo-state'
const DEMO_NONCE = 'demo-nonce'

/**
 * Grant types the contract promises, in the order they are announced. Those
 * the running server does not support are listed as not in this build.
 */
export const PLANNED_GRANTS = [
  'client_credentials',
  'authorization_code',
  'refresh_token',
  'implicit',
  'password',
  DEVICE_CODE,
  'urn:ietf:params:oauth:grant-type:jwt-bearer',
  'urn:ietf:params:oauth:grant-type:saml2-bearer',
] as const

/** Absolute URLs the examples point at: the server's endpoints, as its discovery document gives them. */
export interface DemoUrls {
  token: string
  authorization: string
  deviceAuthorization: string
  introspection: string
  revocation: string
  jwks: string
  discovery: string
}

/**
 * The URLs of a running server's endpoints.
 *
 * @example
 * const urls = demoUrls(server.context) // { token: 'http://127.0.0.1:4000/token', ... }
 */
export function demoUrls(ctx: ServerContext): DemoUrls {
  return {
    token: ctx.endpoints.token,
    authorization: ctx.endpoints.authorization,
    deviceAuthorization: ctx.endpoints.deviceAuthorization,
    introspection: ctx.endpoints.introspection,
    revocation: ctx.endpoints.revocation,
    jwks: ctx.endpoints.jwks,
    discovery: ctx.endpoints.openidConfiguration!,
  }
}

/**
 * An HTTP request of the printout: shown as a curl line (`curlCommand`) and
 * sent exactly the same way by the tests (`curlRequest`).
 */
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
 * The examples printed in demo mode, one per grant and endpoint. The printer
 * and the tests both use this, so what is printed is what is tested.
 *
 * @param fill real values for the placeholders; by default the placeholder names themselves
 * @param authorizationCodeTtl seconds a code lives, to say how soon to redeem it
 * @example
 * for (const e of demoExamples(demoConfig, demoUrls(server.context))) console.log(e.title)
 */
export function demoExamples(config: ServeConfig, urls: DemoUrls, fill: Partial<DemoPlaceholders> = {}, authorizationCodeTtl?: number): DemoExample[] {
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

  const authorize = new URL(urls.authorization)
  authorize.search = new URLSearchParams({
    response_type: 'code',
    client_id: web.client_id,
    redirect_uri: webRedirect,
    scope: web.scope!,
    state: DEMO_STATE,
    code_challenge: DEMO_PKCE.challenge,
    code_challenge_method: DEMO_PKCE.method,
  }).toString()
  const implicit = new URL(urls.authorization)
  implicit.search = new URLSearchParams({
    response_type: 'id_token token',
    client_id: spa.client_id,
    redirect_uri: spa.redirect_uris![0]!,
    scope: spa.scope!,
    state: DEMO_STATE,
    // OIDC Core §3.2.2.1: required when an id_token comes from the authorization endpoint.
    nonce: DEMO_NONCE,
  }).toString()

  return [
    {
      name: 'client_credentials_basic',
      title: `client_credentials, client_secret_basic (${svc.client_id}):`,
      request: { url: urls.token, basic: basicOf(svc), form: [['grant_type', 'client_credentials'], ['scope', svc.scope!.split(' ')[0]!]] },
    },
    {
      name: 'client_credentials_post',
      title: `client_credentials, client_secret_post (${svcPost.client_id}):`,
      request: {
        url: urls.token,
        form: [['grant_type', 'client_credentials'], ['client_id', svcPost.client_id], ['client_secret', svcPost.client_secret!]],
      },
    },
    {
      name: 'password',
      title: `password (${cli.client_id}, a public client, signing in${who}):`,
      request: {
        url: urls.token,
        form: [['grant_type', 'password'], ['client_id', cli.client_id], ['username', user?.username ?? 'USERNAME'], ['password', user?.password ?? 'PASSWORD'], ['scope', cli.scope!]],
      },
    },
    {
      name: 'refresh_token',
      title: 'refresh_token (REFRESH_TOKEN: the refresh_token of the password answer; each one works once):',
      request: { url: urls.token, form: [['grant_type', 'refresh_token'], ['client_id', cli.client_id], ['refresh_token', value('REFRESH_TOKEN')]] },
    },
    {
      name: 'device_authorization',
      title: `device_code (${cli.client_id}, RFC 8628): ask for a user code,`,
      request: { url: urls.deviceAuthorization, form: [['client_id', cli.client_id], ['scope', cli.scope!]] },
      notes: [`then open its verification_uri_complete in a browser, sign in${who} and Allow; meanwhile poll every "interval" seconds with its device_code:`],
    },
    {
      name: 'device_poll',
      title: '',
      request: { url: urls.token, form: [['grant_type', DEVICE_CODE], ['client_id', cli.client_id], ['device_code', value('DEVICE_CODE')]] },
    },
    {
      name: 'authorization_code_browser',
      title: `authorization_code with PKCE (${web.client_id}): open in a browser, sign in${who} and Allow:`,
      browser: authorize.href,
      notes: [
        `the browser then goes to ${webRedirect}?code=CODE&state=${DEMO_STATE} (nothing listens there: copy CODE from the address bar) and redeem it ${authorizationCodeTtl === undefined ? 'at once' : `within ${authorizationCodeTtl} s`}:`,
      ],
    },
    {
      name: 'authorization_code_redeem',
      title: '',
      request: {
        url: urls.token,
        basic: basicOf(web),
        form: [['grant_type', 'authorization_code'], ['code', value('CODE')], ['redirect_uri', webRedirect], ['code_verifier', DEMO_PKCE.verifier]],
      },
      notes: [`(code_verifier ${DEMO_PKCE.verifier} is the secret behind code_challenge ${DEMO_PKCE.challenge} = BASE64URL(SHA-256(code_verifier)))`],
    },
    {
      name: 'implicit_browser',
      title: `implicit (${spa.client_id}): open in a browser; the tokens come back in the URL fragment:`,
      browser: implicit.href,
    },
    {
      name: 'introspection',
      title: `introspection (${rs.client_id}, a resource server; ACCESS_TOKEN: the access_token of the ${svc.client_id} answer):`,
      request: { url: urls.introspection, basic: basicOf(rs), form: [['token', value('ACCESS_TOKEN')]] },
    },
    {
      name: 'revocation',
      title: `revocation (${svc.client_id} revokes its own token; introspect it again afterwards):`,
      request: { url: urls.revocation, basic: basicOf(svc), form: [['token', value('ACCESS_TOKEN')]] },
    },
    { name: 'jwks', title: 'signing keys:', request: { url: urls.jwks } },
    { name: 'discovery', title: 'discovery:', request: { url: urls.discovery } },
  ]
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

const shortGrant = (g: string): string => g.replace('urn:ietf:params:oauth:grant-type:', '')

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
 * @param ctx the running server's context: its endpoints and grants
 * @example
 * process.stdout.write(describeDemo(demoConfig, server.context))
 */
export function describeDemo(config: ServeConfig, ctx: ServerContext): string {
  // implicit is a response type of the authorization endpoint, not a token-endpoint grant.
  const supported = new Set([...ctx.grants.keys(), 'implicit'])
  const missing = PLANNED_GRANTS.filter((g) => !supported.has(g)).map(shortGrant)
  const lines = [
    'grantkit: demo mode (no --config): in-memory storage, a signing key generated at start.',
    'Everything below is public: use it only to try grantkit out.',
    '',
    'Demo users:',
    ...(config.users ?? []).map((u) => `  ${u.username} / ${u.password ?? '(password_hash)'}${u.claims?.name !== undefined ? `  (${String(u.claims.name)})` : ''}`),
    'Demo clients:',
    ...config.clients.flatMap(describeClient),
  ]
  if (missing.length > 0) lines.push(`Not in this build: ${missing.join(', ')}.`)
  const assertions = ['urn:ietf:params:oauth:grant-type:jwt-bearer', 'urn:ietf:params:oauth:grant-type:saml2-bearer'].filter((g) => supported.has(g)).map(shortGrant)
  if (assertions.length > 0) lines.push(`${assertions.join(' and ')}: ${assertions.length === 1 ? 'needs' : 'need'} an issuer to trust, set with "trust" in a config file.`)

  lines.push('', 'Try each grant:')
  for (const example of demoExamples(config, demoUrls(ctx), {}, ctx.ttl.authorizationCode)) {
    if (example.title !== '') lines.push(example.title)
    if (example.request !== undefined) lines.push(`  ${curlCommand(example.request)}`)
    if (example.browser !== undefined) lines.push(`  ${example.browser}`)
    for (const note of example.notes ?? []) lines.push(`  ${note}`)
  }
  lines.push('')
  return lines.join('\n') + '\n'
}
