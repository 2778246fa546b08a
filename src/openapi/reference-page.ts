/**
 * `/api/docs`: the OpenAPI document rendered as one static HTML page on the server. No script, no CDN and
 * no bundle to ship with the deployed app; the page reads well without JavaScript and is printable.
 */

type Json = Record<string, unknown>;

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

const obj = (value: unknown): Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
const str = (value: unknown): string => (typeof value === 'string' ? value : '');
/** Backticks in descriptions become <code>. */
const prose = (text: unknown): string =>
  escapeHtml(str(text)).replace(/`([^`]+)`/g, '<code>$1</code>');

function anchor(method: string, path: string): string {
  return `${method}-${path}`.replace(/[^A-Za-z0-9]+/g, '-');
}

function schemaHtml(schema: unknown): string {
  const ref = str(obj(schema).$ref);
  if (ref.startsWith('#/components/schemas/')) {
    const name = ref.slice('#/components/schemas/'.length);
    return `<a href="#schema-${escapeHtml(name)}">${escapeHtml(name)}</a>`;
  }
  const simple = obj(schema);
  if (Object.keys(simple).length === 0) return '';
  if (Object.keys(simple).every((k) => ['type', 'pattern', 'examples', 'format'].includes(k))) {
    const format = str(simple.format) ? ` (${escapeHtml(str(simple.format))})` : '';
    const pattern = str(simple.pattern)
      ? `, pattern <code>${escapeHtml(str(simple.pattern))}</code>`
      : '';
    return `<code>${escapeHtml(JSON.stringify(simple.type))}</code>${format}${pattern}`;
  }
  return `<pre>${escapeHtml(JSON.stringify(schema, null, 2))}</pre>`;
}

function securityHtml(security: unknown): string {
  const options = Array.isArray(security) ? security.map((s) => Object.keys(obj(s))) : [];
  if (options.length === 0) return 'none (anonymous)';
  return options.map((names) => names.map((n) => `<code>${escapeHtml(n)}</code>`)).join(' or ');
}

function operationHtml(method: string, path: string, op: Json): string {
  const params = Array.isArray(op.parameters) ? op.parameters.map(obj) : [];
  const body = obj(op.requestBody);
  // JSON for the app's own routes, a form for the Verify API's (the first media type documented).
  const [bodyType, bodyMedia] = Object.entries(obj(body.content))[0] ?? ['application/json', {}];
  const bodyContent = obj(bodyMedia);
  const examples = Object.values(obj(bodyContent.examples)).map(obj);
  const responses = Object.entries(obj(op.responses)).map(([status, r]) => {
    const response = obj(r);
    const content = Object.entries(obj(response.content));
    const [type, media] = content[0] ?? ['', {}];
    const example = obj(media).example;
    return `<tr><td class="status s${status[0] ?? ''}">${escapeHtml(status)}</td><td>${prose(response.description)}</td><td>${
      type ? `<code>${escapeHtml(type)}</code> ${schemaHtml(obj(media).schema)}` : '(no body)'
    }${example === undefined ? '' : `<details><summary>Example</summary><pre>${escapeHtml(JSON.stringify(example, null, 2))}</pre></details>`}</td></tr>`;
  });
  return `<section class="op" id="${anchor(method, path)}">
<h3><span class="method ${method}">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code></h3>
<p>${prose(op.summary)}</p>${op.description ? `<p>${prose(op.description)}</p>` : ''}
<p><strong>Authentication:</strong> ${securityHtml(op.security)}</p>
${
  params.length > 0
    ? `<h4>Path parameters</h4><ul>${params.map((p) => `<li><code>${escapeHtml(str(p.name))}</code> ${schemaHtml(p.schema)}</li>`).join('')}</ul>`
    : ''
}
${
  op.requestBody
    ? `<h4>Request body${body.required === true ? '' : ' (optional)'}: <code>${escapeHtml(bodyType)}</code> ${schemaHtml(bodyContent.schema)}</h4>${examples
        .map(
          (e) =>
            `<details><summary>Example: ${escapeHtml(str(e.summary))}</summary><pre>${escapeHtml(JSON.stringify(e.value, null, 2))}</pre></details>`,
        )
        .join('')}`
    : ''
}
<h4>Responses</h4>
<table><thead><tr><th scope="col">Status</th><th scope="col">Meaning</th><th scope="col">Body</th></tr></thead><tbody>${responses.join('')}</tbody></table>
</section>`;
}

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1b1f24;background:#fff}
header{background:#0b3d91;color:#fff;padding:1rem 2rem}header a{color:#cfe0ff}
main{display:grid;grid-template-columns:minmax(12rem,20rem) minmax(0,1fr);gap:2rem;padding:1rem 2rem}
nav ul{list-style:none;padding:0}nav li{margin:.3rem 0;font-size:.9rem}nav a{text-decoration:none;overflow-wrap:anywhere}
.op{border:1px solid #d0d7de;border-radius:6px;padding:0 1rem 1rem;margin:1rem 0}
.method{display:inline-block;min-width:4.5rem;text-align:center;border-radius:4px;color:#fff;font-size:.85rem;padding:.1rem .4rem}
.get{background:#1a7f37}.post{background:#0969da}.delete{background:#cf222e}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
.status{font-weight:600}.s2{color:#1a7f37}.s4{color:#9a6700}.s5{color:#cf222e}
pre{background:#f6f8fa;padding:.5rem;overflow:auto;font-size:.85rem;white-space:pre-wrap}code{overflow-wrap:anywhere}a:focus,summary:focus{outline:2px solid #0969da}`;

export function renderReferencePage(doc: Json, documentUrl: string): string {
  const info = obj(doc.info);
  const tags = (Array.isArray(doc.tags) ? doc.tags : []).map(obj);
  const operations: { tag: string; method: string; path: string; op: Json }[] = [];
  for (const [path, item] of Object.entries(obj(doc.paths))) {
    for (const [method, op] of Object.entries(obj(item))) {
      const tag = str((obj(op).tags as unknown[] | undefined)?.[0]);
      operations.push({ tag, method, path, op: obj(op) });
    }
  }
  const schemes = Object.entries(obj(obj(doc.components).securitySchemes));
  const schemas = Object.entries(obj(obj(doc.components).schemas));
  const sections = tags.map((t) => {
    const name = str(t.name);
    const ops = operations.filter((o) => o.tag === name);
    return `<h2 id="tag-${anchor('', name)}">${escapeHtml(name)}</h2>${t.description ? `<p>${prose(t.description)}</p>` : ''}${ops
      .map((o) => operationHtml(o.method, o.path, o.op))
      .join('\n')}`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(str(info.title))}: API reference</title><style>${STYLE}</style></head>
<body><header><h1>${escapeHtml(str(info.title))} <small>${escapeHtml(str(info.version))}</small></h1>
<p>${prose(info.description)}</p><p>OpenAPI ${escapeHtml(str(doc.openapi))} document: <a href="${escapeHtml(documentUrl)}">${escapeHtml(documentUrl)}</a></p></header>
<main><nav aria-label="Operations"><ul>${operations
    .map(
      (o) =>
        `<li><a href="#${anchor(o.method, o.path)}"><span class="method ${o.method}">${o.method.toUpperCase()}</span> ${escapeHtml(o.path)}</a></li>`,
    )
    .join('')}</ul></nav>
<div><h2 id="authentication">Authentication</h2><ul>${schemes
    .map(([name, s]) => `<li><code>${escapeHtml(name)}</code>: ${prose(obj(s).description)}</li>`)
    .join('')}</ul>
${sections.join('\n')}
<h2 id="schemas">Schemas</h2>${schemas
    .map(
      ([name, s]) =>
        `<section id="schema-${escapeHtml(name)}"><h3>${escapeHtml(name)}</h3>${obj(s).description ? `<p>${prose(obj(s).description)}</p>` : ''}<pre>${escapeHtml(JSON.stringify(s, null, 2))}</pre></section>`,
    )
    .join('')}</div></main></body></html>`;
}
