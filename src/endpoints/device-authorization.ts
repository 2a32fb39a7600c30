import { authenticateClient, CLIENT_AUTH_PARAMETERS } from '../clients/authenticate.js'
import type { ServerContext } from '../context.js'
import { hashToken } from '../crypto/random.js'
import { generateUserCode, normalizeUserCode } from '../device/user-code.js'
import { OAuthError } from '../errors.js'
import { DEVICE_CODE_GRANT } from '../grants/device-code.js'
import { jsonNoStore } from '../http/response.js'
import type { GrantkitRequest, GrantkitResponse } from '../http/types.js'
import { resolveScope } from '../tokens/scope.js'
import { readFormBody } from './form-body.js'
import { requireStore } from '../storage/features.js'
import { pickParameters } from './revocation.js'

const PARAMETERS = new Set(['scope', ...CLIENT_AUTH_PARAMETERS])

/**
 * The device authorization endpoint (RFC 8628 §3.1, §3.2): a device asks for
 * a device code to poll with and a user code for the person to enter.
 */
export async function deviceAuthorizationEndpoint(ctx: ServerContext, req: GrantkitRequest): Promise<GrantkitResponse> {
  const params = pickParameters(readFormBody(ctx, req), PARAMETERS)
  const { client } = await authenticateClient(ctx, req, params, ctx.endpoints.deviceAuthorization)
  if (!client.grantTypes.has(DEVICE_CODE_GRANT)) throw new OAuthError('unauthorized_client', { detail: `client ${client.id} is not registered for the device grant` })
  const scope = resolveScope(ctx.scopes, client, params.get('scope'))
  const now = Math.floor(ctx.now())
  const deviceCode = ctx.randomToken()
  const userCode = generateUserCode()
  const expiresIn = ctx.ttl.deviceCode
  await requireStore(ctx.storage, 'deviceCodes', 'the device flow').save({
    deviceCodeHash: hashToken(deviceCode),
    userCodeHash: hashToken(normalizeUserCode(userCode)!),
    clientId: client.id,
    scope,
    interval: ctx.deviceFlow.interval,
    issuedAt: now,
    expiresAt: now + expiresIn,
    status: 'pending',
  })
  return jsonNoStore(200, {
    device_code: deviceCode,
    user_code: userCode,
    verification_uri: ctx.endpoints.deviceVerification,
    verification_uri_complete: `${ctx.endpoints.deviceVerification}?user_code=${userCode}`,
    expires_in: expiresIn,
    interval: ctx.deviceFlow.interval,
  })
}
