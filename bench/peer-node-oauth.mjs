// Child process: @node-oauth/oauth2-server 5.x behind Express 5, with an in-memory model and the
// clients and the user every server of the benchmark has (common.mjs). Usage:
// node bench/peer-node-oauth.mjs <jwt|opaque> [hash|nohash]
// - POST /token: client_credentials, authorization_code (PKCE S256), refresh_token (a new refresh
//   token on every use, the old one revoked: its default alwaysIssueNewRefreshToken).
//   Access tokens are its default random tokens (opaque, stored), or in jwt mode an RFC 9068 JWT
//   signed ES256 with node:crypto by the model's generateAccessToken (not stored), as grantkit does.
// - The code flow: it has no login or consent UI, so this file adds the least one can: GET /authorize
//   sends a person without a session to GET /login; POST /login checks the password (Argon2id: the
//   same PHC string as grantkit's user, verified with the same library; `nohash`: a constant-time
//   comparison of the plain password, for the rows without hashing) and sets a session cookie; GET /authorize then shows a consent form
//   (CSRF value bound to the session), whose POST /authorize calls oauth.authorize() with an
//   authenticateHandler that returns the session's user.
// - No introspection endpoint: the library has none (the benchmark marks that row n/a).
import { verify as argon2Verify } from '@node-rs/argon2'
import { createHash, generateKeyPairSync, randomBytes, randomUUID, sign, timingSafeEqual } from 'node:crypto'
import { createServer } from 'node:http'
import express from 'express'
import OAuth2Server from '@node-oauth/oauth2-server'
import {
  CLIENT_ID,
  CLIENT_SECRET,
  FLOW_SCOPE,
  ISSUER,
  PASSWORD,
  RS_CLIENT_ID,
  RS_CLIENT_SECRET,
  PASSWORD_HASH,
  USERNAME,
  WEB_CLIENT_ID,
  WEB_CLIENT_SECRET,
  WEB_REDIRECT_URI,
  serveForParent,
} from './common.mjs'

const { Request, Response, OAuthError } = OAuth2Server
const mode = process.argv[2]
if (mode !== 'jwt' && mode !== 'opaque') throw new Error(`mode must be jwt or opaque, not ${mode}`)
const hashing = process.argv[3] ?? 'hash'
if (hashing !== 'hash' && hashing !== 'nohash') throw new Error(`password mode must be hash or nohash, not ${hashing}`)

const sha256 = (s) => createHash('sha256').update(s).digest()

// Secrets kept as SHA-256 hashes and compared in constant time, as grantkit keeps them.
const clients = new Map(
  [
    { id: CLIENT_ID, secret: CLIENT_SECRET, grants: ['client_credentials'], redirectUris: [], scope: ['api:read', 'api:write'] },
    { id: RS_CLIENT_ID, secret: RS_CLIENT_SECRET, grants: ['client_credentials'], redirectUris: [], scope: [] },
    { id: WEB_CLIENT_ID, secret: WEB_CLIENT_SECRET, grants: ['authorization_code', 'refresh_token'], redirectUris: [WEB_REDIRECT_URI], scope: FLOW_SCOPE.split(' ') },
  ].map(({ secret, ...c }) => [c.id, { ...c, secretHash: sha256(secret) }]),
)

// The user: the same Argon2id PHC string every server checks, verified off the event loop by @node-rs/argon2
// (as grantkit's StaticUserSource does); an unknown user is checked against the same hash, so it costs the same.
const users = new Map([[USERNAME, { id: USERNAME, username: USERNAME, hash: PASSWORD_HASH }]])
const plain = Buffer.from(PASSWORD)

async function checkPassword(username, password) {
  const user = users.get(username)
  if (hashing === 'nohash') {
    const given = Buffer.from(password)
    return user !== undefined && given.length === plain.length && timingSafeEqual(given, plain) ? user : undefined
  }
  const ok = await argon2Verify(user?.hash ?? PASSWORD_HASH, password).catch(() => false)
  return ok && user !== undefined ? user : undefined
}

// ES256 key for jwt mode, signed the way grantkit signs (node:crypto, a key imported once).
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const SIGN_OPTIONS = { key: privateKey, dsaEncoding: 'ieee-p1363' }
const JWT_HEADER = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'at+jwt', kid: 'bench-es256' })).toString('base64url')
const ACCESS_TOKEN_TTL = 3600

const accessTokens = new Map()
const refreshTokens = new Map()
const codes = new Map()

const model = {
  async getClient(clientId, clientSecret) {
    const client = clients.get(clientId)
    if (client === undefined) return null
    // null: the authorization endpoint looks the client up without a secret.
    if (clientSecret === null) return client
    if (typeof clientSecret !== 'string') return null
    return timingSafeEqual(sha256(clientSecret), client.secretHash) ? client : null
  },
  async validateScope(_user, client, scope) {
    if (scope === undefined) return client.scope.length > 0 ? client.scope : false
    return scope.every((s) => client.scope.includes(s)) ? scope : false
  },
  async getUserFromClient(client) {
    return { id: client.id }
  },
  ...(mode === 'jwt' && {
    async generateAccessToken(client, user, scope) {
      const now = Math.floor(Date.now() / 1000)
      const claims = { iss: ISSUER, sub: user.id, aud: ISSUER, exp: now + ACCESS_TOKEN_TTL, iat: now, jti: randomUUID(), client_id: client.id, scope: scope.join(' ') }
      const input = `${JWT_HEADER}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`
      return `${input}.${sign('sha256', Buffer.from(input), SIGN_OPTIONS).toString('base64url')}`
    },
  }),
  async saveToken(token, client, user) {
    const saved = { ...token, client, user }
    // A JWT is not stored (as grantkit does not store its JWTs); an opaque token has to be.
    if (mode === 'opaque') accessTokens.set(token.accessToken, saved)
    if (token.refreshToken !== undefined) refreshTokens.set(token.refreshToken, saved)
    return saved
  },
  async getAccessToken(accessToken) {
    const t = accessTokens.get(accessToken)
    return t !== undefined && t.accessTokenExpiresAt > new Date() ? t : null
  },
  async getRefreshToken(refreshToken) {
    return refreshTokens.get(refreshToken) ?? null
  },
  async revokeToken(token) {
    return refreshTokens.delete(token.refreshToken)
  },
  async saveAuthorizationCode(code, client, user) {
    const saved = { ...code, client, user }
    codes.set(code.authorizationCode, saved)
    return saved
  },
  async getAuthorizationCode(code) {
    return codes.get(code) ?? null
  },
  async revokeAuthorizationCode(code) {
    return codes.delete(code.authorizationCode)
  },
}

const oauth = new OAuth2Server({
  model,
  accessTokenLifetime: ACCESS_TOKEN_TTL,
  refreshTokenLifetime: 1209600,
  authorizationCodeLifetime: 60,
})

// Browser sessions of the login page: id → { user, csrf }.
const sessions = new Map()
const SESSION_COOKIE = 'bench_sid'
function sessionOf(req) {
  const header = req.headers.cookie
  if (header === undefined) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (part.slice(0, eq).trim() === SESSION_COOKIE) return sessions.get(part.slice(eq + 1).trim())
  }
  return undefined
}

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c])
const page = (title, body) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><main>${body}</main></body></html>`
const PAGE_HEADERS = { 'cache-control': 'no-store', 'x-frame-options': 'DENY', 'content-security-policy': "default-src 'none'; frame-ancestors 'none'" }

function sendOAuth(res, response) {
  res.set(response.headers)
  res.status(response.status)
  if (response.status === 302) res.end()
  else res.json(response.body)
}

const app = express()
app.disable('x-powered-by')
const form = express.urlencoded({ extended: false })

app.post('/token', form, async (req, res) => {
  const response = new Response(res)
  try {
    await oauth.token(new Request(req), response)
  } catch (err) {
    if (!(err instanceof OAuthError)) throw err
  }
  sendOAuth(res, response)
})

app.get('/authorize', (req, res) => {
  const session = sessionOf(req)
  if (session === undefined) {
    res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`)
    return
  }
  const hidden = Object.entries(req.query)
    .filter(([, v]) => typeof v === 'string')
    .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
    .join('')
  res.set(PAGE_HEADERS).type('html').send(
    page(
      'Allow access?',
      `<h1>Allow access?</h1><p>${escapeHtml(req.query.client_id)} asks for ${escapeHtml(req.query.scope ?? '')}</p>` +
        `<form method="post" action="/authorize">${hidden}<input type="hidden" name="csrf" value="${session.csrf}">` +
        `<button type="submit" name="decision" value="allow">Allow</button><button type="submit" name="decision" value="deny">Deny</button></form>`,
    ),
  )
})

app.post('/authorize', form, async (req, res) => {
  const session = sessionOf(req)
  const csrf = typeof req.body.csrf === 'string' ? Buffer.from(req.body.csrf) : Buffer.alloc(0)
  if (session === undefined || csrf.length !== session.csrf.length || !timingSafeEqual(csrf, Buffer.from(session.csrf))) {
    res.status(403).type('html').send(page('Error', 'The form has expired.'))
    return
  }
  if (req.body.decision !== 'allow') req.body.allowed = 'false'
  const response = new Response(res)
  try {
    await oauth.authorize(new Request(req), response, { authenticateHandler: { handle: () => session.user } })
  } catch (err) {
    if (!(err instanceof OAuthError)) throw err
    if (response.status !== 302) {
      res.status(err.code ?? 400).type('html').send(page('Error', escapeHtml(err.message)))
      return
    }
  }
  sendOAuth(res, response)
})

app.get('/login', (req, res) => {
  const next = typeof req.query.next === 'string' ? req.query.next : '/'
  res.set(PAGE_HEADERS).type('html').send(
    page(
      'Sign in',
      `<h1>Sign in</h1><form method="post" action="/login"><input type="hidden" name="next" value="${escapeHtml(next)}">` +
        `<input type="text" name="username" required><input type="password" name="password" required><button type="submit">Sign in</button></form>`,
    ),
  )
})

app.post('/login', form, async (req, res) => {
  const { username, password, next } = req.body
  const user = typeof username === 'string' && typeof password === 'string' ? await checkPassword(username, password) : undefined
  if (user === undefined) {
    res.status(401).type('html').send(page('Sign in', 'The username or password is wrong.'))
    return
  }
  const sid = randomBytes(32).toString('base64url')
  sessions.set(sid, { user: { id: user.id, username: user.username }, csrf: randomBytes(32).toString('base64url') })
  res.cookie(SESSION_COOKIE, sid, { httpOnly: true, sameSite: 'lax', path: '/', maxAge: 86_400_000 })
  // Only back to our own authorization endpoint: no open redirect.
  res.redirect(303, typeof next === 'string' && next.startsWith('/authorize?') ? next : '/')
})

serveForParent(createServer(app))
