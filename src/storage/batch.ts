import { StorageUnavailableError } from '../errors.js'

/**
 * How many statements of one kind may run at once before calls wait for the
 * next batch. One: in `npm run bench` (20 connections, one core for the
 * server), PostgreSQL storage with one in flight gave 0.57–0.61 of memory
 * storage's client_credentials rate and 0.59–0.90 of its introspection rate,
 * two gave 0.50–0.54 and 0.49–0.50, four 0.45 and 0.38; unbatched it was 0.23
 * and 0.33.
 */
export const BATCH_IN_FLIGHT = 1

/** The most calls one statement carries. */
export const BATCH_MAX_SIZE = 64

interface Waiting<I, O> {
  item: I
  /** When the call was made (ms since the epoch): its deadline runs from here, not from when its batch is sent. */
  since: number
  resolve: (value: O) => void
  reject: (reason: unknown) => void
}

/**
 * Runs concurrent calls of one kind (saving an access token, reading one) as
 * few statements (PostgreSQL) or scripts (Redis). While fewer than `inFlight`
 * of this kind are running, a call is sent at once, alone when nothing waits:
 * at low load nothing is delayed. Past that, calls wait, and the next
 * statement carries every waiting call (up to `maxSize`). At saturation a
 * statement then carries many rows, and the fixed cost per statement is paid
 * once for all of them: PostgreSQL's bind, snapshot, commit and WAL flush
 * (with 20 concurrent callers, batches of 8 inserts gave 2.7× the rows per
 * second of single ones, at half the client CPU per row).
 *
 * Each call keeps its deadline: one that waits past it fails then with
 * StorageUnavailableError and is never sent (a timer for the oldest waiting
 * call, even while the statement ahead is stuck), and the statement of a
 * batch must finish within the deadline of its oldest call. A batch that
 * fails for any reason other than an unavailable database is retried call by
 * call, so that one bad row fails only its own call.
 */
export class StatementBatcher<I, O> {
  private readonly waiting: Waiting<I, O>[] = []
  private running = 0

  /**
   * @param execute runs one statement for `items`, answering in their order,
   *   finished before `deadline` (ms since the epoch)
   */
  constructor(
    private readonly execute: (items: I[], deadline: number) => Promise<O[]>,
    private readonly timeoutMs: number,
    /** Names the storage in errors: `postgres`, `redis`. */
    private readonly storage: string,
    private readonly inFlight = BATCH_IN_FLIGHT,
    private readonly maxSize = BATCH_MAX_SIZE,
  ) {}

  run(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ item, since: Date.now(), resolve, reject })
      if (this.running < this.inFlight) this.sendNext()
      else this.expiry ??= this.armExpiry()
    })
  }

  /** Fails the waiting calls at their deadlines, even while the statement ahead of them is stuck. */
  private expiry: NodeJS.Timeout | undefined

  private armExpiry(): NodeJS.Timeout | undefined {
    if (this.waiting.length === 0) return undefined
    const timer = setTimeout(() => {
      this.expiry = undefined
      this.dropExpired()
      this.expiry = this.armExpiry()
    }, Math.max(0, this.waiting[0]!.since + this.timeoutMs - Date.now()))
    timer.unref?.()
    return timer
  }

  /** Oldest first: a call that already waited its whole deadline is not sent at all. */
  private dropExpired(): void {
    const now = Date.now()
    while (this.waiting.length > 0 && now - this.waiting[0]!.since >= this.timeoutMs) {
      this.waiting.shift()!.reject(new StorageUnavailableError(`${this.storage}: no answer within ${this.timeoutMs} ms (waiting for a batch)`))
    }
  }

  private sendNext(): void {
    this.dropExpired()
    if (this.waiting.length === 0) return
    const batch = this.waiting.splice(0, this.maxSize)
    if (this.waiting.length === 0 && this.expiry !== undefined) {
      clearTimeout(this.expiry)
      this.expiry = undefined
    }
    const deadline = batch[0]!.since + this.timeoutMs
    this.running++
    this.execute(
      batch.map((w) => w.item),
      deadline,
    ).then(
      (results) => {
        for (let i = 0; i < batch.length; i++) batch[i]!.resolve(results[i]!)
        this.done()
      },
      (err: unknown) => {
        if (batch.length === 1 || err instanceof StorageUnavailableError) for (const w of batch) w.reject(err)
        // One statement for every call failed on something one row may hold: each call on its own finds
        // out which, in the order they were made (two saves of one token: the later one stays).
        else void this.oneByOne(batch, deadline)
        this.done()
      },
    )
  }

  private async oneByOne(batch: Waiting<I, O>[], deadline: number): Promise<void> {
    for (const w of batch) {
      try {
        w.resolve((await this.execute([w.item], deadline))[0]!)
      } catch (err) {
        w.reject(err)
      }
    }
  }

  private done(): void {
    this.running--
    if (this.waiting.length > 0) this.sendNext()
  }
}
