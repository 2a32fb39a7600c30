// Workload: refresh_token with rotation, chained.
import { FLOW_SCOPE, WEB_AUTHORIZATION, WEB_CLIENT_ID, checkTokenResponse } from '../common.mjs'
import { issueRefreshTokens } from '../flows.mjs'
import { cannon, post } from '../load.mjs'
import { CONNECTIONS } from '../settings.mjs'

const refreshBody = (token) => `grant_type=refresh_token&refresh_token=${encodeURIComponent(token)}`

/**
 * Each connection starts from a refresh token of its own (one code flow each, issued just before the
 * warm-up and again just before the measurement, outside the measured time) and sends, every time, the
 * refresh token of its previous answer. A chain cut at the end of the warm-up (its last answer never
 * read) is therefore never continued. Issuing just before matters for node-oidc-provider, whose
 * in-memory adapter (an LRU of 1,000 entries) forgets an unused token after about a thousand newer
 * writes. Checked first: a refresh answers a new refresh token, and the old one, used again, is refused
 * (the rotation is real).
 */
export async function refresh(port, srv) {
  let first
  try {
    ;[first] = await issueRefreshTokens(port, srv, 1)
  } catch (err) {
    return { problem: `issuing a refresh token through the code flow: ${err.message}` }
  }
  const rotated = await post(port, srv.tokenPath, WEB_AUTHORIZATION, refreshBody(first))
  const problem = checkTokenResponse('opaque', rotated.status, rotated.body, { opaque: srv.opaque, scope: FLOW_SCOPE, clientId: WEB_CLIENT_ID, refresh: true })
  if (problem !== null) return { problem: `refresh: ${problem}` }
  if (JSON.parse(rotated.body).refresh_token === first) return { problem: 'the refresh token was not rotated' }
  const reused = await post(port, srv.tokenPath, WEB_AUTHORIZATION, refreshBody(first))
  if (reused.status !== 400) return { problem: `a rotated-away refresh token got ${reused.status}, not 400` }
  let chains = []
  return {
    // Outside the measured window: one code flow per connection.
    before: async () => {
      chains = await issueRefreshTokens(port, srv, CONNECTIONS)
    },
    run: async (seconds, record) => {
      const failures = { broken: 0, firstError: undefined }
      const r = await cannon(port, { path: srv.tokenPath, authorization: WEB_AUTHORIZATION, body: refreshBody(chains[0]), setupClient: chainClient(chains, failures) }, seconds, record)
      r.errors += failures.broken
      r.firstError = failures.firstError
      return r
    },
  }
}

/** autocannon's setupClient for refresh chains: every connection takes a token and follows its answers. */
function chainClient(chains, failures) {
  return (client) => {
    const state = { token: chains.pop() }
    client.setRequests([
      {
        method: 'POST',
        setupRequest(req) {
          req.body = refreshBody(state.token ?? 'no-token-left')
          return req
        },
        onResponse(status, body) {
          if (status !== 200) {
            // Counted as non-2xx; the answer says why.
            failures.firstError ??= `${status} ${String(body).slice(0, 200)}`
            return
          }
          try {
            state.token = JSON.parse(body).refresh_token
          } catch {
            failures.broken++
          }
        },
      },
    ])
  }
}
