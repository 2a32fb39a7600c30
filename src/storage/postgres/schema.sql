-- grantkit PostgreSQL schema, version 6 (tables prefixed "grantkit_"). Generated from src/storage/postgres/schema.ts.
-- Times are seconds since the epoch. Only hashes of tokens, codes and session ids are stored.

-- Migration 1: the grantkit 0.1.0 schema: tokens, codes, grants, replay, interactions, sessions, consents, rate limits, device codes, signing keys.

CREATE TABLE IF NOT EXISTS grantkit_access_tokens (
  token_hash text PRIMARY KEY,
  record jsonb NOT NULL,
  expires_at double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS grantkit_access_tokens_expires_at ON grantkit_access_tokens (expires_at);

CREATE TABLE IF NOT EXISTS grantkit_revoked_jtis (
  jti text PRIMARY KEY,
  expires_at double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS grantkit_revoked_jtis_expires_at ON grantkit_revoked_jtis (expires_at);

CREATE TABLE IF NOT EXISTS grantkit_authorization_codes (
  code_hash text PRIMARY KEY,
  grant_id text NOT NULL,
  record jsonb NOT NULL,
  -- Set once by consume(); the row stays until expiry so that a replay is detected.
  consumed_at double precision,
  expires_at double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS grantkit_authorization_codes_expires_at ON grantkit_authorization_codes (expires_at);

CREATE TABLE IF NOT EXISTS grantkit_refresh_tokens (
  token_hash text PRIMARY KEY,
  grant_id text NOT NULL,
  record jsonb NOT NULL,
  -- Compare-and-swap flag of rotate(); a rotated token stays to detect reuse.
  rotated boolean NOT NULL DEFAULT false,
  expires_at double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS grantkit_refresh_tokens_expires_at ON grantkit_refresh_tokens (expires_at);
CREATE INDEX IF NOT EXISTS grantkit_refresh_tokens_grant_id ON grantkit_refresh_tokens (grant_id);

CREATE TABLE IF NOT EXISTS grantkit_revoked_grants (
  grant_id text PRIMARY KEY,
  expires_at double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS grantkit_revoked_grants_expires_at ON grantkit_revoked_grants (expires_at);

CREATE TABLE IF NOT EXISTS grantkit_replay (
  -- SHA-256 of the key (it holds client input such as a jti).
  key text PRIMARY KEY,
  expires_at double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS grantkit_replay_expires_at ON grantkit_replay (expires_at);

CREATE TABLE IF NOT EXISTS grantkit_interactions (
  uid text PRIMARY KEY,
  record jsonb NOT NULL,
  expires_at double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS grantkit_interactions_expires_at ON grantkit_interactions (expires_at);

CREATE TABLE IF NOT EXISTS grantkit_sessions (
  id_hash text PRIMARY KEY,
  sub text NOT NULL,
  auth_time double precision NOT NULL,
  expires_at double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS grantkit_sessions_expires_at ON grantkit_sessions (expires_at);

CREATE TABLE IF NOT EXISTS grantkit_consents (
  sub text NOT NULL,
  client_id text NOT NULL,
  scope text NOT NULL,
  expires_at double precision NOT NULL,
  PRIMARY KEY (sub, client_id)
);
CREATE INDEX IF NOT EXISTS grantkit_consents_expires_at ON grantkit_consents (expires_at);

CREATE TABLE IF NOT EXISTS grantkit_rate_limits (
  -- SHA-256 of the key (it holds client input such as a username).
  key text PRIMARY KEY,
  count integer NOT NULL,
  window_ends_at double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS grantkit_rate_limits_window_ends_at ON grantkit_rate_limits (window_ends_at);

CREATE TABLE IF NOT EXISTS grantkit_device_codes (
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
CREATE INDEX IF NOT EXISTS grantkit_device_codes_user_code_hash ON grantkit_device_codes (user_code_hash);
CREATE INDEX IF NOT EXISTS grantkit_device_codes_keep_until ON grantkit_device_codes (keep_until);

CREATE TABLE IF NOT EXISTS grantkit_signing_keys (
  kid text PRIMARY KEY,
  -- The private JWK as JSON text, sealed with AES-256-GCM when the key store has an encryption key.
  private_jwk text NOT NULL,
  active_from double precision NOT NULL,
  retired_at double precision,
  published_until double precision,
  created_at double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS grantkit_signing_keys_published_until ON grantkit_signing_keys (published_until);

-- Migration 2: stored clients: metadata, secret hashes and a version for compare-and-swap.

CREATE TABLE IF NOT EXISTS grantkit_clients (
  -- COLLATE "C": list() pages in code-point order, the order of every backend.
  client_id text COLLATE "C" PRIMARY KEY,
  -- The StoredClientRecord (metadata, secret hashes, times); secrets themselves are never stored.
  record jsonb NOT NULL,
  -- Compare-and-swap counter of update().
  version integer NOT NULL
);

-- Migration 3: sessions that can be listed and ended: sid, the clients signed in through each, an index by person.

ALTER TABLE grantkit_sessions ADD COLUMN IF NOT EXISTS sid text;
ALTER TABLE grantkit_sessions ADD COLUMN IF NOT EXISTS clients text[] NOT NULL DEFAULT '{}';
CREATE UNIQUE INDEX IF NOT EXISTS grantkit_sessions_sid ON grantkit_sessions (sid);
CREATE INDEX IF NOT EXISTS grantkit_sessions_sub ON grantkit_sessions (sub);

-- Migration 4: revocation cutoffs: every token of a client, or of a person, issued up to a time.

CREATE TABLE IF NOT EXISTS grantkit_token_cutoffs (
  key text PRIMARY KEY,
  cutoff double precision NOT NULL,
  expires_at double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS grantkit_token_cutoffs_expires_at ON grantkit_token_cutoffs (expires_at);

-- Migration 5: pushed authorization requests (RFC 9126): the parameters behind each request_uri, by its hash.

CREATE TABLE IF NOT EXISTS grantkit_pushed_authorization_requests (
  -- SHA-256 of the request_uri; the value itself is never stored.
  request_uri_hash text PRIMARY KEY,
  record jsonb NOT NULL,
  expires_at double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS grantkit_pushed_authorization_requests_expires_at ON grantkit_pushed_authorization_requests (expires_at);

-- Migration 6: audit events for the admin console, shared by processes and kept across restarts.

CREATE TABLE IF NOT EXISTS grantkit_audit_events (
  id bigserial PRIMARY KEY,
  event jsonb NOT NULL,
  keep_until double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS grantkit_audit_events_keep_until ON grantkit_audit_events (keep_until);

-- Which migrations this schema contains; migrate() applies only those missing.
CREATE TABLE IF NOT EXISTS grantkit_schema_version (
  version integer PRIMARY KEY,
  description text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO grantkit_schema_version (version, description) VALUES
  (1, 'the grantkit 0.1.0 schema: tokens, codes, grants, replay, interactions, sessions, consents, rate limits, device codes, signing keys'),
  (2, 'stored clients: metadata, secret hashes and a version for compare-and-swap'),
  (3, 'sessions that can be listed and ended: sid, the clients signed in through each, an index by person'),
  (4, 'revocation cutoffs: every token of a client, or of a person, issued up to a time'),
  (5, 'pushed authorization requests (RFC 9126): the parameters behind each request_uri, by its hash'),
  (6, 'audit events for the admin console, shared by processes and kept across restarts')
ON CONFLICT (version) DO NOTHING;
