// The dashboard page: plain DOM code, no framework. It talks only to /_dashboard/api (same origin); the
// server adds the system key and hides secrets, so nothing here ever holds a key, code or token.
'use strict';

const API = '/_dashboard/api';
const REFRESH_MS = 2000;
const main = document.getElementById('main');
const announcer = document.getElementById('announcer');
/** From another machine (LOCAL_DASHBOARD_ALLOW_REMOTE) the API needs the master key: ?code=... */
const remoteKey = new URLSearchParams(location.search).get('code');
let refreshTimer = undefined;
let renderToken = 0;

/** Builds an element; strings become text nodes, so nothing from the API is parsed as HTML. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'className') el.className = v;
    // Through CSSOM: the page's CSP allows no inline style attributes.
    else if (k === 'style') Object.assign(el.style, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

async function api(path, { method = 'GET', body } = {}) {
  const headers = { 'x-dashboard-request': '1' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (remoteKey) headers['x-functions-key'] = remoteKey;
  const response = await fetch(`${API}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const value = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const detail = value && (value.detail || value.ExceptionMessage || value.title);
    const error = new Error(detail || `HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return value;
}

function announce(text) {
  announcer.textContent = '';
  announcer.textContent = text;
}

function message(text, isError = false) {
  return h(
    'p',
    { className: isError ? 'message error' : 'message', role: isError ? 'alert' : 'status' },
    text,
  );
}

/** Confirmation in a modal <dialog>: focus moves into it and Escape cancels. */
function confirmAction(text, label = 'Confirm') {
  const dialog = document.getElementById('confirm');
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-ok').textContent = label;
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.returnValue = 'cancel';
    dialog.showModal();
    document.getElementById('confirm-cancel').focus();
  });
}

const json = (value) =>
  h('pre', {}, value === undefined || value === null ? 'null' : JSON.stringify(value, null, 2));
const statusLabel = (s) => h('span', { className: `status status-${s}` }, s);
const when = (iso) => (iso ? new Date(iso).toLocaleString() : '');
/**
 * The first few short scalar fields of an instance's custom status (already redacted by the
 * server), e.g. a verification's status, service and channel: enough to tell instances apart.
 */
function customSummary(customStatus) {
  if (typeof customStatus !== 'object' || customStatus === null) return '';
  return Object.entries(customStatus)
    .filter(([, v]) => ['string', 'number', 'boolean'].includes(typeof v) && String(v).length <= 40)
    .slice(0, 4)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
}

const instanceLink = (id) => h('a', { href: `#/instances/${encodeURIComponent(id)}` }, id);

function formatDuration(ms) {
  if (ms === null || ms === undefined) return '…';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

/** Previous / next buttons for a list paged by continuation tokens; `move(±1)` turns the page. */
function pagerBar(pageIndex, hasNext, move) {
  return h(
    'div',
    { className: 'toolbar' },
    h(
      'button',
      { type: 'button', disabled: pageIndex === 0, onclick: () => move(-1) },
      'Previous page',
    ),
    h('span', {}, `Page ${pageIndex + 1}`),
    h('button', { type: 'button', disabled: !hasNext, onclick: () => move(1) }, 'Next page'),
  );
}

function setRefresh(fn) {
  clearInterval(refreshTimer);
  refreshTimer = fn ? setInterval(fn, REFRESH_MS) : undefined;
}

// ---- Instances list ----------------------------------------------------------------------------

const listState = { filters: {}, tokens: [null], page: 0, live: true };

function listQuery() {
  const q = new URLSearchParams();
  const f = listState.filters;
  if (f.name) q.set('name', f.name);
  for (const s of f.statuses ?? []) q.append('status', s);
  if (f.from) q.set('from', new Date(f.from).toISOString());
  if (f.to) q.set('to', new Date(f.to).toISOString());
  if (f.prefix) q.set('prefix', f.prefix);
  q.set('top', '20');
  const token = listState.tokens[listState.page];
  if (token) q.set('continuationToken', token);
  return q.toString();
}

async function renderInstances(token) {
  const { statuses, counts } = await api('/counts');
  if (token !== renderToken) return;
  const f = listState.filters;
  const statusBoxes = statuses.map((s) =>
    h(
      'label',
      {},
      h('input', {
        type: 'checkbox',
        name: 'status',
        value: s,
        checked: (f.statuses ?? []).includes(s),
      }),
      ` ${s}`,
    ),
  );
  const filterForm = h(
    'form',
    {
      'aria-label': 'Filter instances',
      onsubmit: (e) => {
        e.preventDefault();
        const data = new FormData(e.target);
        listState.filters = {
          name: data.get('name').trim(),
          prefix: data.get('prefix').trim(),
          from: data.get('from'),
          to: data.get('to'),
          statuses: data.getAll('status'),
        };
        listState.tokens = [null];
        listState.page = 0;
        void refreshList();
      },
    },
    h(
      'fieldset',
      { className: 'filters' },
      h('legend', {}, 'Filters'),
      h(
        'div',
        { className: 'field' },
        h('label', { for: 'f-name' }, 'Orchestrator name'),
        h('input', { id: 'f-name', name: 'name', type: 'text', value: f.name ?? '' }),
      ),
      h(
        'div',
        { className: 'field' },
        h('label', { for: 'f-prefix' }, 'Instance id prefix'),
        h('input', { id: 'f-prefix', name: 'prefix', type: 'text', value: f.prefix ?? '' }),
      ),
      h(
        'div',
        { className: 'field' },
        h('label', { for: 'f-from' }, 'Created from'),
        h('input', {
          id: 'f-from',
          name: 'from',
          type: 'datetime-local',
          step: 1,
          value: f.from ?? '',
        }),
      ),
      h(
        'div',
        { className: 'field' },
        h('label', { for: 'f-to' }, 'Created to'),
        h('input', { id: 'f-to', name: 'to', type: 'datetime-local', step: 1, value: f.to ?? '' }),
      ),
      h('fieldset', { className: 'statuses' }, h('legend', {}, 'Runtime status'), statusBoxes),
      h('button', { type: 'submit', className: 'primary' }, 'Apply filters'),
    ),
  );
  const live = h('input', {
    type: 'checkbox',
    id: 'live',
    checked: listState.live,
    onchange: (e) => {
      listState.live = e.target.checked;
      setRefresh(listState.live ? refreshList : undefined);
    },
  });
  main.replaceChildren(
    h('h2', {}, 'Instances'),
    h('ul', { className: 'counts', 'aria-label': 'Instances per status', id: 'counts' }),
    filterForm,
    h(
      'div',
      { className: 'toolbar' },
      h('label', { for: 'live' }, live, ' Live refresh'),
      h(
        'button',
        {
          type: 'button',
          onclick: () => {
            // The app's verification webhooks: one DeliverVerificationEvent instance per event.
            listState.filters = { ...listState.filters, name: 'DeliverVerificationEvent' };
            listState.tokens = [null];
            listState.page = 0;
            void renderInstances(renderToken);
          },
        },
        'Webhook deliveries',
      ),
      h('span', { id: 'list-page' }),
    ),
    h('div', { id: 'list' }),
    purgeByFilterForm(statuses),
  );
  renderCounts(counts);
  await refreshList();
  setRefresh(listState.live ? refreshList : undefined);
}

function renderCounts(counts) {
  const el = document.getElementById('counts');
  if (!el) return;
  const entries = Object.entries(counts);
  el.replaceChildren(
    ...(entries.length === 0
      ? [h('li', {}, 'No instances')]
      : entries.map(([s, n]) => h('li', { 'data-status': s }, statusLabel(s), `: ${n}`))),
  );
}

async function refreshList() {
  const list = document.getElementById('list');
  if (!list) return;
  try {
    const [{ counts }, page] = await Promise.all([
      api('/counts'),
      api(`/instances?${listQuery()}`),
    ]);
    renderCounts(counts);
    listState.tokens[listState.page + 1] = page.continuationToken;
    const rows = page.instances.map((i) =>
      h(
        'tr',
        { 'data-instance-id': i.instanceId },
        h('td', {}, instanceLink(i.instanceId)),
        h('td', {}, i.name),
        h('td', {}, statusLabel(i.runtimeStatus)),
        h('td', {}, when(i.createdTime)),
        h('td', {}, when(i.lastUpdatedTime)),
        h('td', { className: 'custom-summary' }, customSummary(i.customStatus)),
      ),
    );
    const pager = pagerBar(listState.page, Boolean(page.continuationToken), movePage);
    list.replaceChildren(
      rows.length === 0
        ? h('p', {}, 'No instances match.')
        : h(
            'table',
            {},
            h('caption', { className: 'visually-hidden' }, 'Orchestration instances'),
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['Instance id', 'Name', 'Status', 'Created', 'Last updated', 'Custom status'].map(
                  (t) => h('th', { scope: 'col' }, t),
                ),
              ),
            ),
            h('tbody', {}, rows),
          ),
      pager,
    );
  } catch (e) {
    list.replaceChildren(message(`Could not list instances: ${e.message}`, true));
  }
}

function movePage(delta) {
  listState.page = Math.max(0, listState.page + delta);
  void refreshList();
}

function purgeByFilterForm(statuses) {
  const result = h('div', { 'aria-live': 'polite' });
  return h(
    'form',
    {
      'aria-label': 'Purge by filter',
      onsubmit: async (e) => {
        e.preventDefault();
        const data = new FormData(e.target);
        const from = data.get('from');
        if (!from) {
          result.replaceChildren(message('Choose "created from" to purge by filter.', true));
          return;
        }
        const chosen = data.getAll('status');
        const to = data.get('to');
        const text = `Purge the history of every instance created from ${from}${to ? ` to ${to}` : ''}${chosen.length ? ` with status ${chosen.join(', ')}` : ''}? This cannot be undone.`;
        if (!(await confirmAction(text, 'Purge'))) return;
        try {
          const r = await api('/purge', {
            method: 'POST',
            body: {
              from: new Date(from).toISOString(),
              to: to ? new Date(to).toISOString() : undefined,
              statuses: chosen,
            },
          });
          result.replaceChildren(message(`Purged ${r.instancesDeleted} instance(s).`));
          announce(`Purged ${r.instancesDeleted} instances`);
          void refreshList();
        } catch (err) {
          result.replaceChildren(message(`Purge failed: ${err.message}`, true));
        }
      },
    },
    h(
      'fieldset',
      { className: 'filters' },
      h('legend', {}, 'Purge by filter'),
      h(
        'div',
        { className: 'field' },
        h('label', { for: 'p-from' }, 'Created from (required)'),
        h('input', { id: 'p-from', name: 'from', type: 'datetime-local', step: 1, required: true }),
      ),
      h(
        'div',
        { className: 'field' },
        h('label', { for: 'p-to' }, 'Created to'),
        h('input', { id: 'p-to', name: 'to', type: 'datetime-local', step: 1 }),
      ),
      h(
        'fieldset',
        { className: 'statuses' },
        h('legend', {}, 'Runtime status'),
        statuses.map((s) =>
          h('label', {}, h('input', { type: 'checkbox', name: 'status', value: s }), ` ${s}`),
        ),
      ),
      h('button', { type: 'submit', className: 'danger' }, 'Purge…'),
    ),
    result,
  );
}

// ---- One instance ------------------------------------------------------------------------------

async function renderInstance(token, id) {
  const holder = h('div', { id: 'instance' });
  const feedback = h('div', { id: 'action-result', 'aria-live': 'polite' });
  main.replaceChildren(
    h('p', {}, h('a', { href: '#/instances' }, '← All instances')),
    h('h2', {}, 'Instance ', h('code', {}, id)),
    feedback,
    actionsPanel(id, feedback),
    holder,
  );
  const refresh = async () => {
    try {
      const detail = await api(`/instances/${encodeURIComponent(id)}`);
      if (token !== renderToken) return;
      holder.replaceChildren(...instanceSections(detail));
    } catch (e) {
      holder.replaceChildren(message(e.message, true));
    }
  };
  await refresh();
  setRefresh(refresh);
}

function instanceSections(d) {
  return [
    h(
      'dl',
      { className: 'summary', 'aria-label': 'Summary' },
      h('dt', {}, 'Name'),
      h('dd', {}, d.name),
      h('dt', {}, 'Runtime status'),
      h('dd', { id: 'runtime-status' }, statusLabel(d.runtimeStatus)),
      h('dt', {}, 'Created'),
      h('dd', {}, when(d.createdTime)),
      h('dt', {}, 'Last updated'),
      h('dd', {}, when(d.lastUpdatedTime)),
    ),
    h(
      'div',
      { className: 'grid' },
      h(
        'section',
        { 'aria-labelledby': 'h-custom' },
        h('h3', { id: 'h-custom' }, 'Custom status'),
        json(d.customStatus),
      ),
      h(
        'section',
        { 'aria-labelledby': 'h-input' },
        h('h3', { id: 'h-input' }, 'Input'),
        json(d.input),
      ),
      h(
        'section',
        { 'aria-labelledby': 'h-output' },
        h('h3', { id: 'h-output' }, 'Output'),
        json(d.output),
      ),
    ),
    h(
      'section',
      { 'aria-labelledby': 'h-timeline' },
      h('h3', { id: 'h-timeline' }, 'Timeline'),
      timeline(d.timeline),
    ),
    h(
      'section',
      { 'aria-labelledby': 'h-history' },
      h('h3', { id: 'h-history' }, 'History'),
      historyTable(d.history),
    ),
  ];
}

function timeline(items) {
  if (items.length === 0) return h('p', {}, 'No history yet.');
  const starts = items.map((i) => Date.parse(i.start));
  const ends = items.map((i) => (i.end ? Date.parse(i.end) : Date.now()));
  const t0 = Math.min(...starts);
  const span = Math.max(1, Math.max(...ends, ...starts) - t0);
  return h(
    'ul',
    { className: 'timeline', 'aria-label': 'Timeline' },
    items.map((i) => {
      const start = Date.parse(i.start);
      const end = i.end ? Date.parse(i.end) : Math.max(...ends);
      const left = ((start - t0) / span) * 100;
      const width = ((end - start) / span) * 100;
      const label = `${i.kind}: ${i.name}`;
      return h(
        'li',
        { 'data-kind': i.kind },
        h('span', {}, label),
        h(
          'span',
          {
            className: 'track',
            role: 'img',
            'aria-label': `${label}, ${i.outcome}, ${formatDuration(i.durationMs)}`,
          },
          h('span', {
            className: `bar kind-${i.kind} outcome-${i.outcome}`,
            style: { left: `${left}%`, width: `${width}%` },
            title: `${i.outcome}, ${formatDuration(i.durationMs)}`,
          }),
        ),
        h(
          'span',
          {},
          i.kind === 'event' ? i.outcome : formatDuration(i.durationMs),
          i.outcome === 'cancelled' || i.outcome === 'failed' ? ` (${i.outcome})` : '',
        ),
      );
    }),
  );
}

function historyTable(history) {
  const detailOf = (e) => {
    const rest = { ...e };
    for (const k of ['EventType', 'Timestamp', 'Name', 'FunctionName']) delete rest[k];
    return Object.keys(rest).length === 0 ? '' : JSON.stringify(rest);
  };
  return h(
    'table',
    {},
    h('caption', { className: 'visually-hidden' }, 'History events'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['Time', 'Event', 'Name', 'Details'].map((t) => h('th', { scope: 'col' }, t)),
      ),
    ),
    h(
      'tbody',
      {},
      history.map((e) =>
        h(
          'tr',
          {},
          h('td', {}, when(e.Timestamp)),
          h('td', {}, e.EventType),
          h('td', {}, e.Name ?? e.FunctionName ?? ''),
          h('td', {}, h('code', {}, detailOf(e))),
        ),
      ),
    ),
  );
}

function actionsPanel(id, feedback) {
  const run = async (label, path, body, question = `${label} instance ${id}?`) => {
    if (!(await confirmAction(question, label))) return;
    try {
      const r = await api(`/instances/${encodeURIComponent(id)}${path}`, {
        method: path ? 'POST' : 'DELETE',
        body,
      });
      if (!path) {
        announce(`Purged ${id}`);
        location.hash = '#/instances';
        return;
      }
      const extra = r && r.id && r.id !== id ? ` New instance: ${r.id}.` : '';
      feedback.replaceChildren(message(`${label}: done.${extra}`));
      announce(`${label} done`);
    } catch (e) {
      // 410 (finished) or 500: the runtime rewinds only Failed instances (its detail names the status).
      const why =
        (e.status === 410 || e.status === 500) && path === '/rewind'
          ? `only a Failed instance can be rewound. ${e.message}`
          : e.message;
      feedback.replaceChildren(message(`${label} failed: ${why}`, true));
    }
  };
  const reason = h('input', {
    id: 'a-reason',
    name: 'reason',
    type: 'text',
    placeholder: 'optional',
  });
  const simple = (label, op) =>
    h(
      'button',
      {
        type: 'button',
        onclick: () => run(label, `/${op}`, { reason: reason.value || undefined }),
      },
      label,
    );
  const raiseForm = h(
    'form',
    {
      'aria-label': 'Raise event',
      onsubmit: async (e) => {
        e.preventDefault();
        const data = new FormData(e.target);
        const eventName = data.get('eventName').trim();
        let payload;
        try {
          payload = JSON.parse(data.get('data') || 'null');
        } catch {
          feedback.replaceChildren(
            message('Event data must be JSON (a string needs quotes).', true),
          );
          return;
        }
        await run(
          `Raise ${eventName}`,
          '/raise-event',
          { eventName, data: payload },
          `Raise the event ${eventName} on instance ${id}?`,
        );
        e.target.reset();
      },
    },
    h(
      'div',
      { className: 'field' },
      h('label', { for: 'a-event' }, 'Event name'),
      h('input', {
        id: 'a-event',
        name: 'eventName',
        type: 'text',
        required: true,
        value: 'SmsChallengeResponse',
      }),
    ),
    h(
      'div',
      { className: 'field' },
      h('label', { for: 'a-data' }, 'Event data (JSON)'),
      h('input', {
        id: 'a-data',
        name: 'data',
        type: 'password',
        autocomplete: 'off',
        placeholder: '"123456"',
      }),
    ),
    h('button', { type: 'submit', className: 'primary' }, 'Raise event…'),
  );
  return h(
    'section',
    { className: 'actions', 'aria-labelledby': 'h-actions' },
    h('h3', { id: 'h-actions' }, 'Actions'),
    raiseForm,
    h(
      'form',
      { 'aria-label': 'Control', onsubmit: (e) => e.preventDefault() },
      h('div', { className: 'field' }, h('label', { for: 'a-reason' }, 'Reason'), reason),
      simple('Terminate', 'terminate'),
      simple('Suspend', 'suspend'),
      simple('Resume', 'resume'),
      simple('Restart', 'restart'),
      simple('Rewind', 'rewind'),
      h(
        'button',
        {
          type: 'button',
          className: 'danger',
          onclick: () =>
            run(
              'Purge',
              '',
              undefined,
              `Purge instance ${id} and its history? This cannot be undone.`,
            ),
        },
        'Purge…',
      ),
    ),
  );
}

// ---- Entities and local services -----------------------------------------------------------------

const entityState = { name: '', tokens: [null], page: 0 };
const entityHash = (e) => `#/entities/${encodeURIComponent(e.name)}/${encodeURIComponent(e.key)}`;

async function renderEntities(token) {
  if (token !== renderToken) return;
  const filterForm = h(
    'form',
    {
      'aria-label': 'Filter entities',
      onsubmit: (e) => {
        e.preventDefault();
        entityState.name = new FormData(e.target).get('name').trim();
        entityState.tokens = [null];
        entityState.page = 0;
        void refreshEntities();
      },
    },
    h(
      'div',
      { className: 'field' },
      h('label', { for: 'e-name' }, 'Entity name'),
      h('input', { id: 'e-name', name: 'name', type: 'text', value: entityState.name }),
    ),
    h('button', { type: 'submit', className: 'primary' }, 'Apply filter'),
  );
  main.replaceChildren(h('h2', {}, 'Entities'), filterForm, h('div', { id: 'entity-list' }));
  await refreshEntities();
}

async function refreshEntities() {
  const list = document.getElementById('entity-list');
  if (!list) return;
  const q = new URLSearchParams({ top: '20' });
  if (entityState.name) q.set('name', entityState.name);
  const pageToken = entityState.tokens[entityState.page];
  if (pageToken) q.set('continuationToken', pageToken);
  try {
    const page = await api(`/entities?${q}`);
    entityState.tokens[entityState.page + 1] = page.continuationToken;
    const move = (delta) => {
      entityState.page = Math.max(0, entityState.page + delta);
      void refreshEntities();
    };
    const pager = pagerBar(entityState.page, Boolean(page.continuationToken), move);
    list.replaceChildren(
      page.entities.length === 0
        ? h(
            'p',
            { id: 'entities-none' },
            entityState.name ? 'No entities match.' : 'No entities yet.',
          )
        : h(
            'table',
            { id: 'entities' },
            h('caption', { className: 'visually-hidden' }, 'Durable entities'),
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['Name', 'Key', 'Last operation'].map((t) => h('th', { scope: 'col' }, t)),
              ),
            ),
            h(
              'tbody',
              {},
              page.entities.map((e) =>
                h(
                  'tr',
                  { 'data-entity': `${e.name}@${e.key}` },
                  h('td', {}, e.name),
                  h('td', {}, h('a', { href: entityHash(e) }, e.key)),
                  h('td', {}, when(e.lastOperationTime)),
                ),
              ),
            ),
          ),
      pager,
    );
  } catch (e) {
    list.replaceChildren(message(`Could not list entities: ${e.message}`, true));
  }
}

async function renderEntity(token, name, key) {
  let body;
  try {
    const r = await api(`/entities/${encodeURIComponent(name)}/${encodeURIComponent(key)}`);
    body = [h('h3', { id: 'h-state' }, 'State'), h('div', { id: 'entity-state' }, json(r.state))];
  } catch (e) {
    body = [message(`Could not read the entity's state: ${e.message}`, true)];
  }
  if (token !== renderToken) return;
  main.replaceChildren(
    h('p', {}, h('a', { href: '#/entities' }, '← All entities')),
    h('h2', {}, `Entity ${name}@${key}`),
    ...body,
  );
}

/**
 * A section of the local-services page: a heading and a table of `rows` (null: `absent` is shown instead, an
 * empty list: `empty`).
 */
function listSection({ id, title, absent, empty, columns, rows }) {
  const headingId = `h-${id}`;
  return h(
    'section',
    { 'aria-labelledby': headingId },
    h('h3', { id: headingId }, title),
    rows === null
      ? h('p', {}, absent)
      : rows.length === 0
        ? h('p', {}, empty)
        : h(
            'table',
            { id },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                columns.map((t) => h('th', { scope: 'col' }, t)),
              ),
            ),
            h('tbody', {}, rows),
          ),
  );
}

/** One outbox of a local service (SMS, WhatsApp, calls, emails): recipients and codes arrive masked. */
const outboxSection = (o) =>
  listSection({
    id: o.id,
    title: `${o.title} (newest first, codes masked)`,
    absent: 'Not configured, or the emulator does not answer.',
    empty: 'Nothing yet.',
    columns: ['Received', 'To', o.textLabel, 'Instance', 'Status'],
    rows:
      o.items &&
      o.items.map((m) =>
        h(
          'tr',
          { 'data-id': m.id },
          h('td', {}, when(m.time)),
          h('td', {}, m.recipient),
          h('td', {}, m.text),
          h(
            'td',
            {},
            m.instances.length === 0 ? 'unknown' : m.instances.map((id) => instanceLink(id)),
          ),
          h('td', {}, m.status ?? ''),
        ),
      ),
  });

const identityState = (i) =>
  i.deleted ? 'deleted' : i.revokedAt ? `tokens revoked ${when(i.revokedAt)}` : 'active';

/** What a fault switch will do to the next sends, in words. */
function faultState(armed) {
  if (armed === null) return 'not configured, or the emulator does not answer';
  if (armed.length === 0) return 'off: sends go through';
  return armed
    .map(
      (f) =>
        `next ${f.remaining} send${f.remaining === 1 ? '' : 's'} ${f.hang ? 'hang' : `fail with ${f.status}`}`,
    )
    .join(', then ');
}

/**
 * One fault switch: its state and a form that arms it (N failures with a status, or N hung sends) or clears
 * it. Built once and kept across refreshes, so a refresh does not reset what is being typed.
 */
function faultSwitchRow(f) {
  const state = h('td', { className: 'fault-state', 'aria-live': 'polite' }, faultState(f.armed));
  const feedback = h('div', { className: 'fault-feedback' });
  const label = (text, input) => h('label', {}, `${text} `, input);
  const count = h('input', {
    type: 'number',
    name: 'count',
    min: 1,
    max: 100,
    value: 1,
    required: true,
  });
  const mode = h(
    'select',
    { name: 'mode' },
    h('option', { value: 'status' }, 'fail with status'),
    h('option', { value: 'hang' }, 'hang'),
  );
  const status = h('input', { type: 'number', name: 'status', min: 400, max: 599, value: 503 });
  const act = async (op, body) => {
    feedback.replaceChildren();
    try {
      const updated = await api(`/faults/${encodeURIComponent(f.id)}/${op}`, {
        method: 'POST',
        body,
      });
      state.textContent = faultState(updated.armed);
      announce(`${f.title}: ${state.textContent}`);
    } catch (e) {
      feedback.replaceChildren(message(e.message, true));
    }
  };
  const form = h(
    'form',
    {
      className: 'fault-form',
      'aria-label': `Arm the fault switch of ${f.title}`,
      onsubmit: (event) => {
        event.preventDefault();
        const n = Number(count.value);
        void act(
          'arm',
          mode.value === 'hang'
            ? { count: n, hang: true }
            : { count: n, status: Number(status.value) },
        );
      },
    },
    label('Next', count),
    label('sends', mode),
    label('status', status),
    h('button', { type: 'submit' }, 'Arm'),
    h('button', { type: 'button', onclick: () => void act('clear', {}) }, 'Clear'),
  );
  mode.addEventListener('change', () => {
    status.disabled = mode.value === 'hang';
  });
  return {
    row: h(
      'tr',
      { 'data-id': f.id },
      h('td', {}, f.title),
      h('td', {}, f.service),
      state,
      h('td', {}, form, feedback),
    ),
    update: (armed) => {
      state.textContent = faultState(armed);
    },
  };
}

async function renderServices(token) {
  const top = h('div');
  const bottom = h('div');
  const switches = new Map();
  const refresh = async () => {
    const r = await api('/services');
    if (token !== renderToken) return;
    if (switches.size === 0 && r.faultSwitches.length > 0) {
      for (const f of r.faultSwitches) switches.set(f.id, faultSwitchRow(f));
      main.replaceChildren(
        h('h2', {}, 'Local services'),
        top,
        listSection({
          id: 'faults',
          title: 'Fault switches (make the next sends fail, to see the failover)',
          absent: '',
          empty: '',
          columns: ['Send', 'Service', 'State', 'Arm or clear'],
          rows: [...switches.values()].map((s) => s.row),
        }),
        bottom,
      );
    } else if (switches.size === 0) {
      main.replaceChildren(h('h2', {}, 'Local services'), top, bottom);
    }
    for (const f of r.faultSwitches) switches.get(f.id)?.update(f.armed);
    top.replaceChildren(
      h(
        'section',
        { 'aria-labelledby': 'h-health' },
        h('h3', { id: 'h-health' }, 'Health'),
        h(
          'ul',
          { id: 'health' },
          r.health.map((s) =>
            h(
              'li',
              {},
              h('strong', { className: `health-${s.status === 'ok' ? 'ok' : 'down'}` }, s.status),
              ` ${s.name}`,
              s.url ? ` (${s.url})` : '',
              `: ${s.detail}`,
            ),
          ),
        ),
      ),
    );
    bottom.replaceChildren(
      ...r.outboxes.map((o) => outboxSection(o)),
      listSection({
        id: 'acs',
        title: 'ACS identities known to the emulator',
        absent: 'No ACS emulator configured.',
        empty: 'No identities yet.',
        columns: ['Identity', 'Created', 'Tokens issued', 'State'],
        rows:
          r.acsIdentities &&
          r.acsIdentities.map((i) =>
            h(
              'tr',
              {},
              h('td', {}, h('code', {}, i.id)),
              h('td', {}, when(i.createdAt)),
              h('td', {}, i.tokensIssued),
              h('td', {}, identityState(i)),
            ),
          ),
      }),
    );
  };
  await refresh();
  setRefresh(refresh);
}

// ---- Routing -------------------------------------------------------------------------------------

async function route() {
  setRefresh(undefined);
  const token = ++renderToken;
  const hash = location.hash.replace(/^#\/?/, '');
  const [section, ...rest] = hash.split('/');
  const current = section || 'instances';
  for (const a of document.querySelectorAll('header nav a')) {
    if (a.dataset.section === current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  try {
    if (current === 'instances' && rest.length > 0)
      await renderInstance(token, decodeURIComponent(rest.join('/')));
    else if (current === 'entities' && rest.length === 2)
      await renderEntity(token, decodeURIComponent(rest[0]), decodeURIComponent(rest[1]));
    else if (current === 'entities') await renderEntities(token);
    else if (current === 'services') await renderServices(token);
    else await renderInstances(token);
  } catch (e) {
    if (token === renderToken) main.replaceChildren(message(e.message, true));
  }
}

window.addEventListener('hashchange', () => {
  void route().then(() => main.focus());
});
void route();
