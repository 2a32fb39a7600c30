/**
 * `npm run docs`: regenerates the pages of docs/ that are derived from the
 * code. With `--check` it writes nothing and exits 1 when a page is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { renderConfigurationPage } from './docs/configuration.js'

const pages: Array<{ file: string; render: (current: string) => string }> = [
  { file: 'docs/configuration.md', render: renderConfigurationPage },
]

const check = process.argv.includes('--check')
let stale = 0
for (const { file, render } of pages) {
  const path = fileURLToPath(new URL(`../${file}`, import.meta.url))
  const current = readFileSync(path, 'utf8')
  const next = render(current)
  if (next === current) continue
  stale++
  if (check) console.error(`${file} is stale: run npm run docs`)
  else {
    writeFileSync(path, next)
    console.log(`wrote ${file}`)
  }
}
if (check && stale > 0) process.exit(1)
