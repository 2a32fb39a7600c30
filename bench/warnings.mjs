// Warnings of one run: printed when they happen and listed again in RESULTS.md.

export const warnings = []

export function warn(message) {
  warnings.push(message)
  console.error(`warning: ${message}`)
}
