/**
 * The PostgreSQL schema of grantkit. This file is the source of truth;
 * `schema.sql` beside it is the same SQL for the default prefix (a test keeps
 * them equal), for those who migrate with their own tools.
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

/**
 * The schema for a table prefix: idempotent (`IF NOT EXISTS`), with an index
 * on each expiry column for `cleanup()`.
 *
 * @example
 * await pool.query(schemaSql('auth_'))
 */
export function schemaSql(prefix = 'grantkit_'): string {
  const p = checkTablePrefix(prefix)
  return `-- grantkit PostgreSQL schema (tables prefixed "${p}"). Generated from src/storage/postgres/schema.ts.
-- Times are seconds since the epoch. Only hashes of tokens, codes and session ids are stored.

CREATE TABLE IF NOT EXISTS ${p}access_tokens (
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
`
}

/** The schema with the default prefix `grantkit_`, as shipped in `schema.sql`. */
export const SCHEMA_SQL = schemaSql('grantkit_')

/** Every table, for cleanup and for dropping a test schema. */
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
] as const
