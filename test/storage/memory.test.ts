import { createMemoryStorage } from '../../src/index.js'
import { fakeClock } from '../helpers.js'
import { storageContract } from './contract.js'

storageContract('memory', async () => {
  const clock = fakeClock()
  return { storage: createMemoryStorage({ now: clock.now }), now: clock.now, advance: clock.advance }
})
