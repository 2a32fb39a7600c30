import { audit } from '../admin/audit.js'
import type { ClientRegistration, ManagedClient } from '../clients/manager.js'
import type { GrantkitEvent } from '../events/events.js'
import { cliActor, readCommandFlags, storageFlag, withAdminContext } from './admin-command.js'
import type { Env } from './env.js'
import { CliError, EXIT_USAGE } from './errors.js'

/** `grantkit clients …`: what was asked, after parsing. */
export type ClientsCommand =
  | { command: 'clients'; action: 'add'; storage: string; json: boolean; metadata: ClientRegistration }
  | { command: 'clients'; action: 'list'; storage: string; json: boolean }
  | { command: 'clients'; action: 'show' | 'remove'; storage: string; json: boolean; clientId: string }
  | { command: 'clients'; action: 'rotate-secret'; storage: string; json: boolean; clientId: string; oldValidFor?: number }

const ACTIONS = ['add', 'list', 'show', 'rotate-secret', 'remove'] as const

/**
 * Parses the arguments after `grantkit clients`.
 *
 * @throws CliError (exit code 2) naming the flag at fault
 * @example
 * parseClients(['add', '--storage', 'redis://r', '--name', 'App', '--redirect-uri', 'https://app.example/cb'], {})
 */
export function parseClients(rest: readonly string[], env: Env): ClientsCommand {
  const [action, ...tail] = rest
  if (!(ACTIONS as readonly string[]).includes(action ?? '')) {
    throw new CliError(`clients: ${action === undefined ? 'which?' : `unknown command "clients ${action}";`} the commands are ${ACTIONS.map((a) => `"clients ${a}"`).join(', ')}`, EXIT_USAGE)
  }
  const label = `clients ${action}`
  if (action === 'add') {
    const { flags, positionals } = readCommandFlags(label, tail, {
      values: ['--storage', '--name', '--redirect-uri', '--grant-type', '--auth-method', '--scope', '--client-id'],
      repeat: ['--redirect-uri', '--grant-type'],
      switches: ['--json'],
    })
    if (positionals.length > 0) throw new CliError(`${label}: unexpected argument "${positionals[0]}"`, EXIT_USAGE)
    const one = (name: string) => flags.get(name)?.[0]
    const metadata: Record<string, unknown> = {}
    if (one('--client-id') !== undefined) metadata.client_id = one('--client-id')
    if (one('--name') !== undefined) metadata.client_name = one('--name')
    if (flags.has('--redirect-uri')) metadata.redirect_uris = flags.get('--redirect-uri')
    if (flags.has('--grant-type')) metadata.grant_types = flags.get('--grant-type')
    if (one('--auth-method') !== undefined) metadata.token_endpoint_auth_method = one('--auth-method')
    if (one('--scope') !== undefined) metadata.scope = one('--scope')
    return { command: 'clients', action, storage: storageFlag(label, flags, env), json: flags.has('--json'), metadata: metadata as ClientRegistration }
  }
  const values = action === 'rotate-secret' ? ['--storage', '--old-valid-for'] : ['--storage']
  const { flags, positionals } = readCommandFlags(label, tail, { values, switches: ['--json'] })
  const storage = storageFlag(label, flags, env)
  const json = flags.has('--json')
  if (action === 'list') {
    if (positionals.length > 0) throw new CliError(`${label}: unexpected argument "${positionals[0]}"`, EXIT_USAGE)
    return { command: 'clients', action, storage, json }
  }
  if (positionals.length !== 1) throw new CliError(`${label}: give one client id`, EXIT_USAGE)
  const clientId = positionals[0]!
  if (action === 'rotate-secret') {
    const raw = flags.get('--old-valid-for')?.[0]
    if (raw !== undefined && !/^\d{1,9}$/.test(raw)) throw new CliError(`${label}: --old-valid-for: "${raw}" is not a number of seconds`, EXIT_USAGE)
    return { command: 'clients', action, storage, json, clientId, ...(raw !== undefined && { oldValidFor: Number(raw) }) }
  }
  return { command: 'clients', action: action as 'show' | 'remove', storage, json, clientId }
}

function describeClient(c: ManagedClient): string[] {
  const m = c.metadata
  const lines = [`client_id:    ${c.clientId}`]
  if (m.client_name !== undefined) lines.push(`name:         ${m.client_name}`)
  lines.push(`auth method:  ${m.token_endpoint_auth_method ?? 'client_secret_basic'}`)
  if (m.grant_types !== undefined) lines.push(`grant types:  ${m.grant_types.join(' ')}`)
  if (m.redirect_uris !== undefined && m.redirect_uris.length > 0) lines.push(`redirect URIs: ${m.redirect_uris.join(' ')}`)
  if (m.scope !== undefined) lines.push(`scope:        ${m.scope}`)
  lines.push(`created:      ${new Date(c.createdAt * 1000).toISOString()}`, `version:      ${c.version}`)
  return lines
}

function plain(c: ManagedClient): Record<string, unknown> {
  return { client_id: c.clientId, metadata: c.metadata, has_secret: c.hasSecret, created_at: c.createdAt, updated_at: c.updatedAt, version: c.version }
}

/**
 * Runs a `grantkit clients` command on the storage `serve` uses. A new secret
 * is printed once (only its hash is stored); audit events go to `log` as JSON
 * lines, never with a secret.
 */
export async function runClients(
  cmd: ClientsCommand,
  print: (line: string) => void = (line) => void process.stdout.write(`${line}\n`),
  options: { log?: (line: string) => void; prefix?: string } = {},
): Promise<void> {
  const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`))
  const actor = cliActor()
  const label = `clients ${cmd.action}`
  const onAudit = (e: GrantkitEvent) => log(JSON.stringify(e))
  await withAdminContext(
    label,
    cmd.storage,
    async (ctx) => {
      const audited = async <T>(action: string, target: Record<string, string>, work: () => Promise<T>): Promise<T> => {
        try {
          const out = await work()
          audit(ctx, actor, { action, target, outcome: 'success' })
          return out
        } catch (error) {
          const code = typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : undefined
          audit(ctx, actor, { action, target, outcome: 'failure', ...(code !== undefined && { error: code }) })
          throw error
        }
      }
      switch (cmd.action) {
        case 'add': {
          const target: Record<string, string> = {}
          const { client, secret } = await audited('client.create', target, async () => {
            const made = await ctx.clientManager.create(cmd.metadata)
            target.clientId = made.client.clientId
            return made
          })
          if (cmd.json) print(JSON.stringify({ ...plain(client), ...(secret !== undefined && { client_secret: secret }) }))
          else {
            print(`client_id:     ${client.clientId}`)
            if (secret !== undefined) {
              print(`client_secret: ${secret}`)
              print('The secret is shown this once; only its hash is stored.')
            }
          }
          return
        }
        case 'list': {
          const all: ManagedClient[] = []
          let after: string | undefined
          do {
            const page = await ctx.clientManager.list(after === undefined ? {} : { after })
            all.push(...page.clients)
            after = page.next
          } while (after !== undefined)
          if (cmd.json) print(JSON.stringify(all.map(plain)))
          else if (all.length === 0) print('No stored clients.')
          else for (const c of all) print(`${c.clientId}\t${c.metadata.client_name ?? ''}\t${c.metadata.grant_types?.join(',') ?? ''}`)
          return
        }
        case 'show': {
          const client = await ctx.clientManager.get(cmd.clientId)
          if (client === undefined) throw new CliError(`${label}: no stored client "${cmd.clientId}"`)
          print(cmd.json ? JSON.stringify(plain(client)) : describeClient(client).join('\n'))
          return
        }
        case 'rotate-secret': {
          const until = cmd.oldValidFor === undefined ? {} : { oldSecretValidUntil: Math.floor(ctx.now()) + cmd.oldValidFor }
          const { client, secret } = await audited('client.secret.rotate', { clientId: cmd.clientId }, () => ctx.clientManager.rotateSecret(cmd.clientId, until))
          if (cmd.json) print(JSON.stringify({ ...plain(client), client_secret: secret, previous_secret_valid_until: client.previousSecretValidUntil }))
          else {
            print(`client_secret: ${secret}`)
            const old = client.previousSecretValidUntil
            print(old === undefined ? 'The old secret no longer works.' : `The old secret works until ${new Date(old * 1000).toISOString()}.`)
          }
          return
        }
        case 'remove': {
          const removed = await audited('client.delete', { clientId: cmd.clientId }, async () => {
            if (!(await ctx.clientManager.delete(cmd.clientId))) throw Object.assign(new CliError(`${label}: no stored client "${cmd.clientId}"`), { code: 'not_found' })
            return true
          })
          print(cmd.json ? JSON.stringify({ removed }) : `Removed ${cmd.clientId}.`)
          return
        }
      }
    },
    { audit: onAudit, ...(options.prefix !== undefined && { prefix: options.prefix }) },
  )
}
