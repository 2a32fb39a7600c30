import type { Redis } from 'ioredis'

/**
 * The version of the key layout: which keys exist under the prefix and what
 * each holds (`at:<hash>` a JSON record, `code:<hash>` a hash of fields, …).
 * Layout 1 is the layout of grantkit 0.1.0, which wrote no layout key: a
 * prefix without one is layout 1. A grantkit that changes the layout bumps
 * this, converts the keys (`grantkit migrate`), and writes the new version,
 * which older processes then refuse to touch rather than misread.
 *
 * Record formats inside the values are versioned apart (codec.ts), so adding
 * a field to a record does not change the layout.
 */
export const REDIS_LAYOUT_VERSION = 1

/** The key holding the layout version under a prefix. It has no `:`, so no artefact key (`kind:id`) can collide with it. */
export const layoutKey = (prefix: string): string => `${prefix}layout`

/** A prefix whose keys are laid out in a version this grantkit does not know. */
export class RedisLayoutError extends Error {
  constructor(prefix: string, found: string) {
    super(
      `redis: the keys under prefix "${prefix}" use layout ${JSON.stringify(found)}, but this grantkit knows layout ${REDIS_LAYOUT_VERSION} only; ` +
        'they were written by a newer grantkit (upgrade this process) or by something else (use another prefix)',
    )
    this.name = 'RedisLayoutError'
  }
}

/**
 * Checks the layout version under `prefix`: absent (0.1.0, or nothing written
 * yet) or the current one is fine; anything else throws RedisLayoutError.
 */
export async function checkLayout(client: Redis, prefix: string): Promise<void> {
  const found = await client.get(layoutKey(prefix))
  if (found !== null && found !== String(REDIS_LAYOUT_VERSION)) throw new RedisLayoutError(prefix, found)
}

/**
 * Records the layout version under `prefix` (no expiry), after checking that
 * no other layout is there. What `grantkit migrate --storage redis://…` does:
 * layout 1 needs no conversion, so this is all there is to migrate.
 *
 * @returns the layout version found before (0 when none was recorded) and the one recorded now
 * @example
 * await writeLayout(client, 'grantkit:') // { before: 0, version: 1 }
 */
export async function writeLayout(client: Redis, prefix: string): Promise<{ before: number; version: number }> {
  const found = await client.get(layoutKey(prefix))
  if (found !== null && found !== String(REDIS_LAYOUT_VERSION)) throw new RedisLayoutError(prefix, found)
  // SET NX: two processes migrating together both succeed, and neither overwrites a layout written meanwhile.
  await client.set(layoutKey(prefix), String(REDIS_LAYOUT_VERSION), 'NX')
  await checkLayout(client, prefix)
  return { before: found === null ? 0 : Number(found), version: REDIS_LAYOUT_VERSION }
}
