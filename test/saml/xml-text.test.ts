import { describe, expect, it } from 'vitest'
import { SamlError } from '../../src/saml/assertion.js'
import { checkXmlText } from '../../src/saml/xml-text.js'

const check = (xml: string, max = 65_536) => () => checkXmlText(xml, max)

describe('checkXmlText (before any parser runs)', () => {
  it('accepts an XML declaration (after a BOM), comments and CDATA', () => {
    expect(check('\uFEFF<?xml version="1.0" encoding="UTF-8"?><a><!-- c --><![CDATA[<b>]]></a>')).not.toThrow()
  })

  it('counts bytes, not characters', () => {
    expect(check('<a>é</a>', 8)).toThrow(/larger than 8 bytes/)
    expect(check('<a>é</a>', 9)).not.toThrow()
  })

  it('refuses DOCTYPE in any case, ENTITY and other declarations', () => {
    for (const xml of ['<!DOCTYPE a><a/>', '<!doctype a><a/>', '<a><!ENTITY x "y"></a>', '<?xml version="1.0"?>\n<!DOCTYPE a SYSTEM "http://x"><a/>']) {
      expect(check(xml)).toThrow(SamlError)
    }
  })

  it('refuses processing instructions, including a second or late XML declaration', () => {
    for (const xml of ['<?pi?><a/>', '<a><?pi x?></a>', '<?xml version="1.0"?><?xml version="1.0"?><a/>', ' <?xml version="1.0"?><a/>']) {
      expect(check(xml)).toThrow(/processing instructions/)
    }
  })

  it('measures depth with quoted ">" and "/" in attribute values and self-closing tags', () => {
    const nested = (n: number) => '<a>'.repeat(n) + '</a>'.repeat(n)
    expect(check(nested(64))).not.toThrow()
    expect(check(nested(65))).toThrow(/nested deeper than 64/)
    expect(check('<a>' + '<b x=\'>\' y="/"/>'.repeat(999) + '</a>')).not.toThrow()
    expect(check('<a>' + '<b/>'.repeat(1000) + '</a>')).toThrow(/more than 1000 elements/)
    // A quoted ">" must not end the tag early and hide the nesting.
    expect(check('<a x=">/">'.repeat(65) + '</a>'.repeat(65))).toThrow(/nested deeper/)
  })
})
