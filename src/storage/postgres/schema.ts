/**
 * The PostgreSQL schema of grantkit, as ordered migrations. This file is the
 * source of truth; `schema.sql` beside it is the whole schema for the default
 * prefix (a test keeps them equal), for those who migrate with their own tools.
 *
 * Times are seconds since the epoch (double precision), compared against the
 * clock the storage is given, never the database's `now()`. Tokens, codes and
 * session ids are stored only as their SHA-256 hashes.
 */

/** Table prefixes: lower case letters, digits and `_`, at most 24 characters (identifiers stay under 63). */
const PREFIX = /^[a-z_][a-z0-9_]{0,23}$/

/** Checks a table prefix and returns it. */
export function checkTablePrefix(prefix: unknown): string {
  if (typeof prefix !== 'string' || !PREFIX.test(prefix)) {
    throw new TypeError('tablePrefix: must be lower-case letters, digits and "_", start with a letter or "_", at most 24 characters')
  }
  return prefix
}

/** One step of the schema: applied once, in order, and recorded in the version table. */
export interface Migration {
  /** 1, 2, 3, …: applied in this order, each exactly once. */
  version: number
  /** What it does, as printed by `grantkit migrate`. */
  description: string
  /**
   * The SQL for a (checked) table prefix. Idempotent (`IF NOT EXISTS`), so a
   * database whose tables were created by hand from `schema.sql`, or by
   * grantkit 0.1.0 before versions were recorded, is adopted rather than broken.
   */
  sql(prefix: string): string
}

/**
 * Every migration, oldest first. Migration 1 is the schema of grantkit 0.1.0,
 * frozen: never edit a migration that has shipped, add the next one. Later
 * migrations are additive (new tables, columns with defaults, indexes), so a
 * process of the previous version keeps working on an upgraded database while
 * a deployment rolls.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'the grantkit 0.1.0 schema: tokens, codes, grants, replay, interactions, sessions, consents, rate limits, device codes, signing keys',
    sql: (p) => `CREATE TABLE IF NOT EXISTS ${p}access_tokens (
  token_hash text PRIMARY KEY,
  record jsonb NOT NULL,
  expires_at double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS ${p}access_tokens_expires_at ON ${p}access_tokens (expires_at);

CREATE TABLE IF NOT EXISTS ${p}revoked_jtis (
  jti text PRIMARY KEY,
  expires_at double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS ${p}revoked_jtis_expires_at ON ${p}revoked_jtis (expires_at);

CREATE TABLE IF NOT EXISTS ${p}authorization_codes (
  code_hash text PRIMARY KEY,
  grant_id text NOT NULL,
  record jsonb NOT NULL,
  -- Set once by consume(); the row stays until expiry so that a replay is detected.
  consumed_at double precision,
  expires_at double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS ${p}authorization_codes_expires_at ON ${p}authorization_codes (expires_at);

CREATE TABLE IF NOT EXISTS ${p}refresh_tokens (
  token_hash text PRIMARY KEY,
  grant_id text NOT NULL,
  record jsonb NOT NULL,
  -- Compare-and-swap flag of rotate(); a rotated token stays to detect reuse.
  rotated boolean NOT NULL DEFAULT false,
  expires_at double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS ${p}refresh_tokens_expires_at ON ${p}refresh_tokens (expires_at);
CREATE INDEX IF NOT EXISTS ${p}refresh_tokens_grant_id ON ${p}refresh_tokens (grant_id);

CREATE TABLE IF NOT EXISTS ${p}revoked_grants (
  grant_id text PRIMARY KEY,
  expires_at double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS ${p}revoked_grants_expires_at ON ${p}revoked_grants (expires_at);

CREATE TABLE IF NOT EXISTS ${p}replay (
  -- SHA-256 of the key (it holds client input such as a jti).
  key text PRIMARY KEY,
  expires_at double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS ${p}replay_expires_at ON ${p}replay (expires_at);

CREATE TABLE IF NOT EXISTS ${p}interactions (
  uid text PRIMARY KEY,
  record jsonb NOT NULL,
  expires_at double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS ${p}interactions_expires_at ON ${p}interactions (expires_at);

CREATE TABLE IF NOT EXISTS ${p}sessions (
  id_hash text PRIMARY KEY,
  sub text NOT NULL,
  auth_time double precision NOT NULL,
  expires_at double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS ${p}sessions_expires_at ON ${p}sessions (expires_at);

CREATE TABLE IF NOT EXISTS ${p}consents (
  sub text NOT NULL,
  client_id text NOT NULL,
  scope text NOT NULL,
  expires_at double precision NOT NULL,
  PRIMARY KEY (sub, client_id)
);
CREATE INDEX IF NOT EXISTS ${p}consents_expires_at ON ${p}consents (expires_at);

CREATE TABLE IF NOT EXISTS ${p}rate_limits (
  -- SHA-256 of the key (it holds client input such as a username).
  key text PRIMARY KEY,
  count integer NOT NULL,
  window_ends_at double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS ${p}rate_limits_window_ends_at ON ${p}rate_limits (window_ends_at);

CREATE TABLE IF NOT EXISTS ${p}device_codes (
  device_code_hash text PRIMARY KEY,
  user_code_hash text NOT NULL,
  client_id text NOT NULL,
  scope text NOT NULL,
  poll_interval double precision NOT NULL,
  issued_at double precision NOT NULL,
  expires_at double precision NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'consumed')),
  last_polled_at double precision,
  sub text,
  auth_time double precision,
  granted_scope text,
  -- Kept past expires_at so that a late poll hears expired_token, not invalid_grant.
  keep_until double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS ${p}device_codes_user_code_hash ON ${p}device_codes (user_code_hash);
CREATE INDEX IF NOT EXISTS ${p}device_codes_keep_until ON ${p}device_codes (keep_until);

CREATE TABLE IF NOT EXISTS ${p}signing_keys (
  kid text PRIMARY KEY,
  -- The private JWK as JSON text, sealed with AES-256-GCM when the key store has an encryption key.
  private_jwk text NOT NULL,
  active_from double precision NOT NULL,
  retired_at double precision,
  published_until double precision,
  created_at double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS ${p}signing_keys_published_until ON ${p}signing_keys (published_until);
`,
  },
  {
    version: 2,
    description: 'stored clients: metadata, secret hashes and a version for compare-and-swap',
    sql: (p) => `CREATE TABLE IF NOT EXISTS ${p}clients (
  -- COLLATE "C": list() pages in code-point order, the order of every backend.
  client_id text COLLATE "C" PRIMARY KEY,
  -- The StoredClientRecord (metadata, secret hashes, times); secrets themselves are never stored.
  record jsonb NOT NULL,
  -- Compare-and-swap counter of update().
  version integer NOT NULL
);
`,
  },
  {
    version: 3,
    description: 'sessions that can be listed and ended: sid, the clients signed in through each, an index by person',
    // Additive: rows of 0.1 keep a NULL sid (one is assigned when the session is next read) and no clients.
    sql: (p) => `ALTER TABLE ${p}sessions ADD COLUMN IF NOT EXISTS sid text;
ALTER TABLE ${p}sessions ADD COLUMN IF NOT EXISTS clients text[] NOT NULL DEFAULT '{}';
CREATE UNIQUE INDEX IF NOT EXISTS ${p}sessions_sid ON ${p}sessions (sid);
CREATE INDEX IF NOT EXISTS ${p}sessions_sub ON ${p}sessions (sub);
`,
  },
  {
    version: 4,
    description: 'revocation cutoffs: every token of a client, or of a person, issued up to a time',
    // Additive: a new table, which processes of the previous version never read.
    sql: (p) => `CREATE TABLE IF NOT EXISTS ${p}token_cutoffs (
  key text PRIMARY KEY,
  cutoff double precision NOT NULL,
  expires_at double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS ${p}token_cutoffs_expires_at ON ${p}token_cutoffs (expires_at);
`,
  },
  {
    version: 5,
    description: 'pushed authorization requests (RFC 9126): the parameters behind each request_uri, by its hash',
    // Additive: a new table, which processes of the previous version never read.
    sql: (p) => `CREATE TABLE IF NOT EXISTS ${p}pushed_authorization_requests (
  -- SHA-256 of the request_uri; the value itself is never stored.
  request_uri_hash text PRIMARY KEY,
  record jsonb NOT NULL,
  expires_at double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS ${p}pushed_authorization_requests_expires_at ON ${p}pushed_authorization_requests (expires_at);
`,
  },
  {
    version: 6,
    description: 'audit events for the admin console, shared by processes and kept across restarts',
    // Additive: a new table, which processes of the previous version never read. The serial id orders events as they were written.
    sql: (p) => `CREATE TABLE IF NOT EXISTS ${p}audit_events (
  id bigserial PRIMARY KEY,
  event jsonb NOT NULL,
  keep_until double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS ${p}audit_events_keep_until ON ${p}audit_events (keep_until);
`,
  },
]

/** The schema version of the newest migration: what `migrate()` brings a database to. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version

/** The table that records which migrations were applied, for a table prefix. */
export function versionTable(prefix: string): string {
  return `${checkTablePrefix(prefix)}schema_version`
}

/** Creates the version table (idempotent). */
export function versionTableSql(prefix: string): string {
  const table = versionTable(prefix)
  return `CREATE TABLE IF NOT EXISTS ${table} (
  version integer PRIMARY KEY,
  description text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);
`
}

/**
 * The whole schema for a table prefix, as the migrations build it: every
 * migration in order, then the version table with a row for each, so that
 * `migrate()` finds a database created from this SQL up to date. Idempotent.
 *
 * @example
 * await pool.query(schemaSql('auth_'))
 */
export function schemaSql(prefix = 'grantkit_'): string {
  const p = checkTablePrefix(prefix)
  const steps = MIGRATIONS.map((m) => `-- Migration ${m.version}: ${m.description}.\n\n${m.sql(p)}`).join('\n')
  const rows = MIGRATIONS.map((m) => `(${m.version}, '${m.description.replace(/'/g, "''")}')`).join(',\n  ')
  return `-- grantkit PostgreSQL schema, version ${SCHEMA_VERSION} (tables prefixed "${p}"). Generated from src/storage/postgres/schema.ts.
-- Times are seconds since the epoch. Only hashes of tokens, codes and session ids are stored.

${steps}
-- Which migrations this schema contains; migrate() applies only those missing.
${versionTableSql(p)}INSERT INTO ${versionTable(p)} (version, description) VALUES
  ${rows}
ON CONFLICT (version) DO NOTHING;
`
}

/** The schema with the default prefix `grantkit_`, as shipped in `schema.sql`. */
export const SCHEMA_SQL = schemaSql('grantkit_')

/** Every table of records, for cleanup and for dropping a test schema (the version table is apart: `versionTable`). */
export const TABLES = [
  'access_tokens',
  'revoked_jtis',
  'authorization_codes',
  'refresh_tokens',
  'revoked_grants',
  'replay',
  'interactions',
  'sessions',
  'consents',
  'rate_limits',
  'device_codes',
  'signing_keys',
  'clients',
  'token_cutoffs',
  'pushed_authorization_requests',
  'audit_events',
] as const
