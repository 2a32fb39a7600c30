import type { ClientStore, StoredClientRecord } from '../types.js'
import { decodeRecord, encodeRecord } from '../codec.js'
import type { RedisContext } from './stores.js'

/**
 * Stored clients in Redis: a hash per client (`client:<id>`: `v` the version,
 * `r` the record as JSON) and a sorted set of every id (`clients:index`, all
 * scores 0), which ZRANGEBYLEX pages in byte order, the code-point order of
 * UTF-8. Clients have no TTL: they live until deleted. Create, update and
 * delete are one script each, so the index and the hashes never disagree.
 * New key kinds under the prefix; the layout of existing keys is unchanged.
 */
export class RedisClients implements ClientStore {
  constructor(private readonly ctx: RedisContext) {}

  // On a cluster every client shares the tag {clients} with the index: create
  // and delete change both in one script, and list reads them in one pipeline.
  private key(clientId: string): string {
    return this.ctx.key('client', clientId, 'clients')
  }

  private get index(): string {
    return this.ctx.key('clients', 'index', 'clients')
  }

  async create(record: StoredClientRecord): Promise<boolean> {
    const r = await this.ctx.conn.run('clients.create', () =>
      this.ctx.script('createClient', [this.key(record.clientId), this.index], [record.clientId, record.version, encodeRecord(record)]),
    )
    return r === 1
  }

  async get(clientId: string): Promise<StoredClientRecord | null> {
    const json = await this.ctx.conn.run('clients.get', () => this.ctx.client.hget(this.key(clientId), 'r'))
    return json === null ? null : decodeRecord<StoredClientRecord>('client', json)
  }

  async update(record: StoredClientRecord, expectedVersion: number): Promise<boolean> {
    const r = await this.ctx.conn.run('clients.update', () =>
      this.ctx.script('updateClient', [this.key(record.clientId)], [expectedVersion, record.version, encodeRecord(record)]),
    )
    return r === 1
  }

  async delete(clientId: string): Promise<boolean> {
    const r = await this.ctx.conn.run('clients.delete', () => this.ctx.script('deleteClient', [this.key(clientId), this.index], [clientId]))
    return r === 1
  }

  async list(page: { after?: string; limit: number }): Promise<StoredClientRecord[]> {
    const from = page.after === undefined ? '-' : `(${page.after}`
    const ids = await this.ctx.conn.run('clients.list', () => this.ctx.client.zrangebylex(this.index, from, '+', 'LIMIT', 0, page.limit))
    if (ids.length === 0) return []
    const values = await this.ctx.conn.run('clients.list', () => {
      const pipeline = this.ctx.client.pipeline()
      for (const id of ids) pipeline.hget(this.key(id), 'r')
      return pipeline.exec()
    })
    const out: StoredClientRecord[] = []
    for (const [err, json] of values ?? []) {
      if (err !== null) throw err
      // A client deleted between the two reads is left out, as if listed a moment later.
      if (typeof json === 'string') out.push(decodeRecord<StoredClientRecord>('client', json))
    }
    return out
  }
}
