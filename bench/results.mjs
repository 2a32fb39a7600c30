// bench/RESULTS.md (or the partial / smoke file): the command, the machine, the settings and every table.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, relative } from 'node:path'
import { ARGON2_COST, DIST_DIR } from './common.mjs'
import { fmt } from './format.mjs'
import {
  CONNECTIONS,
  CORE_SECONDS,
  DURATION,
  FLOW_WORKERS,
  LOADGEN_CPU,
  PG_PREFIX,
  PIPELINING,
  REDIS_PREFIX,
  REPS,
  RESULTS_FILE,
  ROOT,
  SERVER_CPU,
  SETTING_NAMES,
  FLOOD_CONNECTIONS,
  STORAGE_ON,
  WARMUP,
} from './settings.mjs'
import { HAND_ROLLED_HEAD } from './hand-rolled.mjs'
import { LOGIN_HEAD } from './logins.mjs'
import { HEAD, PEER_HEAD, SERVER_HEAD, STORAGE_HEAD, markdownTable, perRunTable } from './tables.mjs'
import { warnings } from './warnings.mjs'
import { chartsSection, writeCharts } from './charts.mjs'

function peerVersion(name) {
  try {
    return JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')).version
  } catch {
    return 'unknown'
  }
}

/** The command that reproduces this run: its settings from the environment, then npm run bench or node. */
function commandLine() {
  const overrides = SETTING_NAMES.filter((k) => process.env[k] !== undefined && process.env[k] !== '').map((k) => `${k}=${process.env[k]}`)
  const base = process.env.npm_lifecycle_event === 'bench' ? 'npm run bench' : 'node bench/run.mjs'
  return [...overrides, base].join(' ')
}

/**
 * Writes the results file of a run (RESULTS_FILE) and returns its path relative to the repository.
 * It takes what run.mjs printed (the summary, the tables' rows, the verdicts and notes), so the file
 * and the terminal always say the same.
 */
export function writeResults({ machine, pinned, startedAt, benchSeconds, retried, samples, targets, summary, coreSummary, coreRows, floorLine, handRolled, pRows, verdicts, notes, sRows, storage, logins }) {
  const anyInvalid = summary.some((s) => !s.valid)
  const settings =
    `${REPS} repetitions, interleaved; in-process ${CORE_SECONDS} s per run; HTTP ${DURATION} s per run, ${CONNECTIONS} connections, pipelining ${PIPELINING}; ` +
    `code flow ${FLOW_WORKERS} browsers; ${WARMUP} s warm-up before each run, a fresh server process per run; Argon2id m=${ARGON2_COST.memoryCost} KiB t=${ARGON2_COST.timeCost} p=${ARGON2_COST.parallelism} for the user's password (the same PHC string on every server that checks it); ` +
    `the whole measurement took ${fmt(benchSeconds)} s`
  // The charts are drawn from the very rows of the tables below, so they cannot disagree with them.
  const charts = writeCharts(RESULTS_FILE, {
    peers: { head: PEER_HEAD, rows: pRows },
    handRolled: { head: HAND_ROLLED_HEAD, rows: handRolled.rows },
    storage: { head: STORAGE_HEAD, rows: storage.rows },
  })
  const md = `# grantkit benchmark results

Written by \`bench/run.mjs\`; see [README.md](README.md) for what is measured. Regenerate with the command below.

- Command: \`${commandLine()}\`
- Date: ${startedAt.toISOString()}
- Node: ${machine.node}
- Machine: ${machine.nproc} CPUs (nproc), ${machine.cpuModel}; ${machine.kernel}
- Pinning: ${pinned ? `servers under test on CPU ${SERVER_CPU} (\`taskset -c ${SERVER_CPU}\`), load generator on CPU ${LOADGEN_CPU}` : 'none (see warnings)'}
- Build measured: \`${relative(ROOT, DIST_DIR) || '.'}\` at commit ${machine.commit}
- Peers: node-oidc-provider ${peerVersion('oidc-provider')}, @node-oauth/oauth2-server ${peerVersion('@node-oauth/oauth2-server')} with express ${peerVersion('express')}
- Settings: ${settings}

Medians over the repetitions. Latencies are per request (per whole flow for the code flow): in-process from the call of \`server.handle\`
to its result; HTTP as the load generator sees them. "Ratio to ceiling" is HTTP requests per second divided by the raw
node:http endpoint's (for the code flow, the requests its flows made). "Server CPU" is the CPU time of the process under
test over wall time (100% = its core saturated); "loadgen CPU" that of the load generator; "other load" the CPU
that other processes used or the hypervisor stole during the run (from /proc/stat), highest over the repetitions.
Runs disturbed by other load: ${retried} measured again.
${charts === '' ? '' : `\n${chartsSection(charts)}`}
## grantkit against the raw node:http ceiling

${floorLine === '' ? '' : `${floorLine}.\n\n`}${markdownTable(HEAD, coreRows)}

${coreSummary.filter((s) => s.t.target !== undefined).map((s) => `- **${s.verdict}** ${s.t.label}: ${fmt(s.ratio, 3)} of the ceiling (target ≥ ${s.t.target.toFixed(2)})`).join('\n')}

## grantkit against hand-rolled endpoints doing the same cryptography

Each grantkit row beside a node:http endpoint written by hand that does the same cryptography on the same core and
nothing else: the ES256 signature (raw-es256), a random token whose SHA-256 goes into a Map (raw-opaque /token), or
a Basic secret checked against its SHA-256 and a token's SHA-256 looked up in that Map (raw-opaque /introspect).

${handRolled.rows.length === 0 ? '(no such pair measured)' : markdownTable(HAND_ROLLED_HEAD, handRolled.rows, 2)}

${handRolled.verdicts.map((v) => `- **${v.verdict}** ${v.text}`).join('\n')}

## Side by side with the peers

Same clients, same user, same requests, one server at a time on the same core. "Ratio to best peer" is the
rate divided by the best of node-oidc-provider and @node-oauth/oauth2-server in the same workload. Targets
compare grantkit with node-oidc-provider. Peak RSS is VmHWM of the server process at the end of its run
(median over the repetitions); start-up is from spawn to the first successful token response.

${pRows.length === 0 ? '(no peer rows measured)' : markdownTable(PEER_HEAD, pRows, 2)}

${verdicts.map((v) => `- **${v.verdict}** ${v.text}`).join('\n')}

${notes.map((n) => `- ${n}`).join('\n')}

${sRows.length === 0 ? '' : markdownTable(SERVER_HEAD, sRows)}

## Durable storage: PostgreSQL and Redis beside memory

The same grantkit opaque server (\`server.mjs opaque-pg\` / \`opaque-redis\`) with \`createPostgresStorage\` or \`createRedisStorage\`
instead of the default memory storage, measured in the same repetitions, interleaved with the rows above (same
server on CPU ${SERVER_CPU}, load on CPU ${LOADGEN_CPU}). **The database servers themselves are not pinned**: they run on whichever
CPU is free, the load generator's included; their CPU over the run is shown apart ("database server CPU", summed over
their processes from /proc) and is not counted as other load. Tables under the prefix \`${PG_PREFIX}\` and keys under
\`${REDIS_PREFIX}\` were created for this run and removed after it. Targets (issue 16), informational: Redis ≥ 0.8 and PostgreSQL ≥ 0.5 of
memory.

${storage.rows.length === 0 ? `(no storage rows measured${STORAGE_ON ? '; see warnings' : ': BENCH_STORAGE=0'})` : markdownTable(STORAGE_HEAD, storage.rows, 2)}

${storage.verdicts.map((v) => `- **${v.verdict}** ${v.text}`).join('\n')}

## Token requests while logins are flooded

The grantkit opaque server under the client_credentials load of its row above, while a second load generator POSTs wrong
passwords to its built-in login page as fast as it answers (${FLOOD_CONNECTIONS} connections; the password throttle is off in
the benchmark's options, as against a guesser spread over many addresses). Every wrong password costs one Argon2id check;
\`passwordHashing\` bounds how many run at once and refuses the rest at once with 503 and Retry-After. "quiet p99" is the
token p99 of the same server without the flood in the same run (the row "HTTP node adapter, opaque"). The what-if row lifts
the bound (\`maxConcurrent: 1024\`), as 0.1 had none.

${logins === undefined || logins.rows.length === 0 ? '(no login-flood rows measured)' : markdownTable(LOGIN_HEAD, logins.rows)}

${logins === undefined ? '' : logins.verdicts.map((v) => `- **${v.verdict}** ${v.text}`).join('\n')}

${anyInvalid ? `**INVALID:** ${summary.filter((s) => !s.valid).map((s) => `${s.t.label} (${s.problems.join('; ').replace(/\n\s*/g, ' / ')})`).join('; ')}\n\n` : ''}${warnings.length > 0 ? `Warnings:\n\n${warnings.map((w) => `- ${w}`).join('\n')}\n\n` : ''}Every run:

${perRunTable(samples, targets, REPS)}
`
  mkdirSync(dirname(RESULTS_FILE), { recursive: true })
  writeFileSync(RESULTS_FILE, md)
  return relative(ROOT, RESULTS_FILE)
}
