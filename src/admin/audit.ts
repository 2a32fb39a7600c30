import type { ServerContext } from '../context.js'
import type { GrantkitEventOf } from '../events/events.js'

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
