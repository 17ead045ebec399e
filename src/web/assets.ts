// The view's one stylesheet and its one small script, served from memory under /static/
// (the CSP allows only 'self': no inline style or script, no CDN, no remote font).

/** Colours chosen for at least 4.5:1 contrast of text on its background (WCAG AA). */
export const CSS = `:root{--fg:#1b1f24;--muted:#4b5563;--bg:#fff;--line:#d0d7de;--link:#0550ae;--ok:#116329;--bad:#a40e26;--warn:#7d4e00;--code:#f6f8fa;--focus:#0969da}
*{box-sizing:border-box}
html{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
body{margin:0}
a{color:var(--link)}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,summary:focus-visible,main:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:.5em 1em;z-index:2}
.skip:focus{left:.5em}
.top{display:flex;gap:1.5em;align-items:center;padding:.6em 1.5em;border-bottom:1px solid var(--line);background:#f6f8fa}
.brand{font-weight:600;text-decoration:none;color:var(--fg)}
.crumbs{display:flex;flex-wrap:wrap;list-style:none;margin:0;padding:0}
.crumbs li+li::before{content:"/";padding:0 .5em;color:var(--muted)}
.crumbs a[aria-current]{color:var(--fg);font-weight:600;text-decoration:none}
main{padding:1em 1.5em 2em;max-width:1400px}
h1{font-size:1.5em;margin:.3em 0 .6em;overflow-wrap:anywhere}
h2{font-size:1.2em;margin:1.4em 0 .5em;border-bottom:1px solid var(--line);padding-bottom:.2em}
h3{font-size:1.05em}
.foot{padding:1em 1.5em;color:var(--muted);border-top:1px solid var(--line);font-size:.9em}
.muted{color:var(--muted)}
.ok,.o-ok{color:var(--ok)}
.err,.o-bad{color:var(--bad)}
.count{background:var(--bad);color:#fff;border-radius:1em;padding:0 .5em;font-size:.8em}
table.grid{border-collapse:collapse;width:100%;margin:.5em 0 1em}
.grid th,.grid td{border-bottom:1px solid var(--line);padding:.35em .6em;text-align:left;vertical-align:top}
.grid thead th{background:#f6f8fa;font-weight:600}
.grid caption{text-align:left;font-weight:600;padding:.3em 0}
.grid tr.form th{padding-left:2em;font-weight:normal}
.grid .n{text-align:right;font-variant-numeric:tabular-nums}
.grid .w{width:30%}
.msg{overflow-wrap:anywhere;max-width:50em}
.kv th{width:14em}
.bar{display:block;width:100%;max-width:24em;height:.8em;background:#eaeef2;border-radius:2px}
.r-Ready{fill:#1a7f37}.r-Progressing{fill:#0969da}.r-Degraded{fill:#cf222e}.r-Missing{fill:#8c1c13}.r-Unknown{fill:#8c959f}.r-NotRead{fill:#d0d7de}
.legend{font-size:.85em}
.badge{display:inline-block;border-radius:3px;padding:0 .4em;font-size:.85em;border:1px solid currentColor;white-space:nowrap}
.b-Ready{color:var(--ok)}.b-Progressing{color:var(--link)}.b-Degraded,.b-Missing{color:#fff;background:var(--bad);border-color:var(--bad)}.b-Unknown,.b-NotRead{color:var(--muted)}
.mark{font-weight:600}.s-failed,.s-conflicted{color:var(--bad)}.s-held,.s-waiting,.s-paused{color:var(--warn)}
.problems{padding-left:1.2em}
.problems li{margin:.2em 0;overflow-wrap:anywhere}
.kind{display:inline-block;min-width:6.5em;font-weight:600;color:var(--bad)}
.p-held .kind,.p-halted .kind,.p-config .kind{color:var(--warn)}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:.3em 1.2em;margin:0 0 1em}
.facts dt{font-weight:600}
.facts dd{margin:0;overflow-wrap:anywhere}
.filter{display:flex;flex-wrap:wrap;gap:.5em;align-items:center;margin:.5em 0}
.filter input,.filter select,.login input{font:inherit;padding:.25em .4em;border:1px solid #8c959f;border-radius:3px}
button{font:inherit;padding:.25em .9em;border:1px solid #1f6feb;background:#0969da;color:#fff;border-radius:3px;cursor:pointer}
.login{display:flex;flex-direction:column;gap:.5em;max-width:24em}
.pager{display:flex;gap:1em;margin:.5em 0}
.rollout{border:1px solid var(--line);border-radius:4px;padding:.2em 1em .8em;margin:1em 0}
.rollout progress{width:100%;max-width:30em}
.progress{font-weight:600}
pre{background:var(--code);border:1px solid var(--line);border-radius:4px;padding:.7em;overflow:auto;max-height:40em;font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.92em}
.value{white-space:pre-wrap;overflow-wrap:anywhere}
.masked{letter-spacing:.1em;color:var(--muted)}
details{margin:.3em 0}
summary{cursor:pointer;padding:.2em 0}
.toc{display:flex;gap:1em;margin-bottom:.5em}
.yk{color:#0550ae}.ys{color:#0a3069}.yn{color:#8a4600}.yc{color:#57606a;font-style:italic}.yp{color:#6e7781}
@media (max-width:800px){main{padding:.5em}.grid .w{width:auto}.top{flex-wrap:wrap}}
`;

/** Keyboard help, and nothing a page needs: "/" focuses the search box. Every page works without it. */
export const JS = `document.addEventListener('keydown', function (event) {
  var target = event.target;
  if (event.key !== '/' || event.ctrlKey || event.metaKey || event.altKey) return;
  if (target && (target.tagName === 'INPUT' || target.tagName === 'SELECT' || target.tagName === 'TEXTAREA')) return;
  var search = document.getElementById('q');
  if (search) { event.preventDefault(); search.focus(); }
});
`;

/** A small mark for the tab, so the browser asks for no /favicon.ico. */
export const ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#0969da"/><path d="M4 3v10h8v-2H6V3z" fill="#fff"/></svg>
`;
