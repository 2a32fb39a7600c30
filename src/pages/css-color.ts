/**
 * CSS colour values as the theme accepts them. Colours are written into the
 * pages' `<style>` element, so only a strict grammar passes: nothing that
 * could end a declaration (`;`, `}`), the element (`<`), or fetch anything.
 */

// CSS Color 4 §6.1: the named colours, plus `transparent` and `currentcolor`.
const NAMED = new Set(
  (
    'aliceblue antiquewhite aqua aquamarine azure beige bisque black blanchedalmond blue blueviolet brown burlywood cadetblue chartreuse ' +
    'chocolate coral cornflowerblue cornsilk crimson cyan darkblue darkcyan darkgoldenrod darkgray darkgreen darkgrey darkkhaki darkmagenta ' +
    'darkolivegreen darkorange darkorchid darkred darksalmon darkseagreen darkslateblue darkslategray darkslategrey darkturquoise darkviolet ' +
    'deeppink deepskyblue dimgray dimgrey dodgerblue firebrick floralwhite forestgreen fuchsia gainsboro ghostwhite gold goldenrod gray green ' +
    'greenyellow grey honeydew hotpink indianred indigo ivory khaki lavender lavenderblush lawngreen lemonchiffon lightblue lightcoral lightcyan ' +
    'lightgoldenrodyellow lightgray lightgreen lightgrey lightpink lightsalmon lightseagreen lightskyblue lightslategray lightslategrey ' +
    'lightsteelblue lightyellow lime limegreen linen magenta maroon mediumaquamarine mediumblue mediumorchid mediumpurple mediumseagreen ' +
    'mediumslateblue mediumspringgreen mediumturquoise mediumvioletred midnightblue mintcream mistyrose moccasin navajowhite navy oldlace olive ' +
    'olivedrab orange orangered orchid palegoldenrod palegreen paleturquoise palevioletred papayawhip peachpuff peru pink plum powderblue purple ' +
    'rebeccapurple red rosybrown royalblue saddlebrown salmon sandybrown seagreen seashell sienna silver skyblue slateblue slategray slategrey snow ' +
    'springgreen steelblue tan teal thistle tomato turquoise violet wheat white whitesmoke yellow yellowgreen transparent currentcolor'
  ).split(' '),
)

const NUM = String.raw`(?:\d{1,3}(?:\.\d{1,6})?|\.\d{1,6})`
const COMPONENT = `${NUM}%?`
const PERCENT = `${NUM}%`
const HUE = `-?${NUM}(?:deg|grad|rad|turn)?`
const ALPHA = `${NUM}%?`

const FUNCTIONS = [
  // CSS Color 4 §5.1: rgb()/rgba(), legacy comma syntax and modern space syntax with an optional "/ alpha".
  new RegExp(String.raw`^rgba?\(\s*${COMPONENT}\s*,\s*${COMPONENT}\s*,\s*${COMPONENT}\s*(?:,\s*${ALPHA}\s*)?\)$`, 'i'),
  new RegExp(String.raw`^rgba?\(\s*${COMPONENT}\s+${COMPONENT}\s+${COMPONENT}\s*(?:\/\s*${ALPHA}\s*)?\)$`, 'i'),
  // CSS Color 4 §7: hsl()/hsla().
  new RegExp(String.raw`^hsla?\(\s*${HUE}\s*,\s*${PERCENT}\s*,\s*${PERCENT}\s*(?:,\s*${ALPHA}\s*)?\)$`, 'i'),
  new RegExp(String.raw`^hsla?\(\s*${HUE}\s+${PERCENT}\s+${PERCENT}\s*(?:\/\s*${ALPHA}\s*)?\)$`, 'i'),
]

const HEX = /^#(?:[0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})$/i

/**
 * Whether `value` is a CSS colour of the accepted forms: `#rgb`, `#rgba`,
 * `#rrggbb`, `#rrggbbaa`, `rgb()`/`rgba()` and `hsl()`/`hsla()` of plain
 * numbers, or a named colour.
 *
 * @example
 * isCssColor('#1a56db') // true
 * isCssColor('red;}body{display:none') // false
 */
export function isCssColor(value: unknown): value is string {
  if (typeof value !== 'string' || value.length > 64) return false
  return HEX.test(value) || NAMED.has(value.toLowerCase()) || FUNCTIONS.some((f) => f.test(value))
}
