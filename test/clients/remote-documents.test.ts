import { describe, expect, it } from 'vitest'
import { cacheLifetime, RemoteDocuments, type RemoteDocumentKind, type RemoteDocumentsOptions } from '../../src/clients/remote-documents.js'
import { FetchJsonError, type FetchedJson } from '../../src/http/outbound.js'
import { fakeClock } from '../helpers.js'

const kind: RemoteDocumentKind<{ v: number }> = {
  name: 'test',
  parse(body) {
    const v = (body as { v?: unknown }).v
    if (typeof v !== 'number') throw new TypeError('no v')
    return { v }
  },
}

/** A cache over a fake network: `answer` decides what the next fetch of a URL gives. */
function setup(overrides: Partial<RemoteDocumentsOptions> = {}) {
  const clock = fakeClock()
  const fetches: string[] = []
  let answer: (url: string) => Promise<FetchedJson> = async () => ({ body: { v: 1 }, cacheControl: undefined })
  const docs = new RemoteDocuments({
    timeout: 5,
    maxResponseBytes: 1024,
    minCacheTtl: 60,
    maxCacheTtl: 3600,
    maxEntries: 100,
    refetchInterval: 30,
    staleIfError: 600,
    allowPrivate: false,
    now: clock.now,
    fetch: (url) => {
      fetches.push(url)
      return answer(url)
    },
    ...overrides,
  })
  return {
    docs,
    clock,
    fetches,
    answer: (f: typeof answer) => void (answer = f),
    respond: (v: number, cacheControl?: string) => void (answer = async () => ({ body: { v }, cacheControl })),
  }
}

const URL_A = 'https://a.example/doc'

async function read(docs: RemoteDocuments, url = URL_A) {
  return (await docs.get(kind, url)).v
}

describe('cacheLifetime (RFC 9111 §5.2.2)', () => {
  it('takes max-age, clamped to the bounds', () => {
    expect(cacheLifetime('public, max-age=600', 60, 3600)).toBe(600)
    expect(cacheLifetime('max-age=5', 60, 3600)).toBe(60)
    expect(cacheLifetime('max-age=999999', 60, 3600)).toBe(3600)
    expect(cacheLifetime('max-age="120"', 60, 3600)).toBe(120)
  })

  it('keeps no-store, no-cache, a broken max-age and no header for the minimum', () => {
    expect(cacheLifetime('no-store', 60, 3600)).toBe(60)
    expect(cacheLifetime('max-age=600, no-cache', 60, 3600)).toBe(60)
    expect(cacheLifetime('max-age=soon', 60, 3600)).toBe(60)
    expect(cacheLifetime(undefined, 60, 3600)).toBe(60)
  })
})

describe('RemoteDocuments', () => {
  it('serves a copy for its Cache-Control lifetime on the server clock, then fetches again', async () => {
    const t = setup()
    t.respond(1, 'max-age=300')
    expect(await read(t.docs)).toBe(1)
    t.respond(2, 'max-age=300')
    t.clock.advance(299)
    // A fresh copy comes back synchronously: no promise, no network.
    expect(t.docs.get(kind, URL_A)).toEqual({ v: 1 })
    t.clock.advance(1)
    expect(await read(t.docs)).toBe(2)
    expect(t.fetches).toHaveLength(2)
  })

  it('keeps a no-store document only for the minimum lifetime', async () => {
    const t = setup()
    t.respond(1, 'no-store')
    await read(t.docs)
    t.clock.advance(59)
    expect(await read(t.docs)).toBe(1)
    t.clock.advance(1)
    t.respond(2)
    expect(await read(t.docs)).toBe(2)
  })

  it('never keeps a copy longer than the maximum, whatever max-age says', async () => {
    const t = setup()
    t.respond(1, 'max-age=31536000')
    await read(t.docs)
    t.respond(2)
    t.clock.advance(3600)
    expect(await read(t.docs)).toBe(2)
  })

  it('shares one fetch between concurrent misses', async () => {
    const t = setup()
    let release!: () => void
    t.answer(() => new Promise((resolve) => (release = () => resolve({ body: { v: 7 }, cacheControl: undefined }))))
    const all = Promise.all(Array.from({ length: 20 }, () => read(t.docs)))
    await Promise.resolve()
    release()
    expect(await all).toEqual(Array(20).fill(7))
    expect(t.fetches).toHaveLength(1)
  })

  it('caches neither a failure nor an invalid document', async () => {
    const t = setup()
    t.answer(async () => ({ body: { nope: true }, cacheControl: 'max-age=600' }))
    await expect(read(t.docs)).rejects.toThrow(/no v/)
    t.answer(async () => {
      throw new FetchJsonError('down', 503)
    })
    await expect(read(t.docs)).rejects.toThrow(/down/)
    t.respond(3)
    expect(await read(t.docs)).toBe(3)
    expect(t.fetches).toHaveLength(3)
  })

  it('keeps serving the last good copy while refreshing fails, until its hard expiry', async () => {
    const t = setup()
    t.respond(1, 'max-age=100')
    await read(t.docs)
    t.answer(async () => {
      throw new FetchJsonError('timed out')
    })
    t.clock.advance(100)
    expect(await read(t.docs)).toBe(1)
    // The failed attempt is not repeated on every request: once per refetchInterval.
    expect(t.docs.get(kind, URL_A)).toEqual({ v: 1 })
    expect(t.fetches).toHaveLength(2)
    t.clock.advance(30)
    expect(await read(t.docs)).toBe(1)
    expect(t.fetches).toHaveLength(3)
    // Hard expiry: lifetime (100) + staleIfError (600) after the fetch.
    t.clock.set(1_800_000_000 + 700)
    await expect(read(t.docs)).rejects.toThrow(/timed out/)
  })

  it('drops a copy at once when the document is gone (404, 410)', async () => {
    const t = setup()
    t.respond(1, 'max-age=100')
    await read(t.docs)
    t.clock.advance(100)
    t.answer(async () => {
      throw new FetchJsonError('gone', 404)
    })
    await expect(read(t.docs)).rejects.toThrow(/gone/)
  })

  it('refetches before expiry at most once per refetchInterval per URL', async () => {
    const t = setup()
    t.respond(1, 'max-age=3600')
    await read(t.docs)
    // Within the interval of the first fetch: nothing.
    expect(t.docs.refresh(kind, URL_A)).toBeUndefined()
    t.clock.advance(30)
    t.respond(2, 'max-age=3600')
    expect((await t.docs.refresh(kind, URL_A))?.v).toBe(2)
    expect(t.docs.refresh(kind, URL_A)).toBeUndefined()
    t.clock.advance(29)
    expect(t.docs.refresh(kind, URL_A)).toBeUndefined()
    expect(t.fetches).toHaveLength(2)
  })

  it('keeps at most maxEntries documents, dropping the least recently used', async () => {
    const t = setup({ maxEntries: 2 })
    t.respond(1, 'max-age=600')
    await read(t.docs, 'https://a.example/1')
    await read(t.docs, 'https://a.example/2')
    await read(t.docs, 'https://a.example/1') // used: /2 is now the oldest
    await read(t.docs, 'https://a.example/3')
    expect(t.fetches).toHaveLength(3)
    await read(t.docs, 'https://a.example/1')
    expect(t.fetches).toHaveLength(3)
    await read(t.docs, 'https://a.example/2')
    expect(t.fetches).toHaveLength(4)
  })

  it('fails a miss at once while too many fetches are in flight, and fetches again once they end', async () => {
    const t = setup({ maxConcurrentFetches: 2 })
    const releases: Array<() => void> = []
    t.answer(() => new Promise((resolve) => releases.push(() => resolve({ body: { v: 1 }, cacheControl: undefined }))))
    const first = read(t.docs, 'https://a.example/1')
    const second = read(t.docs, 'https://a.example/2')
    await expect(read(t.docs, 'https://a.example/3')).rejects.toThrow(/too many fetches in flight/)
    // A URL already being fetched joins its fetch rather than counting again.
    const again = read(t.docs, 'https://a.example/1')
    releases.forEach((r) => r())
    expect(await Promise.all([first, second, again])).toEqual([1, 1, 1])
    t.respond(3)
    expect(await read(t.docs, 'https://a.example/3')).toBe(3)
    expect(t.fetches).toEqual(['https://a.example/1', 'https://a.example/2', 'https://a.example/3'])
  })
})
