import type { ServeConfig } from './config.js'

/**
 * What `grantkit serve` runs without `--config`: in-memory storage, a signing
 * key generated at start, a demo user and one client per thing that works in
 * this release. The credentials are public on purpose and printed at start.
 * Add a client here when a grant lands, and it will show up in the printout.
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
  ],
  users: [
    {
      username: 'alice',
      password: 'wonderland',
      claims: { sub: 'alice', name: 'Alice Liddell', email: 'alice@example.com', email_verified: true },
    },
  ],
  trust: { jwtIssuers: [], samlIdps: [] },
}

/**
 * Grant types the contract promises, in the order they are announced. Those
 * the running server does not support yet are listed as "arrive later".
 */
export const PLANNED_GRANTS = [
  'client_credentials',
  'authorization_code',
  'refresh_token',
  'implicit',
  'password',
  'urn:ietf:params:oauth:grant-type:device_code',
  'urn:ietf:params:oauth:grant-type:jwt-bearer',
  'urn:ietf:params:oauth:grant-type:saml2-bearer',
] as const

/** Where the demo printout points curl at; all absolute URLs. */
export interface DemoUrls {
  token: string
  jwks: string
  discovery: string
}

const shortGrant = (g: string): string => g.replace('urn:ietf:params:oauth:grant-type:', '')

/**
 * The text printed in demo mode: the credentials, ready-to-paste curl lines and
 * the grants that arrive later. This is the only place the CLI prints secrets.
 *
 * @param supportedGrants grant types of the running server (`server.context.grants`)
 * @example
 * process.stdout.write(describeDemo(demoConfig, urls, server.context.grants.keys()))
 */
export function describeDemo(config: ServeConfig, urls: DemoUrls, supportedGrants: Iterable<string>): string {
  const supported = new Set(supportedGrants)
  const later = PLANNED_GRANTS.filter((g) => !supported.has(g)).map(shortGrant)
  // curl globs on brackets, which an IPv6 literal has.
  const curl = urls.token.includes('[') ? 'curl -sg' : 'curl -s'
  const lines = ['grantkit: demo mode (no --config): in-memory storage, a signing key generated at start.', '', 'Demo clients:']
  for (const c of config.clients) {
    const secret = c.client_secret === undefined ? '(public)' : `secret ${c.client_secret}`
    const method = c.token_endpoint_auth_method ?? 'client_secret_basic'
    lines.push(`  ${c.client_id}  ${secret}  auth ${method}  grants ${(c.grant_types ?? []).join(',')}  scope "${c.scope ?? ''}"`)
  }
  lines.push('Demo users (for the grants that sign a person in):')
  for (const u of config.users) lines.push(`  ${u.username} / ${u.password}`)
  if (later.length > 0) lines.push(`Grants that arrive with a later release: ${later.join(', ')}.`)

  const machine = (method: string) =>
    config.clients.find((c) => c.token_endpoint_auth_method === method && c.grant_types?.includes('client_credentials') === true)
  const basic = machine('client_secret_basic')
  const post = machine('client_secret_post')
  lines.push('', 'Get a token:')
  if (basic !== undefined) {
    const scope = basic.scope?.split(' ')[0]
    lines.push(`  ${curl} -u ${basic.client_id}:${basic.client_secret} -d grant_type=client_credentials${scope ? ` -d scope=${scope}` : ''} ${urls.token}`)
  }
  if (post !== undefined) {
    lines.push(`  ${curl} -d grant_type=client_credentials -d client_id=${post.client_id} -d client_secret=${post.client_secret} ${urls.token}`)
  }
  lines.push('Signing keys and discovery:', `  ${curl} ${urls.jwks}`, `  ${curl} ${urls.discovery}`, '')
  return lines.join('\n') + '\n'
}
