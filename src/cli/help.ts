import { DEFAULT_HOST, DEFAULT_PORT, type HelpTopic } from './args.js'

const KEK_HOWTO = `node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))"`

const KEY_ENCRYPTION = `  GRANTKIT_KEY_ENCRYPTION_KEY
      32 random bytes in base64url that seal the private signing keys kept in
      the database (AES-256-GCM); the same value in every process. Make one:
  ${KEK_HOWTO}
  GRANTKIT_KEY_ENCRYPTION_KEY_FILE
      Instead: a file holding that value.
  GRANTKIT_PREVIOUS_KEY_ENCRYPTION_KEYS
      Comma-separated older values: they still open the keys they sealed
      (rotation of the key-encryption key).`

const STORAGE_FLAG = `  --storage URL       postgres://... or redis://... (also GRANTKIT_STORAGE);
                      redis+cluster://host:port,host:port for a Redis Cluster.
                      The URL is never printed: it may hold a password.`

/** The text of `grantkit --help`: every command, one line each. */
export const USAGE = `Usage: grantkit serve [options]
       grantkit migrate --storage URL
       grantkit cleanup --storage URL
       grantkit keys seal --storage URL
       grantkit clients add|list|show|rotate-secret|remove ...
       grantkit grants list|revoke --sub SUB --storage URL ...
       grantkit help [COMMAND]
       grantkit --version

Runs grantkit as a standalone OAuth 2.0 authorization server.

Commands:
  serve       Serve a config file (or the demo configuration) over HTTP.
  migrate     Bring a PostgreSQL schema or Redis key layout up to date.
  cleanup     Delete expired PostgreSQL rows once (for cron).
  keys seal   Seal signing keys stored in clear, or re-seal them with a new
              key-encryption key.
  clients     Add, list, show, rotate the secret of or remove stored clients.
  grants      List or revoke a person's sessions, consents and tokens.

Options:
  -h, --help          Show this help; "grantkit COMMAND --help" shows a
                      command's own.
  -v, --version       Print the version of grantkit.

Every setting of a flag can come from the environment instead (GRANTKIT_PORT for
--port, ...): flags win over the environment, which wins over the config file.
See "grantkit help serve".

Exit codes: 0 success, 1 bad config or runtime failure, 2 bad command line or
environment variable.
`

const SERVE = `Usage: grantkit serve [options]

Runs grantkit as a standalone OAuth 2.0 authorization server.

Options:
  --config FILE       JSON config file (issuer, clients, users, trust, ttl,
                      keys, ...). Without it, a demo configuration is served
                      and its credentials are printed.
  --issuer URL        The issuer, over "issuer" of the config file. Without
                      either, it is http://HOST:PORT with the real port.
  --host HOST         Address to listen on. Default ${DEFAULT_HOST}.
  --port PORT         Port to listen on; 0 picks a free port. Default ${DEFAULT_PORT}.
  --adapter NAME      HTTP adapter: node (default), express or hono (these
                      need the express, or hono and @hono/node-server,
                      packages).
  --storage URL       memory (default), postgres://... (tables created or
                      upgraded at start), redis://... or
                      redis+cluster://host:port,host:port...; processes sharing
                      one database act as one server and share the signing
                      keys, sealed with the key-encryption key (below).
  --log-level LEVEL   trace, debug, info, warn, error, fatal or silent.
  --print-config      Print the resolved configuration as JSON, every secret
                      masked, and exit without listening.
  -h, --help          Show this help.

Environment (a flag wins over its variable, a variable over the config file):
  GRANTKIT_CONFIG     --config
  GRANTKIT_ISSUER     --issuer
  GRANTKIT_HOST       --host
  GRANTKIT_PORT       --port; without both, PORT (the port a platform assigns)
  GRANTKIT_ADAPTER    --adapter
  GRANTKIT_STORAGE    --storage
  GRANTKIT_LOG_LEVEL  --log-level
An empty variable counts as unset. With --storage postgres://... or redis://...:
${KEY_ENCRYPTION}

Once it accepts connections, grantkit prints "listening on http://HOST:PORT".
SIGTERM or SIGINT stops accepting, finishes in-flight requests and exits 0.

Exit codes: 0 success, 1 bad config or runtime failure, 2 bad command line or
environment variable.
`

const MIGRATE = `Usage: grantkit migrate --storage URL

Applies the schema migrations a PostgreSQL database lacks (one at a time, safe
while other processes start) and prints each; with redis://... it records the
key layout version. With memory it has nothing to do.

Options:
${STORAGE_FLAG}
  -h, --help          Show this help.

Exit codes: 0 success, 1 storage unreachable or newer than this grantkit,
2 bad command line or environment variable.
`

const CLEANUP = `Usage: grantkit cleanup --storage URL

Deletes expired PostgreSQL rows once, in small batches, and prints how many.
grantkit serve does this every 10 minutes by itself; use it from cron when
embedding grantkit. Redis needs none: keys expire.

Options:
${STORAGE_FLAG}
  -h, --help          Show this help.

Exit codes: 0 success, 1 storage unreachable, 2 bad command line or
environment variable.
`

const KEYS = `Usage: grantkit keys seal --storage URL

Seals, once, the signing keys a deployment of grantkit 0.1 stored in clear,
and re-seals keys sealed with a previous key-encryption key with the current
one. Running it again changes nothing.

Options:
${STORAGE_FLAG}
  -h, --help          Show this help.

Environment:
${KEY_ENCRYPTION}

Exit codes: 0 success, 1 no key-encryption key or storage unreachable,
2 bad command line or environment variable.
`

const ADMIN_NOTES = `Works on the storage grantkit serve uses; a running server sees a change
within its client cache TTL (clientCacheTtl). Each change is written to stderr
as an admin.audit event (JSON), naming the operating-system user; never a
secret. Output is for people; --json prints one JSON document for scripts.`

const CLIENTS = `Usage: grantkit clients add --storage URL [--name NAME] [--redirect-uri URI]...
                           [--grant-type TYPE]... [--auth-method METHOD]
                           [--scope "A B"] [--client-id ID] [--json]
       grantkit clients list --storage URL [--json]
       grantkit clients show ID --storage URL [--json]
       grantkit clients rotate-secret ID --storage URL [--old-valid-for SECONDS]
                                     [--json]
       grantkit clients remove ID --storage URL [--json]

Manages the clients kept in storage (RFC 7591 metadata). "add" and
"rotate-secret" print the new secret once: only its hash is stored.
--old-valid-for keeps the old secret working that many seconds (default
86400; 0 ends it at once). Clients of the config file are not shown here.

${STORAGE_FLAG}

${ADMIN_NOTES}
`

const GRANTS = `Usage: grantkit grants list --sub SUB --storage URL [--json]
       grantkit grants revoke --sub SUB [--client ID] --storage URL
                              [--json]

"list" shows a person's sessions and remembered consents. "revoke" with
--client withdraws the consent to that client and revokes every token and
code it got for the person; without --client it ends every session of the
person, withdraws every consent and revokes every token at every client.

${STORAGE_FLAG}

${ADMIN_NOTES}
`

const PAGES: Record<HelpTopic, string> = { serve: SERVE, migrate: MIGRATE, cleanup: CLEANUP, keys: KEYS, clients: CLIENTS, grants: GRANTS }

/**
 * The help text of one command, or the overview.
 *
 * @example
 * process.stdout.write(helpText('migrate'))
 */
export function helpText(topic?: HelpTopic): string {
  return topic === undefined ? USAGE : PAGES[topic]
}
