import { audit } from '../admin/audit.js'
import { listUserGrants, revokeUserGrants } from '../admin/operations.js'
import type { GrantkitEvent } from '../events/events.js'
import { cliActor, readCommandFlags, storageFlag, withAdminContext } from './admin-command.js'
import type { Env } from './env.js'
import { CliError, EXIT_USAGE } from './errors.js'

/** `grantkit grants list|revoke --sub SUB [--client ID]`, parsed. */
export type GrantsCommand =
  | { command: 'grants'; action: 'list'; storage: string; json: boolean; sub: string }
  | { command: 'grants'; action: 'revoke'; storage: string; json: boolean; sub: string; clientId?: string }

/**
 * Parses the arguments after `grantkit grants`.
 *
 * @throws CliError (exit code 2) naming the flag at fault
 * @example
 * parseGrants(['revoke', '--sub', 'alice', '--client', 'web', '--storage', 'redis://r'], {})
 */
export function parseGrants(rest: readonly string[], env: Env): GrantsCommand {
  const [action, ...tail] = rest
  if (action !== 'list' && action !== 'revoke') {
    throw new CliError(`grants: ${action === undefined ? 'which?' : `unknown command "grants ${action}";`} the commands are "grants list" and "grants revoke"`, EXIT_USAGE)
  }
  const label = `grants ${action}`
  const values = action === 'revoke' ? ['--storage', '--sub', '--client'] : ['--storage', '--sub']
  const { flags, positionals } = readCommandFlags(label, tail, { values, switches: ['--json'] })
  if (positionals.length > 0) throw new CliError(`${label}: unexpected argument "${positionals[0]}"`, EXIT_USAGE)
  const sub = flags.get('--sub')?.[0]
  if (sub === undefined) throw new CliError(`${label}: --sub is required`, EXIT_USAGE)
  const storage = storageFlag(label, flags, env)
  const clientId = flags.get('--client')?.[0]
  if (action === 'list') return { command: 'grants', action, storage, json: flags.has('--json'), sub }
  return { command: 'grants', action, storage, json: flags.has('--json'), sub, ...(clientId !== undefined && { clientId }) }
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString()

/**
 * Runs a `grantkit grants` command: a person's sessions and consents, or
 * their revocation (with `--client`, the consent to that client and its
 * tokens; without, every session, consent and token of the person).
 */
export async function runGrants(
  cmd: GrantsCommand,
  print: (line: string) => void = (line) => void process.stdout.write(`${line}\n`),
  options: { log?: (line: string) => void; prefix?: string } = {},
): Promise<void> {
  const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`))
  const label = `grants ${cmd.action}`
  await withAdminContext(
    label,
    cmd.storage,
    async (ctx) => {
      if (cmd.action === 'list') {
        const { sessions, consents } = await listUserGrants(ctx, cmd.sub)
        if (cmd.json) return print(JSON.stringify({ sub: cmd.sub, sessions, consents }))
        print(`Sessions of ${cmd.sub}: ${sessions.length === 0 ? 'none' : ''}`)
        for (const s of sessions) print(`  ${s.id}\tsigned in ${iso(s.authTime)}\tclients ${s.clients.join(',') || '-'}`)
        print(`Consents of ${cmd.sub}: ${consents.length === 0 ? 'none' : ''}`)
        for (const c of consents) print(`  ${c.clientId}\t${c.scope}\tuntil ${iso(c.expiresAt)}`)
        return
      }
      const target: Record<string, string> = { sub: cmd.sub, ...(cmd.clientId !== undefined && { clientId: cmd.clientId }) }
      const actor = cliActor()
      try {
        const done = await revokeUserGrants(ctx, cmd.sub, cmd.clientId)
        audit(ctx, actor, { action: 'grants.revoke', target, outcome: 'success' })
        if (cmd.json) return print(JSON.stringify({ sub: cmd.sub, ...done }))
        const scope = cmd.clientId === undefined ? 'at every client' : `at ${cmd.clientId}`
        print(`Revoked the tokens of ${cmd.sub} ${scope}; ended ${done.sessions} session(s); withdrew consent to ${done.consents.join(', ') || 'no client'}.`)
      } catch (error) {
        const code = typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : undefined
        audit(ctx, actor, { action: 'grants.revoke', target, outcome: 'failure', ...(code !== undefined && { error: code }) })
        throw error
      }
    },
    { audit: (e: GrantkitEvent) => log(JSON.stringify(e)), ...(options.prefix !== undefined && { prefix: options.prefix }) },
  )
}
