// The source file behind each public import of the package (package.json
// "exports" without the SQL file and package.json). One list for the API docs
// (TypeDoc names each module after its import) and the docs' snippet check
// (which maps the imports to these files).

/** @type {Readonly<Record<string, string>>} */
export const ENTRY_POINTS = Object.freeze({
  grantkit: 'src/index.ts',
  'grantkit/node': 'adapters/node.ts',
  'grantkit/express': 'adapters/express.ts',
  'grantkit/hono': 'adapters/hono.ts',
  'grantkit/client': 'src/oauth-client/index.ts',
  'grantkit/storage/postgres': 'src/storage/postgres/index.ts',
  'grantkit/storage/redis': 'src/storage/redis/index.ts',
  'grantkit/testing': 'src/testing/index.ts',
})
