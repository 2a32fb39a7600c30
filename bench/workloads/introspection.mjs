// Workload: a resource server introspects one valid opaque token of another client, over and over.
import { AUTHORIZATION, CLIENT_ID, RS_AUTHORIZATION, RS_CLIENT_ID, SCOPE } from '../common.mjs'
import { cannon, post } from '../load.mjs'
import { ccRequest } from './client-credentials.mjs'

const RS_WRONG_AUTHORIZATION = `Basic ${Buffer.from(`${RS_CLIENT_ID}:not-the-secret`).toString('base64')}`

/**
 * Checked first: the answer is active with the token's client and scope, a wrong secret gets 401,
 * and an unknown token is inactive.
 */
export async function introspection(port, srv) {
  const cc = ccRequest(srv, 'opaque')
  const issued = await post(port, srv.tokenPath, AUTHORIZATION, cc.body)
  const problem = cc.check(issued.status, issued.body)
  if (problem !== null) return { problem: `issuing the token: ${problem}` }
  const body = `token=${encodeURIComponent(JSON.parse(issued.body).access_token)}`
  const answer = await post(port, srv.introspectPath, RS_AUTHORIZATION, body)
  let parsed
  try {
    parsed = JSON.parse(answer.body)
  } catch {
    return { problem: `introspection answered ${answer.status} ${answer.body.slice(0, 200)}` }
  }
  if (answer.status !== 200 || parsed.active !== true || parsed.client_id !== CLIENT_ID || parsed.scope !== SCOPE) {
    return { problem: `introspection answered ${answer.status} ${answer.body.slice(0, 200)}` }
  }
  const denied = await post(port, srv.introspectPath, RS_WRONG_AUTHORIZATION, body)
  if (denied.status !== 401) return { problem: `introspection with a wrong secret got ${denied.status}, not 401` }
  const unknown = await post(port, srv.introspectPath, RS_AUTHORIZATION, `token=${'A'.repeat(43)}`)
  if (unknown.status !== 200 || JSON.parse(unknown.body).active !== false) return { problem: `an unknown token got ${unknown.status} ${unknown.body.slice(0, 200)}` }
  return { run: (seconds, record) => cannon(port, { path: srv.introspectPath, authorization: RS_AUTHORIZATION, body }, seconds, record) }
}
