import { StorageUnavailableError } from '../errors.js'
import { isLive } from './policy.js'

/**
 * Records by expiry: a binary min-heap of (expiresAt, slot, generation) in
 * typed arrays, so it holds no object per record for the garbage collector to
 * trace. An entry is stale, and dropped when it reaches the top, once its slot
 * was freed, reused or given another expiry.
 */
class ExpiryHeap {
  size = 0
  private at = new Float64Array(64)
  private slots = new Uint32Array(64)
  private gens = new Uint32Array(64)

  push(at: number, slot: number, gen: number): void {
    if (this.size === this.at.length) this.grow()
    let i = this.size++
    // Sift up. Records of one kind mostly share a lifetime, so a new entry is
    // usually the latest and stops at once.
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (this.at[parent]! <= at) break
      this.move(parent, i)
      i = parent
    }
    this.at[i] = at
    this.slots[i] = slot
    this.gens[i] = gen
  }

  topAt(): number {
    return this.at[0]!
  }
  topSlot(): number {
    return this.slots[0]!
  }
  topGen(): number {
    return this.gens[0]!
  }

  pop(): void {
    const last = --this.size
    if (last === 0) return
    const at = this.at[last]!
    const slot = this.slots[last]!
    const gen = this.gens[last]!
    let i = 0
    for (;;) {
      let child = 2 * i + 1
      if (child >= last) break
      if (child + 1 < last && this.at[child + 1]! < this.at[child]!) child++
      if (this.at[child]! >= at) break
      this.move(child, i)
      i = child
    }
    this.at[i] = at
    this.slots[i] = slot
    this.gens[i] = gen
  }

  private move(from: number, to: number): void {
    this.at[to] = this.at[from]!
    this.slots[to] = this.slots[from]!
    this.gens[to] = this.gens[from]!
  }

  private grow(): void {
    const n = this.at.length * 2
    const at = new Float64Array(n)
    at.set(this.at)
    const slots = new Uint32Array(n)
    slots.set(this.slots)
    const gens = new Uint32Array(n)
    gens.set(this.gens)
    this.at = at
    this.slots = slots
    this.gens = gens
  }
}

/**
 * The bound on the records of one memory storage (`maxRecords`), shared by its
 * stores. What goes when it is full is decided here, once.
 */
export class RecordBudget {
  count = 0
  private readonly evictable: ExpiringMap<unknown>[] = []
  private readonly all: ExpiringMap<unknown>[] = []
  constructor(readonly max: number) {}

  register(map: ExpiringMap<unknown>, evictable: boolean): void {
    this.all.push(map)
    if (evictable) this.evictable.push(map)
  }

  /**
   * Makes room for `n` new records. Expired records go first; then, one at a
   * time, the live record that expires soonest among those whose loss only
   * fails closed (a token or code that stops working, a sign-in or consent
   * asked again). Markers that keep something dead or detect a replay are
   * never given up. When only they are left, the write is refused, and the
   * endpoint answers 503 without issuing anything.
   *
   * @throws StorageUnavailableError when no room can be made
   */
  reserve(n: number, always = false): void {
    if (this.count + n <= this.max) return
    for (const map of this.all) map.sweep(Number.POSITIVE_INFINITY)
    while (this.count + n > this.max) {
      let best: ExpiringMap<unknown> | undefined
      let bestAt = Number.POSITIVE_INFINITY
      for (const map of this.evictable) {
        const at = map.soonestEvictable()
        if (at < bestAt) {
          bestAt = at
          best = map
        }
      }
      if (best === undefined) {
        // A revocation is stored whatever the bound: refusing it would keep a token alive.
        if (always) return
        throw new StorageUnavailableError(`memory storage is full: maxRecords (${this.max}) records, none of which may be given up`)
      }
      best.evictSoonest()
    }
  }
}

/**
 * A map whose entries vanish at their expiry. Reads never return an expired
 * entry. Records live in slots: the key's slot number in a `Map`, the value
 * and the expiry in columns, and the expiry again in heaps, from which each
 * write removes a few expired records (so memory stays bounded without a
 * timer per record, and without walking live ones).
 *
 * A record may be *kept* (`keep`): a marker whose loss would matter, such as a
 * rotated refresh token that detects reuse. Kept records are never evicted by
 * the budget; they still expire.
 */
export class ExpiringMap<V> {
  private readonly index = new Map<string, number>()
  private keys: (string | undefined)[] = []
  private values: (V | undefined)[] = []
  private expires = new Float64Array(16)
  private gens = new Uint32Array(16)
  private kept = new Uint8Array(16)
  private free: number[] = []
  /** Records the budget may evict, by expiry. */
  private readonly evictHeap = new ExpiryHeap()
  /** Records it may not: kept ones, or every record of a map that is not evictable. */
  private readonly keepHeap = new ExpiryHeap()

  /**
   * @param budget the storage's bound, when it has one; a map without it (an index of another map) is not counted
   * @param kind what the budget may do with this map's records when it is full: `evictable` records may go
   *   (unless kept); `refusable` ones stay, and a new one is refused; `always` ones stay, and a new one is
   *   stored even past the bound (revocations)
   */
  constructor(
    private readonly now: () => number,
    private readonly budget?: RecordBudget,
    private readonly kind: 'evictable' | 'refusable' | 'always' = 'refusable',
  ) {
    this.evictable = kind === 'evictable'
    budget?.register(this as ExpiringMap<unknown>, this.evictable)
  }
  private readonly evictable: boolean

  get size(): number {
    return this.index.size
  }

  get(key: string): V | undefined {
    const slot = this.index.get(key)
    if (slot === undefined) return undefined
    if (!isLive(this.expires[slot]!, this.now())) {
      this.remove(slot)
      return undefined
    }
    return this.values[slot]
  }

  /** Expiry of the record of `key` (seconds since the epoch), NaN when there is none. */
  expiresAt(key: string): number {
    const slot = this.index.get(key)
    return slot === undefined ? Number.NaN : this.expires[slot]!
  }

  /** Whether the live record of `key` is kept (see `keep`). */
  isKept(key: string): boolean {
    const slot = this.index.get(key)
    return slot !== undefined && this.kept[slot] === 1
  }

  /**
   * Stores `value` under `key` until `expiresAt`. A new key takes room from
   * the budget, which may evict another record or refuse.
   *
   * @throws StorageUnavailableError when the storage is full (see `RecordBudget.reserve`)
   */
  set(key: string, value: V, expiresAt: number): void {
    // A few expired records go with every write: the heaps shrink faster than they grow.
    this.sweep(4)
    let slot = this.index.get(key)
    if (slot === undefined) {
      this.budget?.reserve(1, this.kind === 'always')
      slot = this.allocate(key)
      this.values[slot] = value
      this.expires[slot] = expiresAt
      this.kept[slot] = 0
      this.schedule(slot)
      return
    }
    this.values[slot] = value
    // A record saved again starts afresh: not kept, with the expiry given.
    const wasKept = this.kept[slot] === 1
    this.kept[slot] = 0
    if (wasKept || this.expires[slot] !== expiresAt) {
      this.expires[slot] = expiresAt
      this.schedule(slot)
    }
  }

  /** Like set, but an existing live entry keeps its expiry when that is later. */
  setAtLeast(key: string, value: V, expiresAt: number): void {
    const slot = this.index.get(key)
    const current = slot === undefined || !isLive(this.expires[slot]!, this.now()) ? undefined : this.expires[slot]!
    this.set(key, value, current !== undefined && current > expiresAt ? current : expiresAt)
  }

  /** Marks a live record as kept (`true`) or not; the budget never evicts a kept record. */
  keep(key: string, kept: boolean): void {
    const slot = this.index.get(key)
    if (slot === undefined || (this.kept[slot] === 1) === kept) return
    this.kept[slot] = kept ? 1 : 0
    // The entry in the other heap is now stale; the record is scheduled in the right one.
    this.schedule(slot)
  }

  delete(key: string): boolean {
    const slot = this.index.get(key)
    if (slot === undefined) return false
    this.remove(slot)
    return true
  }

  /** Live entries whose key passes `match`: a walk of the whole map, for rare admin listings. */
  *matching(match: (key: string) => boolean): Generator<[string, V, number]> {
    const now = this.now()
    for (const [key, slot] of this.index) if (isLive(this.expires[slot]!, now) && match(key)) yield [key, this.values[slot]!, this.expires[slot]!]
  }

  /** Removes up to `limit` expired records (and the stale heap entries in their way). */
  sweep(limit: number): void {
    if (this.index.size === 0) return
    const now = this.now()
    limit = this.sweepHeap(this.evictHeap, now, limit, true)
    if (limit > 0) this.sweepHeap(this.keepHeap, now, limit, false)
  }

  /** Expiry of the record the budget would evict here: the soonest-expiring one not kept; Infinity when none. */
  soonestEvictable(): number {
    const heap = this.evictHeap
    while (heap.size > 0 && !this.current(heap, true)) heap.pop()
    return heap.size > 0 ? heap.topAt() : Number.POSITIVE_INFINITY
  }

  /** Evicts the record `soonestEvictable` named. */
  evictSoonest(): void {
    if (this.soonestEvictable() === Number.POSITIVE_INFINITY) return
    const slot = this.evictHeap.topSlot()
    this.evictHeap.pop()
    this.remove(slot)
  }

  private sweepHeap(heap: ExpiryHeap, now: number, limit: number, evictable: boolean): number {
    while (limit > 0 && heap.size > 0) {
      if (!this.current(heap, evictable)) {
        heap.pop()
        continue
      }
      if (isLive(heap.topAt(), now)) break
      const slot = heap.topSlot()
      heap.pop()
      this.remove(slot)
      limit--
    }
    return limit
  }

  /** Whether the heap's top entry still describes its record: same slot use, same expiry, right heap. */
  private current(heap: ExpiryHeap, evictable: boolean): boolean {
    const slot = heap.topSlot()
    return this.keys[slot] !== undefined && this.gens[slot] === heap.topGen() && this.expires[slot] === heap.topAt() && this.evictableSlot(slot) === evictable
  }

  private evictableSlot(slot: number): boolean {
    return this.evictable && this.kept[slot] === 0
  }

  private schedule(slot: number): void {
    ;(this.evictableSlot(slot) ? this.evictHeap : this.keepHeap).push(this.expires[slot]!, slot, this.gens[slot]!)
  }

  private allocate(key: string): number {
    let slot = this.free.pop()
    if (slot === undefined) {
      slot = this.keys.length
      if (slot === this.expires.length) this.grow()
      this.keys.push(key)
      this.values.push(undefined)
    } else this.keys[slot] = key
    this.index.set(key, slot)
    if (this.budget !== undefined) this.budget.count++
    return slot
  }

  private remove(slot: number): void {
    this.index.delete(this.keys[slot]!)
    this.keys[slot] = undefined
    this.values[slot] = undefined
    // Any heap entry for the old use of the slot is stale from now on.
    this.gens[slot] = (this.gens[slot]! + 1) >>> 0
    this.free.push(slot)
    if (this.budget !== undefined) this.budget.count--
  }

  private grow(): void {
    const n = this.expires.length * 2
    const expires = new Float64Array(n)
    expires.set(this.expires)
    const gens = new Uint32Array(n)
    gens.set(this.gens)
    const kept = new Uint8Array(n)
    kept.set(this.kept)
    this.expires = expires
    this.gens = gens
    this.kept = kept
  }
}
