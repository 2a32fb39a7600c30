import type { ClientStore, StoredClientRecord } from './types.js'
import { compareClientIds } from './policy.js'

/**
 * Clients in process memory. Records are copied in and out, so a caller that
 * changes what it got (or gave) cannot change the stored client behind the
 * store's back, as it could not with a database.
 */
export class MemoryClients implements ClientStore {
  private readonly records = new Map<string, StoredClientRecord>()

  async create(record: StoredClientRecord): Promise<boolean> {
    if (this.records.has(record.clientId)) return false
    this.records.set(record.clientId, structuredClone(record))
    return true
  }

  async get(clientId: string): Promise<StoredClientRecord | null> {
    const r = this.records.get(clientId)
    return r === undefined ? null : structuredClone(r)
  }

  async update(record: StoredClientRecord, expectedVersion: number): Promise<boolean> {
    // No await between the read and the write: the compare-and-swap is atomic in one process.
    const current = this.records.get(record.clientId)
    if (current === undefined || current.version !== expectedVersion) return false
    this.records.set(record.clientId, structuredClone(record))
    return true
  }

  async delete(clientId: string): Promise<boolean> {
    return this.records.delete(clientId)
  }

  async list(page: { after?: string; limit: number }): Promise<StoredClientRecord[]> {
    const after = page.after
    return [...this.records.values()]
      .filter((r) => after === undefined || compareClientIds(r.clientId, after) > 0)
      .sort((a, b) => compareClientIds(a.clientId, b.clientId))
      .slice(0, page.limit)
      .map((r) => structuredClone(r))
  }
}
