/**
 * The pages' stylesheet. Colours are custom properties, so that a theme sets
 * them once in `:root` and every rule follows.
 */

/** The colours a theme may set, with the built-in look as defaults. */
export const DEFAULT_COLORS = {
  /** Buttons and links. */
  primary: '#1a56db',
  /** Text on a primary-coloured button. */
  onPrimary: '#ffffff',
  /** Behind the card. */
  background: '#f4f5f7',
  /** The card the form sits on. */
  surface: '#ffffff',
  /** Body text. */
  text: '#1d2129',
  /** Input borders. */
  border: '#b8bec7',
} as const

/** The name of a theme colour. */
export type ColorName = keyof typeof DEFAULT_COLORS

/** The CSS custom property of each colour. */
const PROPERTY: Record<ColorName, string> = {
  primary: '--gk-primary',
  onPrimary: '--gk-on-primary',
  background: '--gk-background',
  surface: '--gk-surface',
  text: '--gk-text',
  border: '--gk-border',
}

const BASE = `
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--gk-background);color:var(--gk-text)}
main{max-width:26rem;margin:8vh auto;padding:1.5rem;background:var(--gk-surface);border-radius:.75rem;box-shadow:0 1px 4px rgba(0,0,0,.12)}
.brand{display:flex;align-items:center;gap:.6rem;margin:0 0 1rem;font-weight:600}
.brand img{max-height:2.5rem;max-width:10rem}
h1{font-size:1.35rem;margin:0 0 1rem}
label{display:block;margin:.75rem 0 .25rem;font-weight:600}
input[type=text],input[type=password]{width:100%;min-height:2.75rem;padding:.65rem;font-size:1rem;border:1px solid var(--gk-border);border-radius:.4rem}
button{font-size:1rem;min-height:2.75rem;padding:.65rem 1.2rem;border-radius:.4rem;border:1px solid var(--gk-primary);background:var(--gk-primary);color:var(--gk-on-primary);cursor:pointer;margin:1rem .5rem 0 0}
button.secondary{background:var(--gk-surface);color:var(--gk-primary)}
.error{background:#fdecea;color:#8a1c12;padding:.6rem .8rem;border-radius:.4rem}
ul{padding-left:1.2rem}
code{background:#eef0f3;color:#1d2129;padding:.1rem .3rem;border-radius:.25rem}
@media (max-width:30rem){main{margin:0;border-radius:0;min-height:100vh}}
`

/**
 * The complete text of the pages' `<style>` element: the colours (already
 * checked to be CSS colour values), the built-in rules, then the theme's own
 * CSS, which comes last so that it can override any rule.
 *
 * @example
 * stylesheet({ ...DEFAULT_COLORS, primary: 'rebeccapurple' }, '')
 */
export function stylesheet(colors: Readonly<Record<ColorName, string>>, css: string): string {
  const vars = (Object.keys(PROPERTY) as ColorName[]).map((name) => `${PROPERTY[name]}:${colors[name]}`).join(';')
  return `\n:root{${vars}}${BASE}${css === '' ? '' : `${css}\n`}`
}
