// Workload: token requests while the login page is flooded. A client_credentials load (as the
// client_credentials rows: autocannon, BENCH_CONNECTIONS connections, checked answers) runs while a second
// autocannon instance POSTs wrong passwords to the built-in login page as fast as it answers
// (BENCH_FLOOD_CONNECTIONS connections, 32 by default), from before the warm-up to the end of the measurement. Every failed login costs the server one Argon2id
// check; the server's password throttle is off in the benchmark's options (as for a guesser spread over
// many addresses and names), so only the bound on concurrent checks (passwordHashing) protects the token
// endpoint. The row's rate and latencies are the token requests'; the flood's answers are counted apart:
// 401 (the login page with "wrong password") and 503 (refused by the bound, with Retry-After) are what a
// flood should get, anything else is a problem.
import autocannon from 'autocannon'
import http from 'node:http'
import { AUTHORIZATION, FORM_CONTENT_TYPE, PASSWORD, WEB_CLIENT_ID, WEB_REDIRECT_URI } from '../common.mjs'
import { fillForm, request } from '../flows.mjs'
import { cannon } from '../load.mjs'
import { ccRequest } from './client-credentials.mjs'
import { DURATION, FLOOD_CONNECTIONS, WARMUP } from '../settings.mjs'

/** A login form of the server, ready to be POSTed with a wrong password: { path, cookie, body }. */
async function loginTarget(port, srv) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  try {
    const query = new URLSearchParams({ response_type: 'code', client_id: WEB_CLIENT_ID, redirect_uri: WEB_REDIRECT_URI, scope: 'api:read', state: 'flood', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' })
    const cookies = new Map()
    const keep = (res) => {
      for (const line of res.headers['set-cookie'] ?? []) {
        const [pair] = line.split(';')
        const eq = pair.indexOf('=')
        cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim())
      }
      return res
    }
    const cookie = () => [...cookies].map(([k, v]) => `${k}=${v}`).join('; ')
    let path = `${srv.authorizePath}?${query}`
    let res = keep(await request(agent, port, 'GET', path, {}))
    for (let hop = 0; res.status >= 300 && res.status < 400 && hop < 5; hop++) {
      const u = new URL(res.headers.location, `http://127.0.0.1${path}`)
      path = u.pathname + u.search
      res = keep(await request(agent, port, 'GET', path, { cookie: cookie() }))
    }
    const form = res.status === 200 ? fillForm(res.body) : null
    if (form === null || !form.body.includes(encodeURIComponent(PASSWORD))) throw new Error(`no login form (status ${res.status} at ${path.split('?')[0]})`)
    const action = new URL(form.action, `http://127.0.0.1${path}`)
    return { path: action.pathname + action.search, cookie: cookie(), body: form.body.replace(encodeURIComponent(PASSWORD), 'not-the-password') }
  } finally {
    agent.destroy()
  }
}

/** Checks the token answer and the flood's first answer, then returns the load: tokens measured, logins flooded. */
export async function loginFlood(port, srv, row) {
  const cc = ccRequest(srv, 'opaque')
  let target
  try {
    target = await loginTarget(port, srv)
  } catch (err) {
    return { problem: `login flood: ${err.message}` }
  }
  const headers = { 'content-type': FORM_CONTENT_TYPE, cookie: target.cookie }
  const wrong = await request(new http.Agent({ keepAlive: false }), port, 'POST', target.path, headers, target.body)
  if (wrong.status !== 401) return { problem: `a wrong password on the login page got ${wrong.status}, not 401` }
  // One flood for the warm-up and the measurement: stopping it in between would leave the server's queue
  // full of checks for closed connections, and the measurement would begin against a queue the flood no longer fills.
  let flooder
  let flood
  const startFlood = () => {
    flooder = autocannon({ url: `http://127.0.0.1:${port}${target.path}`, method: 'POST', headers, body: target.body, connections: FLOOD_CONNECTIONS, duration: WARMUP + DURATION + 10, timeout: 10 })
    flooder.on('response', (_client, status) => {
      flood.answers++
      if (status === 401) flood.wrong++
      else if (status === 503) flood.busy++
      else {
        flood.other++
        flood.firstOther ??= `login flood got ${status}`
      }
    })
  }
  return {
    run: async (seconds, record) => {
      flood = { answers: 0, wrong: 0, busy: 0, other: 0, firstOther: undefined }
      if (flooder === undefined) {
        startFlood()
        // The flood first, so that the token requests meet a server that is already flooded.
        await new Promise((resolve) => setTimeout(resolve, 300))
        flood = { answers: 0, wrong: 0, busy: 0, other: 0, firstOther: undefined }
      }
      try {
        const r = await cannon(port, { path: srv.tokenPath, authorization: AUTHORIZATION, body: cc.body }, seconds, record)
        return { ...r, non2xx: r.non2xx + flood.other, firstError: r.firstError ?? flood.firstOther, extra: { flood: { ...flood, perSecond: flood.answers / r.elapsed } } }
      } finally {
        // The measured run is the last one.
        if (record) flooder.stop()
      }
    },
  }
}
