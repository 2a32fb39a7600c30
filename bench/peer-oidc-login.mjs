// node-oidc-provider's interactions for the benchmark's hashed rows: a login form whose POST verifies the
// user's password against the same Argon2id PHC string grantkit's user has, with the same library
// (@node-rs/argon2, off the event loop), and a consent form. devInteractions (its built-in forms) check no
// password at all, so the code-flow rows with hashing use these instead; the rows without hashing keep
// devInteractions. Everything goes through its documented interaction API: interactionDetails,
// interactionFinished, Grant.
import { verify as argon2Verify } from '@node-rs/argon2'
import { PASSWORD_HASH, USERNAME } from './common.mjs'

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

function page(res, status, title, form) {
  const body = `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${form}</body></html>`
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
  res.end(body)
}

const loginForm = (uid, username = '') =>
  `<form method="post" action="/interaction/${escape(uid)}/login">` +
  `<input type="text" name="login" value="${escape(username)}" autocomplete="username">` +
  `<input type="password" name="password" autocomplete="current-password">` +
  `<button type="submit">Sign in</button></form>`

const consentForm = (uid, client, scope) =>
  `<p>${escape(client)} asks for ${escape(scope)}</p><form method="post" action="/interaction/${escape(uid)}/confirm">` +
  `<button type="submit" name="decision" value="allow">Allow</button></form>`

function readForm(req) {
  return new Promise((resolve, reject) => {
    const chunks = []
    let size = 0
    req.on('data', (c) => {
      size += c.length
      if (size > 65_536) req.destroy(new Error('body too large'))
      else chunks.push(c)
    })
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))))
    req.on('error', reject)
  })
}

/** The account of a username and password, or undefined; an unknown user is checked against the same hash, so it costs the same. */
async function checkPassword(username, password) {
  const known = username === USERNAME
  const ok = await argon2Verify(PASSWORD_HASH, password).catch(() => false)
  return known && ok ? username : undefined
}

/** `interactions.url` for the provider's configuration. */
export const interactionUrl = (_ctx, interaction) => `/interaction/${interaction.uid}`

/** A node:http listener: the interaction routes, and the provider for everything else. */
export function withPasswordLogin(provider) {
  const callback = provider.callback()
  return async (req, res) => {
    const match = /^\/interaction\/([A-Za-z0-9_-]+)(\/login|\/confirm)?$/.exec(req.url.split('?')[0])
    if (match === null) return callback(req, res)
    try {
      const [, uid, action] = match
      const details = await provider.interactionDetails(req, res)
      if (details.uid !== uid) return page(res, 400, 'Error', '<p>wrong interaction</p>')
      if (action === undefined && req.method === 'GET') {
        if (details.prompt.name === 'login') return page(res, 200, 'Sign-in', loginForm(uid))
        return page(res, 200, 'Authorize', consentForm(uid, details.params.client_id, details.params.scope))
      }
      if (req.method !== 'POST') return page(res, 405, 'Error', '<p>method not allowed</p>')
      const form = await readForm(req)
      if (action === '/login' && details.prompt.name === 'login') {
        const accountId = await checkPassword(form.get('login') ?? '', form.get('password') ?? '')
        if (accountId === undefined) return page(res, 401, 'Sign-in', `<p>wrong username or password</p>${loginForm(uid, form.get('login') ?? '')}`)
        return provider.interactionFinished(req, res, { login: { accountId } }, { mergeWithLastSubmission: false })
      }
      if (action === '/confirm' && details.prompt.name === 'consent' && form.get('decision') === 'allow') {
        const { prompt, params, session, grantId } = details
        const grant = grantId !== undefined ? await provider.Grant.find(grantId) : new provider.Grant({ accountId: session.accountId, clientId: params.client_id })
        if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '))
        if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims)
        if (prompt.details.missingResourceScopes) {
          for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes)) grant.addResourceScope(indicator, scopes.join(' '))
        }
        const saved = await grant.save()
        return provider.interactionFinished(req, res, grantId !== undefined ? {} : { consent: { grantId: saved } }, { mergeWithLastSubmission: true })
      }
      return page(res, 400, 'Error', '<p>unexpected step</p>')
    } catch (err) {
      if (!res.headersSent) page(res, 500, 'Error', `<p>${escape(err instanceof Error ? err.message : String(err))}</p>`)
    }
  }
}
