// An Express app with its own login and consent pages. grantkit runs the
// protocol (authorize, token, userinfo, …); whenever a person has to sign in
// or consent, it sends the browser to this app's /login, and the app hands the
// answer back through server.interactions.
//
//   npx tsup && node examples/express-custom-login/server.mjs
//
// Then open the printed URL and sign in as alice / wonderland.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import http from 'node:http'
import express from 'express'
import { authenticateUser, createAuthorizationServer, StaticUserSource } from '../../dist/index.js'
import { sendGrantkitResponse, toExpressHandler, toGrantkitRequest } from '../../dist/adapters/express.js'

const httpServer = http.createServer()
await new Promise((resolve) => httpServer.listen(Number(process.env.PORT ?? 0), '127.0.0.1', resolve))
const origin = `http://127.0.0.1:${httpServer.address().port}`

// The app's own user table. grantkit also reads claims (name, email) from it
// for ID tokens and userinfo, but the password is checked here, by the app.
const people = new StaticUserSource([
  { username: 'alice', password: 'wonderland', claims: { sub: 'user-1001', name: 'Alice Liddell', email: 'alice@example.com' } },
])

const server = createAuthorizationServer({
  issuer: origin,
  clients: [
    {
      client_id: 'web',
      client_secret: 'web-secret',
      client_name: 'Example web app',
      redirect_uris: [origin + '/callback'],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      scope: 'openid profile email',
    },
  ],
  users: people,
  // Every login and consent step comes to this app instead of grantkit's built-in pages.
  interaction: { url: (uid) => origin + '/login?uid=' + encodeURIComponent(uid) },
})

// --- Glue between Express and the interaction API -------------------------

// toGrantkitRequest translates an Express request exactly as the adapter does
// (its cookie ties the interaction to this browser); sendGrantkitResponse sends
// grantkit's answer (a redirect to the client, or back to /login), keeping the
// app's own cookies.

// --- The app's own CSRF protection -----------------------------------------
// A random value in an HttpOnly cookie; each form carries an HMAC of it and the
// interaction uid, so a form is good only in this browser, for this interaction.
const CSRF_COOKIE = 'app_csrf'
const csrfKey = randomBytes(32)

function readCookie(req, name) {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

const sign = (secret, uid) => createHmac('sha256', csrfKey).update(secret + '.' + uid).digest('base64url')
const digest = (s) => createHash('sha256').update(s).digest()

function csrfToken(req, res, uid) {
  let secret = readCookie(req, CSRF_COOKIE)
  if (secret === undefined || !/^[A-Za-z0-9_-]{43}$/.test(secret)) {
    secret = randomBytes(32).toString('base64url')
    res.append('set-cookie', `${CSRF_COOKIE}=${secret}; Path=/; HttpOnly; SameSite=Strict`)
  }
  return sign(secret, uid)
}

function csrfValid(req, uid, token) {
  const secret = readCookie(req, CSRF_COOKIE)
  if (secret === undefined || typeof token !== 'string') return false
  // Digests have equal length, so the comparison can be constant-time.
  return timingSafeEqual(digest(sign(secret, uid)), digest(token))
}

// --- Pages ------------------------------------------------------------------

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

function page(res, status, title, body) {
  res.status(status)
  res.set({
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'; form-action 'self'; frame-ancestors 'none'",
  })
  res.end(`<!doctype html><html><head><meta charset="utf-8"><title>${escape(title)}</title></head><body><h1>${escape(title)}</h1>${body}</body></html>`)
}

function loginPage(res, status, { uid, csrf, details, error, username }) {
  page(res, status, 'Sign in', `
<p>to continue to <b>${escape(details.client.name)}</b></p>
${error ? `<p role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/login">
  <input type="hidden" name="uid" value="${escape(uid)}">
  <input type="hidden" name="csrf" value="${escape(csrf)}">
  <label>Username <input name="username" autocomplete="username" value="${escape(username ?? details.loginHint ?? '')}"></label>
  <label>Password <input name="password" type="password" autocomplete="current-password"></label>
  <button name="action" value="login">Sign in</button>
  <button name="action" value="cancel">Cancel</button>
</form>`)
}

function consentPage(res, { uid, csrf, details }) {
  const ask = details.scopes.filter((s) => !details.grantedScopes.includes(s))
  page(res, 200, 'Allow access?', `
<p><b>${escape(details.client.name)}</b> asks for:</p>
<ul>${ask.map((s) => `<li>${escape(s)}</li>`).join('')}</ul>
<form method="post" action="/consent">
  <input type="hidden" name="uid" value="${escape(uid)}">
  <input type="hidden" name="csrf" value="${escape(csrf)}">
  <button name="action" value="allow">Allow</button>
  <button name="action" value="deny">Deny</button>
</form>`)
}

const expired = (res) => page(res, 400, 'Sign-in expired', '<p>This sign-in request has expired or was started in another browser. Go back to the application and start again.</p>')
const forbidden = (res) => page(res, 403, 'Forbidden', '<p>The form was not sent from this page. Reload it and try again.</p>')

// --- Routes -----------------------------------------------------------------

const app = express()
app.disable('x-powered-by')
const form = express.urlencoded({ extended: false, limit: '8kb' })

// Shows the step grantkit asks for: sign in, or consent.
app.get('/login', async (req, res, next) => {
  try {
    const uid = typeof req.query.uid === 'string' ? req.query.uid : ''
    const details = await server.interactions.details(await toGrantkitRequest(req, server), uid)
    if (details === null) return expired(res)
    const csrf = csrfToken(req, res, uid)
    if (details.prompt === 'login') loginPage(res, 200, { uid, csrf, details })
    else consentPage(res, { uid, csrf, details })
  } catch (err) {
    next(err)
  }
})

app.post('/login', form, async (req, res, next) => {
  try {
    const { uid, csrf, username, password, action } = req.body ?? {}
    if (typeof uid !== 'string' || !csrfValid(req, uid, csrf)) return forbidden(res)
    const gk = await toGrantkitRequest(req, server)
    const details = await server.interactions.details(gk, uid)
    if (details === null) return expired(res)
    if (action === 'cancel') return sendGrantkitResponse(res, await server.interactions.finish(gk, uid, { error: 'access_denied' }))
    // The app's own check. A real app also throttles failures per username and address.
    const account = await authenticateUser(people, String(username ?? ''), String(password ?? ''))
    if (account === undefined) {
      return loginPage(res, 401, { uid, csrf: csrfToken(req, res, uid), details, error: 'Wrong username or password.', username })
    }
    // grantkit starts its session and sends the browser back to /login for consent,
    // or straight to the client when consent was given before.
    sendGrantkitResponse(res, await server.interactions.finish(gk, uid, { login: { sub: account.sub } }))
  } catch (err) {
    next(err)
  }
})

app.post('/consent', form, async (req, res, next) => {
  try {
    const { uid, csrf, action } = req.body ?? {}
    if (typeof uid !== 'string' || !csrfValid(req, uid, csrf)) return forbidden(res)
    const result = action === 'allow' ? { consent: {} } : { error: 'access_denied' }
    sendGrantkitResponse(res, await server.interactions.finish(await toGrantkitRequest(req, server), uid, result))
  } catch (err) {
    next(err)
  }
})

// Where the example client lands. A real client redeems the code server-side.
app.get('/callback', (req, res) => {
  res.type('text/plain').send(
    req.query.code === undefined
      ? `error: ${req.query.error}\n`
      : `code: ${req.query.code}\n\nredeem it:\ncurl -s -u web:web-secret -d grant_type=authorization_code -d code=${req.query.code} -d redirect_uri=${origin}/callback ${origin}/token\n`,
  )
})

// grantkit's endpoints, at the root; every other path falls through to the routes above.
app.use(toExpressHandler(server))
httpServer.on('request', app)

console.log(`listening on ${origin}`)
console.log(`open: ${origin}/authorize?response_type=code&client_id=web&scope=openid%20profile%20email&state=xyz&redirect_uri=${encodeURIComponent(origin + '/callback')}`)
console.log('sign in as alice / wonderland')

process.on('SIGTERM', () => {
  httpServer.close(() => process.exit(0))
  httpServer.closeIdleConnections()
})
