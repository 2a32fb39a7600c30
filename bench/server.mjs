// Child process: an HTTP server under test on 127.0.0.1, port chosen by the OS.
// Usage: node bench/server.mjs <jwt|opaque|opaque-nohash|opaque-unbounded|raw|raw-es256|raw-opaque>, or <opaque-pg|opaque-redis> <prefix> <url>. Talks to the parent over IPC
// (serveForParent in common.mjs): sends { type: 'ready', port }, answers { type: 'cpu' } with its
// CPU time so the parent can tell whether the server's core was saturated. Exits when the parent goes.
// grantkit serves every row it takes part in from this script: client_credentials, introspection,
// refresh and the code flow (with its built-in login and consent pages).
import { createHash, generateKeyPairSync, randomBytes, randomUUID, sign, timingSafeEqual } from 'node:crypto'
import { createServer } from 'node:http'
import { CLIENT_ID, ISSUER, PASSWORD, RS_CLIENT_ID, RS_CLIENT_SECRET, USERNAME, loadGrantkit, loadNodeAdapter, loadStorage, serveForParent, serverOptions, SCOPE } from './common.mjs'

const mode = process.argv[2]

// The ceiling: what any Node token endpoint must do at least (read the body,
// parse it as a form, answer JSON with the same headers), and nothing more.
const RAW_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', pragma: 'no-cache' }
const RAW_BODY = JSON.stringify({ access_token: randomBytes(32).toString('base64url'), token_type: 'Bearer', expires_in: 3600, scope: SCOPE })
const RAW_ERROR = JSON.stringify({ error: 'invalid_request' })

function rawListener(req, res) {
  const chunks = []
  req.on('data', (c) => chunks.push(c))
  req.on('end', () => {
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
    if (req.method !== 'POST' || req.url !== '/token' || form.get('grant_type') !== 'client_credentials') {
      res.writeHead(400, RAW_HEADERS)
      res.end(RAW_ERROR)
      return
    }
    res.writeHead(200, RAW_HEADERS)
    res.end(RAW_BODY)
  })
}

// The floor for any JWT endpoint: the ceiling plus one ES256 signature over the
// RFC 9068 claims grantkit issues, with node:crypto and a key imported once.
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const SIGN_OPTIONS = { key: privateKey, dsaEncoding: 'ieee-p1363' }
const JWT_HEADER = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'at+jwt', kid: 'bench' })).toString('base64url')

function rawEs256Listener(req, res) {
  const chunks = []
  req.on('data', (c) => chunks.push(c))
  req.on('end', () => {
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
    if (req.method !== 'POST' || req.url !== '/token' || form.get('grant_type') !== 'client_credentials') {
      res.writeHead(400, RAW_HEADERS)
      res.end(RAW_ERROR)
      return
    }
    const now = Math.floor(Date.now() / 1000)
    const claims = { iss: ISSUER, sub: CLIENT_ID, aud: ISSUER, exp: now + 3600, iat: now, jti: randomUUID(), client_id: CLIENT_ID, scope: SCOPE }
    const input = `${JWT_HEADER}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`
    const token = `${input}.${sign('sha256', Buffer.from(input), SIGN_OPTIONS).toString('base64url')}`
    res.writeHead(200, RAW_HEADERS)
    res.end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 3600, scope: SCOPE }))
  })
}

// Hand-rolled opaque tokens, the reference for grantkit's opaque token and introspection rows: the
// same cryptography and nothing else. /token: a random 256-bit token, its SHA-256 kept in a Map with
// what introspection answers, the same JSON as grantkit's. /introspect: the resource server's Basic
// credentials checked against a SHA-256 of its secret computed once (constant-time compare), the
// token's hash looked up, the RFC 7662 answer grantkit gives.
const sha256 = (text) => createHash('sha256').update(text).digest()
const RS_SECRET_HASH = sha256(RS_CLIENT_SECRET)
const issuedTokens = new Map()
const UNAUTHORIZED = JSON.stringify({ error: 'invalid_client' })
const INACTIVE = JSON.stringify({ active: false })

function readForm(req, answer) {
  const chunks = []
  req.on('data', (c) => chunks.push(c))
  req.on('end', () => answer(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))))
}

function rawOpaqueListener(req, res) {
  readForm(req, (form) => {
    if (req.method === 'POST' && req.url === '/token' && form.get('grant_type') === 'client_credentials') {
      const token = randomBytes(32).toString('base64url')
      const now = Math.floor(Date.now() / 1000)
      issuedTokens.set(createHash('sha256').update(token).digest('base64url'), { clientId: CLIENT_ID, scope: SCOPE, iat: now, exp: now + 3600, jti: randomUUID() })
      res.writeHead(200, RAW_HEADERS)
      res.end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 3600, scope: SCOPE }))
      return
    }
    if (req.method === 'POST' && req.url === '/introspect' && form.get('token') !== null) {
      const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(req.headers.authorization ?? '')
      const decoded = m === null ? '' : Buffer.from(m[1], 'base64').toString('utf8')
      const colon = decoded.indexOf(':')
      const secretOk = colon !== -1 && timingSafeEqual(sha256(decoded.slice(colon + 1)), RS_SECRET_HASH)
      if (!secretOk || decoded.slice(0, colon) !== RS_CLIENT_ID) {
        res.writeHead(401, { ...RAW_HEADERS, 'www-authenticate': 'Basic' })
        res.end(UNAUTHORIZED)
        return
      }
      const t = issuedTokens.get(createHash('sha256').update(form.get('token')).digest('base64url'))
      res.writeHead(200, RAW_HEADERS)
      if (t === undefined || t.exp <= Date.now() / 1000) res.end(INACTIVE)
      else res.end(JSON.stringify({ active: true, scope: t.scope, client_id: t.clientId, sub: t.clientId, exp: t.exp, iat: t.iat, token_type: 'Bearer', aud: ISSUER, iss: ISSUER, jti: t.jti }))
      return
    }
    res.writeHead(400, RAW_HEADERS)
    res.end(RAW_ERROR)
  })
}

let listener
if (mode === 'raw') {
  listener = rawListener
} else if (mode === 'raw-es256') {
  listener = rawEs256Listener
} else if (mode === 'raw-opaque') {
  listener = rawOpaqueListener
} else if (mode === 'jwt' || mode === 'opaque') {
  const grantkit = await loadGrantkit()
  const { toNodeListener } = await loadNodeAdapter()
  listener = toNodeListener(grantkit.createAuthorizationServer(serverOptions(mode, grantkit)))
} else if (mode === 'opaque-unbounded') {
  // A what-if for the login-flood row: the opaque server with the bound on concurrent password checks
  // lifted (as 0.1 had none): every check goes straight to libuv's pool.
  const grantkit = await loadGrantkit()
  const { toNodeListener } = await loadNodeAdapter()
  const options = serverOptions('opaque', grantkit)
  options.passwordHashing = { ...options.passwordHashing, maxConcurrent: 1024, maxQueued: 0 }
  listener = toNodeListener(grantkit.createAuthorizationServer(options))
} else if (mode === 'opaque-pg' || mode === 'opaque-redis') {
  // The opaque server with durable storage instead of memory: PostgreSQL (tables created by run.mjs
  // with migrate() under a per-run prefix, argv[3]) or Redis (keys under a per-run prefix, argv[3]).
  // The connection string / URL comes from BENCH_PG_URL / BENCH_REDIS_URL through run.mjs (argv[4]).
  const grantkit = await loadGrantkit()
  const { toNodeListener } = await loadNodeAdapter()
  const options = serverOptions('opaque', grantkit)
  const [prefix, url] = process.argv.slice(3)
  if (mode === 'opaque-pg') {
    const { createPostgresStorage } = await loadStorage('postgres')
    options.storage = createPostgresStorage({ connectionString: url, tablePrefix: prefix })
  } else {
    const { createRedisStorage } = await loadStorage('redis')
    options.storage = createRedisStorage({ client: url, prefix })
  }
  listener = toNodeListener(grantkit.createAuthorizationServer(options))
} else if (mode === 'opaque-nohash') {
  // A what-if for the code-flow row, not a configuration to copy: the same server with a user source
  // (its public UserSource interface) that compares the password in constant time without hashing it.
  // It serves the code-flow rows without hashing, beside node-oidc-provider's devInteractions (which
  // check no password) and @node-oauth's login page comparing the plain password.
  const grantkit = await loadGrantkit()
  const { toNodeListener } = await loadNodeAdapter()
  const options = serverOptions('opaque', grantkit)
  const account = { sub: USERNAME, username: USERNAME }
  const expected = Buffer.from(PASSWORD)
  options.users = {
    async findByUsername(username) {
      return username === USERNAME ? account : undefined
    },
    async verifyPassword(found, password) {
      const given = Buffer.from(password)
      return found !== undefined && given.length === expected.length && timingSafeEqual(given, expected)
    },
    async claims(sub) {
      return sub === USERNAME ? { sub, name: 'Alice' } : undefined
    },
  }
  listener = toNodeListener(grantkit.createAuthorizationServer(options))
} else {
  throw new Error(`mode must be jwt, opaque, opaque-pg, opaque-redis, opaque-nohash, opaque-unbounded, raw, raw-es256 or raw-opaque, not ${mode}`)
}

serveForParent(createServer(listener))
