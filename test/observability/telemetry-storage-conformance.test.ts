import { createMemoryStorage } from '../../src/index.js'
import { createMemoryKeyStorage } from '../../src/keys/shared-key-store.js'
import { createTelemetry } from '../../src/observability/telemetry.js'
import { instrumentStorage } from '../../src/observability/telemetry-storage.js'
import { createPostgresStorage } from '../../src/storage/postgres/index.js'
import { runStorageConformance } from '../../src/testing/storage-conformance.js'
import { fakeClock } from '../helpers.js'
import { describePostgres, pgTables } from '../storage/pg-harness.js'
import { memoryTelemetry } from './otel-harness.js'

// The instrumented storage must keep every guarantee of the storage it wraps:
// one-time operations stay atomic, records and errors pass through unchanged,
// for plain-object stores (memory) and class-based ones with `this` (PostgreSQL).
const otel = memoryTelemetry()
const telemetry = createTelemetry({ tracerProvider: otel.tracerProvider, meterProvider: otel.meterProvider })!

runStorageConformance('memory, instrumented', () => {
  const clock = fakeClock()
  const storage = { ...createMemoryStorage({ now: clock.now }), keys: createMemoryKeyStorage({ now: clock.now }) }
  return { storage: instrumentStorage(telemetry, storage), now: clock.now, advance: clock.advance }
}, { features: ['deviceFlow', 'sharedKeys'] })

describePostgres('postgres storage, instrumented', () => {
  const db = pgTables()
  runStorageConformance('postgres, instrumented', async () => {
    const clock = fakeClock()
    const prefix = await db.fresh()
    const storage = createPostgresStorage({ pool: db.pool, tablePrefix: prefix, now: clock.now })
    return {
      storage: instrumentStorage(telemetry, storage),
      now: clock.now,
      advance: clock.advance,
      async close() {
        await storage.close()
        await db.drop(prefix)
      },
    }
  }, { features: ['deviceFlow', 'sharedKeys'] })
})
