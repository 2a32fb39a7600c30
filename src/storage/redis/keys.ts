/*
 * Key names. On one Redis server a key is `<prefix><kind>:<id>`, as grantkit
 * has always written it. On a Redis Cluster the keys one script or MULTI
 * touches together must hash to one slot (a multi-key command across slots
 * fails with CROSSSLOT), so those keys carry a hash tag: Redis hashes only
 * the text between the first `{` and the next `}` (Redis Cluster
 * specification, "Hash tags"). Keys only ever used alone keep their plain
 * name there too; a single-key command is always in one slot.
 */

/** `<prefix><kind>:<id>`: the layout of a single Redis server. */
export function plainKey(prefix: string, kind: string, id: string): string {
  return `${prefix}${kind}:${id}`
}

/**
 * A key on a Redis Cluster. `group` names what the key is used together with:
 * - absent: the plain name (the key is only ever used alone);
 * - equal to `id`: `<prefix><kind>:{<id>}`, the record's own id as the tag
 *   (a session and its client set: `sess:{h}`, `sessc:{h}`);
 * - anything else: `<prefix><kind>:{<group>}:<id>` (a consent and the
 *   person's consent index share the tag `{<sub>}`).
 * The prefix holds no brace (createRedisStorage refuses one), so the first
 * `{` is the one written here and every key of a group hashes the same text
 * (the group up to its first `}`), whatever braces the id itself holds.
 */
export function clusterKey(prefix: string, kind: string, id: string, group?: string): string {
  if (group === undefined) return `${prefix}${kind}:${id}`
  // `{}` is no tag at all (Redis would hash the whole key), and neither is a
  // tag cut short by a group starting with `}`: such groups share a blank tag.
  if (group === '' || group.startsWith('}')) return `${prefix}${kind}:{ }:${id}`
  if (group === id) return `${prefix}${kind}:{${id}}`
  return `${prefix}${kind}:{${group}}:${id}`
}
