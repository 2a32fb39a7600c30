// Workload: client_credentials token requests with client_secret_basic.
import { AUTHORIZATION, WRONG_AUTHORIZATION, checkTokenResponse } from '../common.mjs'
import { cannon, post } from '../load.mjs'

/** The client_credentials request of a server for a token format, and the check of its answer. */
export function ccRequest(srv, format) {
  return { body: srv.cc[format], check: (status, text) => checkTokenResponse(format, status, text, { opaque: srv.opaque }) }
}

/**
 * Checks the server's answer in full (a problem string stops the row), then returns the load. A wrong
 * secret must get 401 (raw servers excepted): a server that answers 200 to anyone is not doing the work.
 */
export async function clientCredentials(port, srv, row) {
  const cc = ccRequest(srv, row.format)
  const ok = await post(port, srv.tokenPath, AUTHORIZATION, cc.body)
  const problem = cc.check(ok.status, ok.body)
  if (problem !== null) return { problem }
  if (srv.peer !== 'raw') {
    const denied = await post(port, srv.tokenPath, WRONG_AUTHORIZATION, cc.body)
    if (denied.status !== 401) return { problem: `a wrong client secret got ${denied.status}, not 401` }
  }
  return { run: (seconds, record) => cannon(port, { path: srv.tokenPath, authorization: AUTHORIZATION, body: cc.body }, seconds, record) }
}
