import { openApiPath } from '../../src/http/openapi';
import { buildOpenApiDocument } from '../../src/openapi/document';
import { escapeHtml, renderReferencePage } from '../../src/openapi/reference-page';

describe('the /api/docs page', () => {
  it('escapes every text it takes from the document', () => {
    const page = renderReferencePage(
      {
        openapi: '3.1.0',
        info: { title: '<script>alert(1)</script>', version: '1', description: 'a `<b>` tag' },
        tags: [{ name: 'T' }],
        paths: { '/x/{id}': { get: { tags: ['T'], summary: '"quoted" & <i>', responses: {} } } },
      },
      'openapi.json',
    );
    expect(page).not.toContain('<script>');
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).toContain('a <code>&lt;b&gt;</code> tag');
    expect(page).toContain('&quot;quoted&quot; &amp; &lt;i&gt;');
    expect(escapeHtml(`'`)).toBe('&#39;');
  });

  it('lists every operation of the document with a link to it', () => {
    const doc = buildOpenApiDocument();
    const page = renderReferencePage(doc, 'openapi.json');
    const operations = Object.values(doc.paths as Record<string, Record<string, unknown>>).flatMap(
      (item) => Object.keys(item),
    );
    expect(page.match(/<section class="op"/g)).toHaveLength(operations.length);
    expect(page).toContain('href="openapi.json"');
  });

  it('maps registered route templates to OpenAPI paths', () => {
    expect(openApiPath('verifications/{id}')).toBe('/api/verifications/{id}');
    expect(openApiPath('items/{id:int}/{name?}/{*rest}')).toBe('/api/items/{id}/{name}/{rest}');
  });
});
