/**
 * grantkit/testing: helpers for people who write a storage of their own.
 * Imports vitest (a peer dependency of this entry only).
 */
export { runStorageConformance, CONFORMANCE_EPOCH, type StorageHarness, type StorageConformanceOptions } from './storage-conformance.js'
