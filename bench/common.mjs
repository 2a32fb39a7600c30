// Shared by the benchmark's parent and child processes: the server under test,
// the request every measurement sends, and the check applied to its answer.
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

/** The built package. GRANTKIT_DIST points elsewhere (a scratch build) when ../dist cannot be built. */
export const DIST_DIR = process.env.GRANTKIT_DIST
  ? resolve(process.env.GRANTKIT_DIST)
  : fileURLToPath(new URL('../dist/', import.meta.url))

export function distFile(name) {
  return resolve(DIST_DIR, name)
}

export function missingDistFiles() {
  return ['index.js', 'adapters/node.js'].map(distFile).filter((f) => !existsSync(f))
}

export async function loadGrantkit() {
  return import(pathToFileURL(distFile('index.js')).href)
}

/** A storage entry point of the built package: `postgres` or `redis` (storage/<name>.js). */
export async function loadStorage(name) {
  return import(pathToFileURL(distFile(`storage/${name}.js`)).href)
}

export async function loadNodeAdapter() {
  return import(pathToFileURL(distFile('adapters/node.js')).href)
}

// http is accepted for a loopback issuer; only the path is used for routing.
export const ISSUER = 'http://127.0.0.1'
export const TOKEN_PATH = '/token'
export const CLIENT_ID = 'bench-client'
export const CLIENT_SECRET = 'bench-secret-6f1c0d2a9e8b4c7d'
export const SCOPE = 'api:read'
/** The form body every request sends: client_credentials with one scope (percent-encoded, as clients send it). */
export const FORM_BODY = `grant_type=client_credentials&scope=${encodeURIComponent(SCOPE)}`
/** RFC 6749 §2.3.1: id and secret are form-encoded, joined by ':' and base64-encoded. */
export const AUTHORIZATION = `Basic ${Buffer.from(`${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(CLIENT_SECRET)}`).toString('base64')}`
export const WRONG_AUTHORIZATION = `Basic ${Buffer.from(`${CLIENT_ID}:not-the-secret`).toString('base64')}`
export const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded'

// The clients and the user every server under test is configured with, grantkit and peers alike.
/** A resource server: client_credentials, and may introspect every client's tokens. */
export const RS_CLIENT_ID = 'bench-rs'
export const RS_CLIENT_SECRET = 'bench-rs-secret-3b9e1f0c7a5d2e84'
export const RS_AUTHORIZATION = `Basic ${Buffer.from(`${RS_CLIENT_ID}:${RS_CLIENT_SECRET}`).toString('base64')}`
/** A web application: authorization_code with PKCE and refresh_token, client_secret_basic. */
export const WEB_CLIENT_ID = 'bench-web'
export const WEB_CLIENT_SECRET = 'bench-web-secret-8d2c4a6e0f1b3957'
export const WEB_AUTHORIZATION = `Basic ${Buffer.from(`${WEB_CLIENT_ID}:${WEB_CLIENT_SECRET}`).toString('base64')}`
/** Nothing listens there: the flow driver stops at the redirect and reads the code from it. */
export const WEB_REDIRECT_URI = 'http://127.0.0.1:9/cb'
/**
 * The scope of the code flow and of its refresh tokens. Plain OAuth 2.0 (no openid, so no ID token) so
 * that all three servers do the same work; offline_access because node-oidc-provider issues refresh
 * tokens only for it (and only with prompt=consent, which the driver sends to every server).
 */
export const FLOW_SCOPE = 'offline_access api:read'
/** The resource indicator (RFC 8707) node-oidc-provider issues its JWT access tokens for. */
export const RESOURCE = 'https://api.bench.example/'
/** The one user of every server. */
export const USERNAME = 'alice'
export const PASSWORD = 'wonderland-bench-7c1e'
/**
 * Argon2id cost of the user's password hash: OWASP's minimum (19 MiB, 2 passes, 1 lane), grantkit's default.
 * Every server that checks the password (grantkit's StaticUserSource, node-oidc-provider's login handler,
 * the @node-oauth login page) verifies the same PHC string with the same library (@node-rs/argon2).
 * `BENCH_ARGON2=m,t,p` measures another cost (the hash is then made at start).
 */
export const ARGON2_COST = (() => {
  const [memoryCost, timeCost, parallelism] = (process.env.BENCH_ARGON2 || '19456,2,1').split(',').map(Number)
  return { memoryCost, timeCost, parallelism }
})()
/** PASSWORD hashed once, offline, at OWASP's minimum: `hashPassword(PASSWORD)`. */
const OWASP_HASH = '$argon2id$v=19$m=19456,t=2,p=1$Z681UQBds0GUYSy7Ppsl9Q$WjFn6vm2JWzgz5T2SKr/f+bU92b4uViFrH5P6a7arpw'
/** The one password hash all servers check. */
export const PASSWORD_HASH =
  process.env.BENCH_ARGON2 === undefined || process.env.BENCH_ARGON2 === '19456,2,1'
    ? OWASP_HASH
    : (await import('@node-rs/argon2')).hashSync(PASSWORD, { algorithm: 2, ...ARGON2_COST })

/**
 * Options of the server under test: the defaults (ES256 key generated at start, memory storage), the
 * three clients and the user. `grantkit` is the loaded package (for StaticUserSource).
 */
export function serverOptions(format, grantkit) {
  return {
    issuer: ISSUER,
    accessTokenFormat: format,
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['client_credentials'],
        scope: 'api:read api:write',
      },
      {
        client_id: RS_CLIENT_ID,
        client_secret: RS_CLIENT_SECRET,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['client_credentials'],
        introspection_allowed: true,
      },
      {
        client_id: WEB_CLIENT_ID,
        client_secret: WEB_CLIENT_SECRET,
        token_endpoint_auth_method: 'client_secret_basic',
        redirect_uris: [WEB_REDIRECT_URI],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        scope: FLOW_SCOPE,
      },
    ],
    // The hash every server checks; a cost below OWASP's minimum (BENCH_ARGON2) needs allowWeak.
    users: [{ username: USERNAME, password_hash: PASSWORD_HASH, claims: { name: 'Alice' } }],
    passwordHashing: { ...ARGON2_COST, allowWeak: true },
    // Every flow signs the same account in from 127.0.0.1, thousands of times a second: to the password
    // throttle that is a guessing attack (60 attempts per address per window, 5 in flight per account),
    // and it answers 401. The peers throttle nothing, so the same work means no throttle here either.
    passwordGrant: { maxAttemptsPerAddress: 1_000_000_000, maxFailures: 1_000_000_000 },
  }
}

/**
 * Checks one successful token response in full, so that a benchmark never
 * measures a server that answers 200 with the wrong thing. Returns an error
 * message, or null when the response is what `format` should produce.
 * `opaque` is what an opaque token must look like (grantkit's: 256 bits of
 * base64url); `scope` the scope the answer must carry; `refresh` whether it
 * must carry a refresh token.
 */
export function checkTokenResponse(format, status, bodyText, { opaque = GRANTKIT_OPAQUE, scope = SCOPE, clientId = CLIENT_ID, refresh = false } = {}) {
  if (status !== 200) return `status ${status}: ${String(bodyText).slice(0, 200)}`
  let body
  try {
    body = JSON.parse(bodyText)
  } catch {
    return `body is not JSON: ${String(bodyText).slice(0, 200)}`
  }
  if (body.token_type !== 'Bearer') return `token_type is ${body.token_type}`
  if (typeof body.access_token !== 'string') return 'no access_token'
  if (body.scope !== scope) return `scope is ${body.scope}`
  if (refresh && (typeof body.refresh_token !== 'string' || body.refresh_token.length < 20)) return 'no refresh_token'
  const token = body.access_token
  if (format === 'jwt') {
    const parts = token.split('.')
    if (parts.length !== 3) return 'access_token is not a compact JWS'
    const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'))
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'))
    if (header.typ !== 'at+jwt' || header.alg !== 'ES256') return `unexpected JWT header ${JSON.stringify(header)}`
    if (claims.client_id !== clientId || (clientId === CLIENT_ID && claims.sub !== CLIENT_ID)) return `unexpected JWT claims ${JSON.stringify(claims)}`
    if (claims.scope !== scope) return `JWT scope is ${claims.scope}`
  } else if (format === 'opaque') {
    if (!opaque.test(token)) return `opaque access_token ${token} does not match ${opaque}`
  }
  return null
}

/** grantkit's opaque tokens: 256 random bits, base64url. */
export const GRANTKIT_OPAQUE = /^[A-Za-z0-9_-]{43}$/

/** Percentile of an ascending-sorted typed array, nearest rank. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank]
}

/**
 * The child side of every HTTP server under test: listens on 127.0.0.1 (port chosen by the OS),
 * sends { type: 'ready', port } to the parent, answers { type: 'cpu' } with its CPU time and RSS,
 * and exits when the parent goes.
 */
export function serveForParent(server) {
  server.listen(0, '127.0.0.1', () => {
    process.send({ type: 'ready', port: server.address().port })
  })
  process.on('message', (m) => {
    if (m?.type === 'cpu') process.send({ type: 'cpu', id: m.id, usage: process.cpuUsage(), rss: process.memoryUsage().rss })
  })
  process.on('disconnect', () => process.exit(0))
}
