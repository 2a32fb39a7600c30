// Child process: node-oidc-provider 9.x under test, configured through its public API with the
// clients and the user every server of the benchmark has (common.mjs). Usage:
// node bench/peer-oidc-provider.mjs [hash|nohash]. One configuration serves every row:
// - client_credentials: opaque by default; with resource=RESOURCE a JWT (resource indicators,
//   a resource server with accessTokenFormat 'jwt' signed ES256);
// - introspection (the resource server client may introspect every client's tokens);
// - the code flow with PKCE: by default through peer-oidc-login.mjs (a login form that verifies the
//   user's Argon2id hash, the same PHC string and library as grantkit's user, and a consent form);
//   with `nohash` through devInteractions (its own forms, which check no password);
// - refresh_token with rotation on every use (rotateRefreshToken: true).
// Storage is its default in-memory adapter. ID tokens (not used by the benchmark's scope) and JWT
// access tokens are signed with one ES256 key, as grantkit's are.
import { generateKeyPairSync } from 'node:crypto'
import { createServer } from 'node:http'
import Provider, { errors } from 'oidc-provider'
import {
  CLIENT_ID,
  CLIENT_SECRET,
  FLOW_SCOPE,
  ISSUER,
  RESOURCE,
  RS_CLIENT_ID,
  RS_CLIENT_SECRET,
  USERNAME,
  WEB_CLIENT_ID,
  WEB_CLIENT_SECRET,
  WEB_REDIRECT_URI,
  serveForParent,
} from './common.mjs'
import { interactionUrl, withPasswordLogin } from './peer-oidc-login.mjs'

const hashing = process.argv[2] ?? 'hash'
if (hashing !== 'hash' && hashing !== 'nohash') throw new Error(`password mode must be hash or nohash, not ${hashing}`)

// Its start-up warnings (devInteractions, a key generated here, defaults that should change) say
// nothing about performance; the parent shows this process's stderr only when something fails.
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-es256', alg: 'ES256', use: 'sig' }

const accounts = new Map([[USERNAME, { sub: USERNAME, name: 'Alice' }]])

const provider = new Provider(ISSUER, {
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: 'api:read api:write',
    },
    {
      client_id: RS_CLIENT_ID,
      client_secret: RS_CLIENT_SECRET,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    },
    {
      client_id: WEB_CLIENT_ID,
      client_secret: WEB_CLIENT_SECRET,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [WEB_REDIRECT_URI],
      scope: FLOW_SCOPE,
    },
  ],
  jwks: { keys: [jwk] },
  clientDefaults: { id_token_signed_response_alg: 'ES256' },
  // Scopes it may grant without a resource indicator (into its opaque access tokens).
  scopes: ['openid', 'offline_access', 'api:read', 'api:write'],
  cookies: { keys: ['bench-cookie-key-5e0d9a1c7b3f2468'] },
  async findAccount(_ctx, sub) {
    const claims = accounts.get(sub)
    if (claims === undefined) return undefined
    return { accountId: sub, claims: async () => claims }
  },
  ...(hashing === 'hash' && { interactions: { url: interactionUrl } }),
  features: {
    devInteractions: { enabled: hashing === 'nohash' },
    clientCredentials: { enabled: true },
    introspection: {
      enabled: true,
      // As grantkit's introspection_allowed: a client sees its own tokens, the resource server everyone's.
      allowedPolicy: async (_ctx, caller, token) => caller.clientId === token.clientId || caller.clientId === RS_CLIENT_ID,
    },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (_ctx, _client, oneOf) => oneOf,
      useGrantedResource: async () => false,
      getResourceServerInfo: async (_ctx, indicator) => {
        if (indicator !== RESOURCE) throw new errors.InvalidTarget()
        return { scope: 'api:read api:write', audience: RESOURCE, accessTokenTTL: 3600, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } }
      },
    },
  },
  // Every use of a refresh token returns a new one and consumes the old (its default rotates only late in life).
  rotateRefreshToken: true,
  ttl: {
    AccessToken: 3600,
    ClientCredentials: 3600,
    AuthorizationCode: 60,
    RefreshToken: 1209600,
    Grant: 1209600,
    Interaction: 600,
    Session: 86400,
    IdToken: 3600,
  },
})

serveForParent(createServer(hashing === 'hash' ? withPasswordLogin(provider) : provider.callback()))
