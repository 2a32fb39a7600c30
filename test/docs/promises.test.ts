import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { createServer, createUserSource } from '../../src/cli/config.js'
import { demoConfig } from '../../src/cli/demo-config.js'
import { defaults } from '../../src/index.js'
import { documentationFiles } from './snippets.js'

const ISSUER = 'http://127.0.0.1:4000'
const root = fileURLToPath(new URL('../..', import.meta.url))
const read = (file: string) => readFileSync(join(root, file), 'utf8')

/** The first ```json block after `marker` in a page. */
function jsonAfter(page: string, marker: string): Record<string, unknown> {
  const at = page.indexOf(marker)
  if (at < 0) throw new Error(`marker not found: ${marker}`)
  const start = page.indexOf('```json\n', at) + '```json\n'.length
  return JSON.parse(page.slice(start, page.indexOf('\n```', start))) as Record<string, unknown>
}

let demo: ReturnType<typeof createServer> | undefined
/** The demo server (`npm start`), made once: its keys take a while. */
const demoServer = () => (demo ??= createServer(demoConfig, ISSUER, { users: createUserSource(demoConfig) }))
let everything: ReturnType<typeof createServer> | undefined
/** The demo with the features that are off by default switched on, for the endpoint table. */
const serverWithEverything = () => (everything ??= createServer({ ...demoConfig, registration: { enabled: true } }, ISSUER, { users: createUserSource(demoConfig) }))

async function demoDiscovery(): Promise<Record<string, unknown>> {
  const server = demoServer()
  const res = await server.handle({ method: 'GET', url: new URL(ISSUER + '/.well-known/openid-configuration'), headers: {} })
  return JSON.parse(res.body!) as Record<string, unknown>
}

describe('what the docs promise, against the code', () => {
  it("docs/endpoints.md shows the demo server's discovery document: every field, and every value of each list not cut short with …", async () => {
    const shown = jsonAfter(read('docs/endpoints.md'), '/.well-known/openid-configuration')
    const actual = await demoDiscovery()
    expect(Object.keys(shown).sort()).toEqual(Object.keys(actual).sort())
    for (const [name, value] of Object.entries(shown)) {
      if (Array.isArray(value) && value.includes('…')) {
        // A shortened list: what it shows must still be offered.
        expect(actual[name], name).toEqual(expect.arrayContaining(value.filter((v) => v !== '…')))
      } else if (Array.isArray(value)) expect([...(actual[name] as unknown[])].sort(), name).toEqual([...value].sort())
      else expect(actual[name], name).toEqual(value)
    }
  })
})

describe('links in README.md and docs/', () => {
  const files = documentationFiles(root)

  it.each(files)('%s links only to files that exist in the repository', (file) => {
    const text = read(file)
    const broken: string[] = []
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(target!)) {
        // README.md is read on npm and in clones too: it links only inside the repository.
        if (file === 'README.md') broken.push(`${target} (external)`)
        continue
      }
      const path = target!.split('#')[0]!
      if (path !== '' && !existsSync(join(root, dirname(file), path))) broken.push(target!)
    }
    expect(broken).toEqual([])
  })
})

describe('prompt values', () => {
  it('docs/grants/authorization-code.md names as accepted exactly the prompt values discovery advertises', async () => {
    const row = read('docs/grants/authorization-code.md').split('\n').find((l) => l.startsWith('| `prompt` |'))
    expect(row).toBeDefined()
    const accepted = [...row!.split('|')[2]!.split('(')[0]!.matchAll(/`([^`]+)`/g)].map((m) => m[1])
    expect(accepted.sort()).toEqual([...((await demoDiscovery()).prompt_values_supported as string[])].sort())
  })
})

describe('the endpoint table of docs/endpoints.md', () => {
  const rows = read('docs/endpoints.md')
    .split('\n')
    .filter((l) => /^\| [A-Z]/.test(l) && !l.startsWith('| endpoint'))
    .map((l) => l.split('|').map((c) => c.trim()))
    .filter((cells) => cells[2]!.startsWith('`/') || cells[2]!.startsWith('(issuer path +)'))

  it('lists the endpoints', () => {
    expect(rows.length).toBeGreaterThanOrEqual(10)
  })

  it.each(rows.map((cells) => [cells[1]!, cells[2]!, cells[3]!]))('%s: %s answers exactly %s', async (_name, pathCell, methodsCell) => {
    const path = /`([^`]+)`/.exec(pathCell)![1]!.replace('{uid}', 'some-uid')
    const res = await serverWithEverything().handle({ method: 'PUT', url: new URL(ISSUER + path), headers: {} })
    expect(res.status).toBe(405)
    const allowed = new Set(String(res.headers.allow).split(', '))
    // RFC 9110 §9.3.2: HEAD comes with GET.
    if (allowed.has('GET')) allowed.add('HEAD')
    const documented = new Set(methodsCell.replace(/\((form|JSON)\)/g, '').split(/[,;]/).map((m) => m.trim()).filter((m) => m !== ''))
    if (documented.has('GET')) documented.add('HEAD')
    expect([...allowed].sort()).toEqual([...documented].sort())
  })
})

describe('defaults quoted in the docs', () => {
  const flat = new Map<string, unknown>()
  const walk = (obj: Record<string, unknown>, prefix: string): void => {
    for (const [k, v] of Object.entries(obj)) {
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) walk(v as Record<string, unknown>, `${prefix}${k}.`)
      else flat.set(`${prefix}${k}`, v)
    }
  }
  walk(defaults as unknown as Record<string, unknown>, '')

  it.each(documentationFiles(root).filter((f) => f !== 'docs/configuration.md'))('%s quotes each option default as the code has it ("`ttl.deviceCode` seconds (600)")', (file) => {
    const wrong: string[] = []
    for (const m of read(file).matchAll(/`([a-zA-Z]+(?:\.[a-zA-Z]+)*)`(?: seconds)? \((\d+)(?: s)?[),]/g)) {
      if (!flat.has(m[1]!)) continue
      if (String(flat.get(m[1]!)) !== m[2]) wrong.push(`${m[0]}: the default is ${String(flat.get(m[1]!))}`)
    }
    expect(wrong).toEqual([])
  })
})
