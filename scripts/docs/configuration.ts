import { FILE_ONLY_FIELDS } from '../../src/cli/config.js'
import { defaults } from '../../src/config/defaults.js'
import { optionRows, type OptionEntry } from '../../src/config/schema.js'

/** A table cell: pipes escaped, so that a type such as `"jwt" | "opaque"` stays in its column. */
const cell = (text: string): string => text.replace(/\|/g, '\\|')

function defaultCell(entry: OptionEntry<unknown>): string {
  if (entry.required !== undefined) return 'required'
  if (entry.default !== undefined) return `\`${String(entry.default)}\``
  return entry.defaultText ?? 'none'
}

function optionsTable(): string[] {
  const lines = ['| option | type | meaning | default | feature | config file |', '| --- | --- | --- | --- | --- | --- |']
  for (const { path, entry } of optionRows()) {
    lines.push(`| \`${path}\` | ${cell(`\`${entry.type}\``)} | ${cell(entry.doc)} | ${cell(defaultCell(entry))} | ${entry.feature} | ${entry.json ? 'yes' : 'no'} |`)
  }
  return lines
}

function otherDefaultsTable(): string[] {
  return [
    '| name | meaning | default |',
    '| --- | --- | --- |',
    `| \`signingAlgorithm\` | Not an option: the default of \`keys.algorithm\`. | \`${defaults.signingAlgorithm}\` |`,
  ]
}

function fileOnlyTable(): string[] {
  const lines = ['| field | becomes the option | meaning |', '| --- | --- | --- |']
  for (const [name, field] of Object.entries(FILE_ONLY_FIELDS)) lines.push(`| \`${name}\` | \`${field.option}\` | ${cell(field.doc)} |`)
  return lines
}

/** The generated parts of docs/configuration.md, by the name in their markers. */
const regions: Record<string, () => string[]> = {
  options: optionsTable,
  'other-defaults': otherDefaultsTable,
  'config-file': fileOnlyTable,
}

/**
 * docs/configuration.md with its generated regions rewritten from the option
 * schema. The prose around them is kept as written; a region is the text
 * between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->`.
 *
 * @throws Error when a region's markers are missing, so a renamed marker cannot leave a table stale
 * @example
 * writeFileSync(file, renderConfigurationPage(readFileSync(file, 'utf8')))
 */
export function renderConfigurationPage(current: string): string {
  let page = current
  for (const [name, render] of Object.entries(regions)) {
    const open = `<!-- generated:${name} -->`
    const close = `<!-- /generated:${name} -->`
    const start = page.indexOf(open)
    const end = page.indexOf(close)
    if (start === -1 || end < start) throw new Error(`docs/configuration.md: the markers ${open} … ${close} are missing`)
    page = `${page.slice(0, start + open.length)}\n${render().join('\n')}\n${page.slice(end)}`
  }
  return page
}
