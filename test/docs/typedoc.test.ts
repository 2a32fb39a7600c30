import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ENTRY_POINTS } from '../../scripts/entry-points.mjs'
import { buildApiDocs } from '../../scripts/docs/api.js'

const read = (file: string) => JSON.parse(readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8')) as Record<string, unknown>

describe('API reference (TypeDoc)', () => {
  it('covers every public import of package.json "exports", and nothing else', () => {
    const exported = Object.keys(read('package.json').exports as Record<string, unknown>)
      .filter((path) => path !== './package.json' && !path.endsWith('.sql'))
      .map((path) => (path === '.' ? 'grantkit' : `grantkit/${path.slice(2)}`))
    expect(Object.keys(ENTRY_POINTS).sort()).toEqual(exported.sort())
    expect([...(read('typedoc.json').entryPoints as string[])].sort()).toEqual(Object.values(ENTRY_POINTS).sort())
  })

  it('converts the TSDoc of every entry point without a warning (broken links, types used but not exported), one module per import', async () => {
    const { problems, modules } = await buildApiDocs({ emit: false })
    expect(problems).toEqual([])
    expect([...modules].sort()).toEqual(Object.keys(ENTRY_POINTS).sort())
  }, 180_000)
})
