/**
 * How records are written as JSON by the backends that serialize them (Redis
 * values and hash fields, PostgreSQL `jsonb` columns), written once. Each
 * serialized record carries its format version in a `$v` member, so that a
 * later grantkit can change a record's shape and still read what an older one
 * wrote: readers accept the current version and every older one, and refuse a
 * newer one with an error that says so rather than misreading it.
 *
 * Version history:
 * - 0: grantkit 0.1.0. No `$v` member; the fields are those of the record types.
 * - 1: grantkit 0.2.0. The same fields, with `"$v": 1`.
 */

/** The record format this grantkit writes. */
export const RECORD_VERSION = 1

/** The member of a serialized record that holds its format version. `$` keeps it apart from any record field. */
const VERSION_MEMBER = '$v'

/** A record read from storage in a format this grantkit does not know. */
export class RecordVersionError extends Error {
  constructor(
    readonly kind: string,
    readonly version: unknown,
  ) {
    super(`storage: a ${kind} record has format version ${String(version)}, but this grantkit reads versions 0 to ${RECORD_VERSION}; it was written by a newer grantkit (upgrade this process) or is not a grantkit record`)
    this.name = 'RecordVersionError'
  }
}

/**
 * The JSON text of a record, with the current format version.
 *
 * @example
 * await redis.set(key, encodeRecord(record))
 */
export function encodeRecord(record: object): string {
  return JSON.stringify({ [VERSION_MEMBER]: RECORD_VERSION, ...record })
}

/**
 * A record from its JSON text (Redis) or parsed JSON (a PostgreSQL `jsonb`
 * column), without the version member. Accepts every version up to
 * `RECORD_VERSION`; versions 0 and 1 have the same fields, so there is nothing
 * to convert yet. A later version that renames a field converts older records
 * here, in one place, for every backend.
 *
 * @throws RecordVersionError for a newer or unknown version
 * @example
 * const record = decodeRecord<AccessTokenRecord>('access token', await redis.get(key))
 */
export function decodeRecord<T>(kind: string, stored: string | object): T {
  const parsed = (typeof stored === 'string' ? JSON.parse(stored) : stored) as Record<string, unknown>
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new RecordVersionError(kind, typeof parsed)
  if (!(VERSION_MEMBER in parsed)) return parsed as T
  const { [VERSION_MEMBER]: version, ...record } = parsed
  if (!(Number.isInteger(version) && (version as number) >= 0 && (version as number) <= RECORD_VERSION)) throw new RecordVersionError(kind, version)
  return record as T
}

/**
 * The key of a consent: person and client as a JSON array, which keeps them
 * apart whatever characters they contain (`"a:b" + "c"` ≠ `"a" + "b:c"`).
 */
export function consentKey(sub: string, clientId: string): string {
  return JSON.stringify([sub, clientId])
}
