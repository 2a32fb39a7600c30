import { defineConfig } from 'tsup'

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
    clean: true,
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
    target: 'node20',
    platform: 'node',
  },
  {
    // The `grantkit` command: ESM only, with a shebang.
    entry: { 'cli/grantkit': 'src/cli/grantkit.ts' },
    format: ['esm'],
    sourcemap: true,
    target: 'node20',
    platform: 'node',
    banner: { js: '#!/usr/bin/env node' },
  },
])
