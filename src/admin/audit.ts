import { ClientManagementError } from '../clients/manager.js'
import type { ServerContext } from '../context.js'
import type { GrantkitEventOf } from '../events/events.js'
import { AdminError } from './http.js'

/** Who made a change: a caller of the admin API, or an operator at the CLI. */
export type AuditActor = GrantkitEventOf<'admin.audit'>['actor']

/** What one audited change says besides who made it. Never a secret, token or code. */
export interface AuditRecord {
  action: string
  target: Record<string, string>
  outcome: 'success' | 'failure'
  error?: string
}

/** Emits the `admin.audit` event of one change, stamped with the request id. */
export function audit(ctx: Pick<ServerContext, 'events'>, actor: AuditActor, record: AuditRecord, requestId?: string): void {
  ctx.events.emit({ type: 'admin.audit', actor, ...record }, requestId)
}

/**
 * Runs one change and emits its `admin.audit` event: success, or failure
 * with the code of the refusal (`code` of an AdminError or a
 * ClientManagementError). The admin API and the console both go through it,
 * so a change is audited the same way whoever made it.
 *
 * @example
 * await audited(ctx, actor, 'client.delete', { clientId }, req.requestId, () => ctx.clientManager.delete(clientId))
 */
export async function audited<T>(
  ctx: Pick<ServerContext, 'events'>,
  actor: AuditActor,
  action: string,
  target: Record<string, string>,
  requestId: string | undefined,
  change: () => Promise<T>,
): Promise<T> {
  try {
    const out = await change()
    audit(ctx, actor, { action, target, outcome: 'success' }, requestId)
    return out
  } catch (err) {
    const code = err instanceof AdminError || err instanceof ClientManagementError ? err.code : undefined
    audit(ctx, actor, { action, target, outcome: 'failure', ...(code !== undefined && { error: code }) }, requestId)
    throw err
  }
}
