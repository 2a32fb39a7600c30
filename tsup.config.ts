import { rmSync } from 'node:fs'
import { defineConfig } from 'tsup'

// The three builds below run at the same time; cleaning in one of them could
// delete what another just wrote (it did: dist/testing.d.ts went missing), so
// dist/ is emptied once, here, before any of them starts.
rmSync('dist', { recursive: true, force: true })

/** Source maps point at src/ in the package instead of carrying every source a second time. */
const noSourcesInMaps = { esbuildOptions: (o: { sourcesContent?: boolean }) => void (o.sourcesContent = false) }

export default defineConfig([
  {
    // The library: one entry per public subpath in package.json "exports".
    entry: {
      index: 'src/index.ts',
      client: 'src/oauth-client/index.ts',
      'adapters/node': 'adapters/node.ts',
      'adapters/express': 'adapters/express.ts',
      'adapters/hono': 'adapters/hono.ts',
      'storage/redis': 'src/storage/redis/index.ts',
      'storage/postgres': 'src/storage/postgres/index.ts',
    },
    onSuccess: 'cp src/storage/postgres/schema.sql dist/storage/postgres-schema.sql',
    external: ['express', 'hono', 'ioredis', 'pg'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    ...noSourcesInMaps,
    target: 'node20',
    platform: 'node',
  },
  {
    // grantkit/testing: the storage conformance kit, ESM only because vitest is.
    entry: { testing: 'src/testing/index.ts' },
    external: ['vitest'],
    format: ['esm'],
    dts: true,
    sourcemap: true,
    ...noSourcesInMaps,
    target: 'node20',
    platform: 'node',
  },
  {
    // The `grantkit` command: ESM only, with a shebang.
    entry: { 'cli/grantkit': 'src/cli/grantkit.ts' },
    // An optional peer, imported only when OTEL_* asks for OTLP export: never bundled (tsup would anyway, as a peer; said here so it stays so).
    external: ['@opentelemetry/sdk-node'],
    format: ['esm'],
    sourcemap: true,
    ...noSourcesInMaps,
    target: 'node20',
    platform: 'node',
    banner: { js: '#!/usr/bin/env node' },
  },
])
