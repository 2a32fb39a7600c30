/**
 * The storage contract moved to `src/testing/storage-conformance.ts`, shipped
 * as `grantkit/testing`. This re-export keeps older imports working.
 */
export { runStorageConformance as storageContract, type StorageHarness } from '../../src/testing/storage-conformance.js'
