import type { EventHub, GrantkitEventOf } from '../../events/events.js'
import type { AuditEventStore } from '../../storage/types.js'

/** Seconds an audit event is kept in the storage's `auditEvents` store: 90 days. */
export const AUDIT_RETENTION = 90 * 86_400

/** One `admin.audit` event as the console shows it. */
export type AuditEntry = GrantkitEventOf<'admin.audit'>

/** What the audit page lists, and where it comes from. */
export interface RecentAudit {
  events: AuditEntry[]
  /** True: from the storage's `auditEvents` store (every process, across restarts); false: what this process saw since it started. */
  shared: boolean
}

/**
 * The audit events the console shows. Every `admin.audit` event the server
 * emits (admin API, console, CLI through the same context) is appended to the
 * storage's `auditEvents` store when it has one, and kept in a bounded ring
 * of this process otherwise.
 */
export class AuditTrail {
  private readonly ring: AuditEntry[] = []

  constructor(
    private readonly store: AuditEventStore | undefined,
    private readonly capacity: number,
    /** Seconds an event is kept in the store. */
    private readonly retention: number,
  ) {}

  /** Listens to `events` for audit events. */
  attach(events: EventHub): void {
    events.on('admin.audit', (event) => this.record(event))
  }

  record(event: AuditEntry): void {
    if (this.store !== undefined) {
      // Fire and forget: an audit write must not fail the change it describes. A lost write shows as a gap, not an error.
      this.store.append(event, Math.floor(event.timestamp / 1000) + this.retention).catch(() => undefined)
      return
    }
    this.ring.push(event)
    if (this.ring.length > this.capacity) this.ring.splice(0, this.ring.length - this.capacity)
  }

  /** The newest events first, at most `limit`. */
  async recent(limit: number): Promise<RecentAudit> {
    if (this.store !== undefined) return { events: await this.store.recent(limit), shared: true }
    return { events: this.ring.slice(-limit).reverse(), shared: false }
  }
}
