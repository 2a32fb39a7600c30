import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { isCssColor } from '../../src/pages/css-color.js'
import { buildTheme } from '../../src/pages/theme.js'

const ISSUER = 'https://as.example'
const theme = (value: unknown) => buildTheme(value, 'pages.theme', ISSUER)
const refuses = (value: unknown, message: string | RegExp) => expect(() => theme(value)).toThrow(message)

describe('theme colours', () => {
  it.each(['#fff', '#FFFA', '#1a56db', '#1a56db80', 'rebeccapurple', 'Transparent', 'rgb(26, 86, 219)', 'rgba(26,86,219,.5)', 'rgb(10% 20% 30% / 0.4)', 'hsl(220, 79%, 48%)', 'hsl(220deg 79% 48% / 50%)'])(
    'accepts %s',
    (color) => expect(isCssColor(color)).toBe(true),
  )

  it.each([
    'red;}body{display:none',
    'red}',
    '</style><script>',
    '#12345',
    'url(https://evil.example/x)',
    'var(--x)',
    'rgb(1,2)',
    'rgb(1,2,3);',
    'expression(alert(1))',
    'notacolour',
    '',
    ' red',
  ])('refuses %j', (color) => expect(isCssColor(color)).toBe(false))

  it('names the colour that is wrong and what a colour may be', () => {
    refuses({ colors: { primary: 'red;}' } }, /^pages\.theme\.colors\.primary: must be a CSS colour/)
    refuses({ colors: { primray: '#000' } }, 'pages.theme.colors.primray: unknown colour; did you mean pages.theme.colors.primary?')
    refuses({ colors: 'red' }, 'pages.theme.colors: must be an object of CSS colours')
  })

  it('writes the colours into the style as custom properties', () => {
    expect(theme({ colors: { primary: '#0a7f5a', background: 'hsl(0, 0%, 98%)' } }).style).toMatch(/:root\{--gk-primary:#0a7f5a;[^}]*--gk-background:hsl\(0, 0%, 98%\)/)
  })
})

describe('theme CSS', () => {
  it('is admitted by the hash of the whole style element, never by unsafe-inline', () => {
    const t = theme({ css: 'h1{letter-spacing:.02em}' })
    const hash = createHash('sha256').update(t.style).digest('base64')
    expect(t.csp).toContain(`style-src 'sha256-${hash}'`)
    expect(t.csp).not.toContain('unsafe-inline')
    expect(t.style.endsWith('h1{letter-spacing:.02em}\n')).toBe(true)
    expect(theme(undefined).csp).toMatch(/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+=*'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'$/)
  })

  it('refuses "</style", which would end the style element and let the rest be read as HTML', () => {
    refuses({ css: 'a{}</STYLE><script>alert(1)</script>' }, /pages\.theme\.css: must not contain "<\/style" \(it would end the style element/)
  })

  it('refuses @import of another origin, which the CSP would block anyway', () => {
    refuses({ css: '@import url("https://fonts.example/x.css");' }, /pages\.theme\.css: @import of "https:\/\/fonts\.example\/x\.css" is refused/)
    refuses({ css: "@import '//cdn.example/x.css';" }, /@import of "\/\/cdn\.example\/x\.css" is refused/)
    refuses({ css: '@import "data:text/css,a{}";' }, /is refused/)
  })

  it('refuses an @import it cannot read, and escaped at-rule names that could hide one', () => {
    refuses({ css: '@import/**/"https://evil.example/x.css";' }, /write each @import as @import "path"/)
    refuses({ css: '@\\69mport "https://evil.example/x.css";' }, 'pages.theme.css: must not escape characters in at-rule names')
  })

  it("accepts @import from the issuer's origin and admits it with 'self'", () => {
    const t = theme({ css: '@import "/brand/pages.css";\n@import url(https://as.example/more.css);' })
    expect(t.csp).toMatch(/style-src 'sha256-[^']+' 'self';/)
    expect(theme({ css: 'a{color:red}' }).csp).not.toMatch(/style-src 'sha256-[^']+' 'self'/)
  })

  it("refuses url() of another origin; same-origin and data: URLs are admitted, with fonts from 'self'", () => {
    refuses({ css: 'body{background:url(https://tracker.example/p.gif)}' }, /url\(\) of another origin \("https:\/\/tracker\.example\/p\.gif"\) is refused/)
    const t = theme({ css: 'body{background:url("/bg.png")} @font-face{font-family:x;src:url(data:font/woff2;base64,AAAA)}' })
    expect(t.csp).toContain("font-src 'self' data:")
  })

  it('refuses what is not a string, and CSS past 64 KiB', () => {
    refuses({ css: 42 }, 'pages.theme.css: must be a string of CSS')
    refuses({ css: 'a{}'.repeat(30_000) }, /pages\.theme\.css: must be at most 65536 characters/)
  })
})

describe('theme logo and name', () => {
  it('puts an https logo into img-src by its exact origin and path', () => {
    const t = theme({ name: 'Acme', logoUrl: 'https://cdn.example/brand/logo.svg?v=2' })
    expect(t.csp).toContain("img-src 'self' data: https://cdn.example/brand/logo.svg;")
    expect(t.logoUrl).toBe('https://cdn.example/brand/logo.svg?v=2')
    expect(t.name).toBe('Acme')
  })

  it("admits a same-origin path through 'self' alone", () => {
    const t = theme({ logoUrl: '/assets/logo.png' })
    expect(t.csp).toContain("img-src 'self' data:;")
    expect(t.logoUrl).toBe('/assets/logo.png')
  })

  it('refuses http, credentials, fragments and characters that would add CSP sources', () => {
    refuses({ logoUrl: 'http://cdn.example/logo.svg' }, /pages\.theme\.logoUrl: must be an https URL or a path starting with "\/" \(a page served over https/)
    refuses({ logoUrl: 'https://user:pw@cdn.example/logo.svg' }, 'pages.theme.logoUrl: must not carry a user name or password')
    refuses({ logoUrl: 'https://cdn.example/logo.svg#x' }, 'pages.theme.logoUrl: must not have a fragment')
    refuses({ logoUrl: "https://cdn.example/a;script-src 'unsafe-inline'" }, /must not contain spaces, quotes, ";" or ","/)
    refuses({ logoUrl: 'https://cdn.example/a,b' }, /must not contain spaces, quotes, ";" or ","/)
    refuses({ logoUrl: '/a;b' }, /must not contain spaces, quotes, ";" or ","/)
    refuses({ logoUrl: '//cdn.example/logo.svg' }, /must be an https URL or a path/)
    refuses({ logoUrl: 'javascript:alert(1)' }, /must be an https URL or a path/)
  })

  it('refuses an empty or long name and unknown fields, with the closest known name', () => {
    refuses({ name: ' ' }, 'pages.theme.name: must be a non-empty string of at most 100 characters')
    refuses({ logo: '/x.png' }, 'pages.theme.logo: unknown option; known options: name, logoUrl, colors, css')
  })
})
