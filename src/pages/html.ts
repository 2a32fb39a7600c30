import type { OAuthErrorCode } from '../errors.js'
import type { GrantkitResponse } from '../http/types.js'

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** Escapes text for HTML content and quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c]!)
}

/**
 * Headers of every page a person sees: no framing (clickjacking, RFC 9700
 * §4.16), no scripts, no caching of pages that carry CSRF values, no referrer
 * leaking the interaction URL.
 */
const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  pragma: 'no-cache',
}

const STYLE = `
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f5f7;color:#1d2129}
main{max-width:26rem;margin:8vh auto;padding:1.5rem;background:#fff;border-radius:.75rem;box-shadow:0 1px 4px rgba(0,0,0,.12)}
h1{font-size:1.35rem;margin:0 0 1rem}
label{display:block;margin:.75rem 0 .25rem;font-weight:600}
input[type=text],input[type=password]{width:100%;min-height:2.75rem;padding:.65rem;font-size:1rem;border:1px solid #b8bec7;border-radius:.4rem}
button{font-size:1rem;min-height:2.75rem;padding:.65rem 1.2rem;border-radius:.4rem;border:1px solid #1a56db;background:#1a56db;color:#fff;cursor:pointer;margin:1rem .5rem 0 0}
button.secondary{background:#fff;color:#1a56db}
.error{background:#fdecea;color:#8a1c12;padding:.6rem .8rem;border-radius:.4rem}
ul{padding-left:1.2rem}
code{background:#eef0f3;padding:.1rem .3rem;border-radius:.25rem}
@media (max-width:30rem){main{margin:0;border-radius:0;min-height:100vh}}
`

/** A complete page around already-escaped HTML. */
export function page(title: string, bodyHtml: string, status = 200, extraHeaders: Record<string, string | string[]> = {}): GrantkitResponse {
  const body = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${bodyHtml}
</main>
</body>
</html>
`
  return { status, headers: { ...PAGE_HEADERS, ...extraHeaders }, body }
}

/** The page shown instead of redirecting when the client or redirect_uri cannot be trusted. */
export function errorPage(error: OAuthErrorCode, description: string | undefined, status = 400, extraHeaders: Record<string, string> = {}): GrantkitResponse {
  return page(
    'Sign-in error',
    `<h1>Something went wrong</h1>
<p class="error" role="alert">${escapeHtml(description ?? 'The request could not be completed.')}</p>
<p>Error code: <code>${escapeHtml(error)}</code></p>
<p>Go back to the application you came from and try again.</p>`,
    status,
    extraHeaders,
  )
}
