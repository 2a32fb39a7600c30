import { describe, expect, it } from 'vitest'
import { createCliLogger, readableLine } from '../../src/cli/log.js'

describe('grantkit serve logger', () => {
  it('writes one JSON object per line, level as a word, at and above its level', () => {
    const lines: string[] = []
    const logger = createCliLogger('info', (line) => lines.push(line))
    logger.debug({ a: 1 }, 'hidden')
    logger.info({ requestId: 'r1', err: { name: 'Error', message: 'm' } }, 'POST token 200')
    logger.error({}, 'bad')
    expect(lines).toHaveLength(2)
    expect(lines.every((l) => l.endsWith('\n') && l.indexOf('\n') === l.length - 1)).toBe(true)
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'info', requestId: 'r1', msg: 'POST token 200', err: { name: 'Error', message: 'm' }, time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) })
    // pino's own err serializer would add a stack; the library's summary goes through as it is.
    expect(JSON.parse(lines[0]!).err).toEqual({ name: 'Error', message: 'm' })
  })

  it('writes a readable line for a terminal', () => {
    const lines: string[] = []
    const logger = createCliLogger('info', (line) => lines.push(line), true)
    logger.info({ requestId: 'r-1', endpoint: 'token', method: 'POST', status: 401, clientId: 'svc', durationMs: 0.4, error: 'invalid_client', reason: 'client is registered for client_secret_basic' }, 'POST token 401')
    expect(lines).toEqual([expect.stringMatching(/^\d\d:\d\d:\d\d\.\d{3} INFO  POST token 401 clientId=svc error=invalid_client reason="client is registered for client_secret_basic" 0\.4ms id=r-1\n$/)])
  })

  it('keeps control characters of client input escaped in a readable line', () => {
    expect(readableLine('{"level":"info","time":"2026-01-01T10:00:00.000Z","msg":"m","clientId":"a\\u001b[31mb"}')).toBe('10:00:00.000 INFO  m clientId="a\\u001b[31mb"\n')
  })
})
