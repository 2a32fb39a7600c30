import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { defaults } from '../../src/index.js'

const page = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8')

function leaves(obj: Record<string, unknown>, prefix = ''): Array<[string, unknown]> {
  return Object.entries(obj).flatMap(([k, v]) =>
    typeof v === 'object' && v !== null ? leaves(v as Record<string, unknown>, `${prefix}${k}.`) : [[`${prefix}${k}`, v] as [string, unknown]],
  )
}

describe('docs/configuration.md', () => {
  it('documents every default with the value in src/config/defaults.ts', () => {
    for (const [path, value] of leaves(defaults)) {
      const row = page.split('\n').find((line) => line.startsWith(`| \`${path}\``))
      expect(row, `docs/configuration.md has no row for ${path}`).toBeDefined()
      expect(row, `docs/configuration.md shows another default for ${path}`).toContain(`\`${String(value)}\``)
    }
  })
})
