import { readFileSync } from 'node:fs'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import { renderConfigurationPage } from '../../scripts/docs/configuration.js'
import { FILE_ONLY_FIELDS } from '../../src/cli/config.js'
import { optionRows } from '../../src/config/schema.js'
import { defaults } from '../../src/index.js'

const page = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8')
const optionsFile = new URL('../../src/config/options.ts', import.meta.url)

function leaves(obj: Record<string, unknown>, prefix = ''): Array<[string, unknown]> {
  return Object.entries(obj).flatMap(([k, v]) =>
    typeof v === 'object' && v !== null ? leaves(v as Record<string, unknown>, `${prefix}${k}.`) : [[`${prefix}${k}`, v] as [string, unknown]],
  )
}

/** The lines of the section under a `## heading`, up to the next one. */
function section(heading: string): string[] {
  const lines = page.split('\n')
  const start = lines.indexOf(`## ${heading}`)
  if (start === -1) return []
  const end = lines.findIndex((line, i) => i > start && line.startsWith('## '))
  return lines.slice(start + 1, end === -1 ? undefined : end)
}

/** Option names a table row documents: every `code` span in its first cell. */
function rowNames(line: string): string[] {
  if (!line.startsWith('| ') || line.startsWith('| ---')) return []
  const first = line.split('|')[1] ?? ''
  return [...first.matchAll(/`([^`]+)`/g)].map((m) => m[1]!)
}

function propertyName(name: ts.PropertyName, sf: ts.SourceFile): string {
  return ts.isIdentifier(name) || ts.isStringLiteral(name) ? name.text : name.getText(sf)
}

/** Members of the object literal types inside a type (`Partial<{ a: number }>`, `X | { a?: Y }`). */
function inlineMembers(type: ts.TypeNode | undefined, sf: ts.SourceFile): string[] {
  if (type === undefined) return []
  if (ts.isTypeLiteralNode(type)) {
    // A member that is itself an inline object (`admin.console`) brings its own members along.
    return type.members.filter(ts.isPropertySignature).flatMap((m) => {
      const name = propertyName(m.name, sf)
      return [name, ...inlineMembers(m.type, sf).map((inner) => `${name}.${inner}`)]
    })
  }
  if (ts.isUnionTypeNode(type) || ts.isIntersectionTypeNode(type)) return type.types.flatMap((t) => inlineMembers(t, sf))
  if (ts.isTypeReferenceNode(type)) return (type.typeArguments ?? []).flatMap((t) => inlineMembers(t, sf))
  if (ts.isParenthesizedTypeNode(type)) return inlineMembers(type.type, sf)
  return []
}

/**
 * The options of `AuthorizationServerOptions`, read from the source with the
 * compiler: each top-level property, with the members of an inline object type
 * (`ttl`, `paths`, …) as `ttl.accessToken` and so on.
 */
function declaredOptions(): { top: string[]; nested: string[] } {
  const sf = ts.createSourceFile('options.ts', readFileSync(optionsFile, 'utf8'), ts.ScriptTarget.Latest, true)
  const iface = sf.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === 'AuthorizationServerOptions')
  if (iface === undefined) throw new Error('src/config/options.ts has no interface AuthorizationServerOptions')
  const top: string[] = []
  const nested: string[] = []
  for (const member of iface.members) {
    if (!ts.isPropertySignature(member)) continue
    const name = propertyName(member.name, sf)
    top.push(name)
    for (const inner of inlineMembers(member.type, sf)) nested.push(`${name}.${inner}`)
  }
  return { top, nested }
}

describe('docs/configuration.md', () => {
  const options = section('Options')
  const documented = new Set(options.flatMap(rowNames))

  it('is what `npm run docs` generates from the option schema', () => {
    // When this fails: run `npm run docs` and commit docs/configuration.md.
    expect(renderConfigurationPage(page), 'docs/configuration.md is stale: run npm run docs').toBe(page)
  })

  it('has one row per schema entry, nested ones included, and no other', () => {
    const rows = optionRows().map((r) => r.path)
    expect(rows).toContain('ttl.accessToken')
    expect(rows).toContain('deps.now')
    expect([...documented].sort()).toEqual([...rows].sort())
  })

  it('documents the config file fields of the CLI', () => {
    const names = section('In a config file').flatMap(rowNames)
    for (const name of Object.keys(FILE_ONLY_FIELDS)) expect(names).toContain(name)
  })

  it('refuses to render a page whose generated region has lost its markers', () => {
    expect(() => renderConfigurationPage(page.replace('<!-- /generated:options -->', ''))).toThrow(/generated:options/)
  })

  it('documents every default with the value in src/config/defaults.ts', () => {
    for (const [path, value] of leaves(defaults)) {
      const row = page.split('\n').find((line) => line.startsWith(`| \`${path}\``))
      expect(row, `docs/configuration.md has no row for ${path}`).toBeDefined()
      expect(row, `docs/configuration.md shows another default for ${path}`).toContain(`\`${String(value)}\``)
    }
  })

  it('has a row under "## Options" for every top-level option of AuthorizationServerOptions', () => {
    const { top } = declaredOptions()
    expect(top.length).toBeGreaterThan(20)
    const missing = top.filter((name) => !documented.has(name) && ![...documented].some((d) => d.startsWith(`${name}.`)))
    expect(missing, `docs/configuration.md has no row for: ${missing.join(', ')}`).toEqual([])
  })

  it('has a row for every member of an option given as an inline object type (ttl.*, paths.*, …)', () => {
    const { top, nested } = declaredOptions()
    const missing = nested.filter((name) => !documented.has(name) && !documented.has(name.split('.')[0]!))
    expect(missing, `docs/configuration.md has no row for: ${missing.join(', ')}`).toEqual([])
    // And nothing documented as an option that the interface does not have.
    // `trust.jwtIssuers` may document a member of a named type; `ttl.*` must be a member the literal has.
    const known = new Set([...top, ...nested])
    const literal = new Set(nested.map((name) => name.split('.')[0]!))
    const unknown = [...documented].filter((name) => {
      const head = name.split('.')[0]!
      return !known.has(name) && (!known.has(head) || literal.has(head))
    })
    expect(unknown, `docs/configuration.md documents options that do not exist: ${unknown.join(', ')}`).toEqual([])
  })
})
