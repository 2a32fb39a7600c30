import { describe, expect, it } from 'vitest'
import { closestName, editDistance, refuseUnknownNames, unknownName } from '../../src/config/did-you-mean.js'

describe('did-you-mean', () => {
  it('counts a missing, extra, wrong or swapped letter as one edit, and ignores case', () => {
    expect(editDistance('accesTokenFormat', 'accessTokenFormat')).toBe(1)
    expect(editDistance('accessTokennFormat', 'accessTokenFormat')).toBe(1)
    expect(editDistance('acxessTokenFormat', 'accessTokenFormat')).toBe(1)
    expect(editDistance('acecssTokenFormat', 'accessTokenFormat')).toBe(1)
    expect(editDistance('ACCESSTOKENFORMAT', 'accessTokenFormat')).toBe(0)
    expect(editDistance('', 'ttl')).toBe(3)
  })

  it('suggests only a name close enough to be a slip, the first of equals', () => {
    expect(closestName('scope', ['scopes', 'sessionTtl'])).toBe('scopes')
    expect(closestName('colour', ['issuer', 'clients', 'scopes'])).toBeUndefined()
    // One edit at most for a short name: "tl" is a slip of "ttl", "x" is not.
    expect(closestName('tl', ['ttl'])).toBe('ttl')
    expect(closestName('x', ['ttl'])).toBeUndefined()
    expect(closestName('pathz', ['paths', 'pathy'])).toBe('paths')
  })

  it('words the error with the full path of the suggestion, or the known names', () => {
    expect(unknownName('acessToken', 'ttl', ['accessToken'], 'lifetime').message).toBe('ttl.acessToken: unknown lifetime; did you mean ttl.accessToken?')
    expect(unknownName('colour', '', ['issuer', 'clients'], 'field').message).toBe('colour: unknown field; known fields: issuer, clients')
    expect(() => refuseUnknownNames({ issuer: 'x', clent: [] }, ['issuer', 'clients'], '', 'option')).toThrow(new TypeError('clent: unknown option; did you mean clients?'))
    expect(() => refuseUnknownNames({ issuer: 'x' }, ['issuer'], '', 'option')).not.toThrow()
  })
})
