import { describe, expect, it } from 'vitest'
import { loginWithPassword } from '../../src/users/login.js'
import { makeServer } from '../helpers.js'
import { fakeUsers } from './fixtures.js'
import { contextOf } from '../../src/server.js'

function setup() {
  const users = fakeUsers({ alice: { password: 'wonderland' } })
  const { server, clock } = makeServer({ users, passwordGrant: { maxFailures: 3, failureWindow: 600 } })
  const attempt = (password: string) => loginWithPassword(contextOf(server), 'alice', password, 'app')
  return { attempt, clock }
}

describe('loginWithPassword (RFC 6749 §4.3.2)', () => {
  it('clears the failure count after a successful login below the limit', async () => {
    const { attempt } = setup()
    await attempt('guess-1')
    await attempt('guess-2')
    expect(await attempt('wonderland')).toHaveProperty('account')
    await attempt('guess-3')
    await attempt('guess-4')
    expect(await attempt('wonderland')).toHaveProperty('account')
  })

  it('does not let the right password lift a lock already in place', async () => {
    const { attempt } = setup()
    for (let i = 0; i < 3; i++) expect(await attempt(`guess-${i}`)).toEqual({ failure: 'bad_credentials' })
    expect(await attempt('wonderland')).toEqual({ failure: 'throttled' })
    expect(await attempt('wonderland')).toEqual({ failure: 'throttled' })
  })
})
