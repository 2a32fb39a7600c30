import { createMemoryStorage } from '../../src/index.js'
import { createMemoryKeyStorage } from '../../src/keys/shared-key-store.js'
import { runStorageConformance } from '../../src/testing/storage-conformance.js'
import { fakeClock } from '../helpers.js'

runStorageConformance('memory', () => {
  const clock = fakeClock()
  return {
    storage: { ...createMemoryStorage({ now: clock.now }), keys: createMemoryKeyStorage({ now: clock.now }) },
    now: clock.now,
    advance: clock.advance,
  }
}, { features: ['deviceFlow', 'sharedKeys', 'storedClients', 'pushedAuthorization'] })
