// @ts-check
/**
 * The overview: every Package the user may list, counts per state (which are
 * also the state filter), a namespace filter and a search box. Live: the table
 * is redrawn from each update while the controls keep their focus and values.
 */
import { ago, badge, h, redrawWhenFree, replace, shortRevision } from './dom.js';

const STATES = ['Ready', 'Reconciling', 'Stalled', 'Failed', 'Suspended', 'Unknown'];

/** @type {{ state: string, namespace: string, search: string }} */
const filters = { state: '', namespace: '', search: '' };

/**
 * @param {any} p a package row
 * @returns {boolean}
 */
function matches(p) {
  if (filters.state && p.state !== filters.state) return false;
  if (filters.namespace && p.namespace !== filters.namespace) return false;
  const q = filters.search.trim().toLowerCase();
  if (!q) return true;
  return [p.name, p.namespace, p.source.name, p.sourceRevision ?? '', p.message].some((t) => t.toLowerCase().includes(q));
}

/**
 * @param {any} p
 * @returns {HTMLElement}
 */
function packageRowView(p) {
  const key = `${p.namespace}/${p.name}`;
  const href = `#/packages/${encodeURIComponent(p.namespace)}/${encodeURIComponent(p.name)}`;
  const notes = [p.pinnedRevision !== undefined ? `pinned to ${p.pinnedRevision}` : '', p.suspended ? 'suspended' : ''].filter(Boolean).join(', ');
  return h('tr', { 'data-package': key },
    h('td', {}, h('a', { href }, p.name)),
    h('td', {}, p.namespace),
    h('td', {}, badge(p.state, 'state')),
    h('td', { 'data-field': 'revision' }, p.currentRevision ?? '', notes ? h('span', { class: 'note' }, ` (${notes})`) : ''),
    h('td', { 'data-field': 'source-revision', title: p.sourceRevision ?? '' }, shortRevision(p.sourceRevision)),
    h('td', {}, ago(p.created)),
    h('td', { 'data-field': 'message', class: 'message' },
      p.lastEvent ? h('span', { class: `event e-${p.lastEvent.type.toLowerCase()}` }, `${p.lastEvent.reason}: ${p.lastEvent.message}`) : p.message));
}

/**
 * Mounts the overview into `main`; returns its update function.
 * @param {HTMLElement} main
 * @returns {(overview: any) => void}
 */
export function mountOverview(main) {
  const counts = h('div', { class: 'counts', role: 'group', 'aria-label': 'Filter by state' });
  const namespace = /** @type {HTMLSelectElement} */ (h('select', { id: 'ns-filter', onchange: () => { filters.namespace = namespace.value; redraw(); } }));
  const search = /** @type {HTMLInputElement} */ (h('input', {
    id: 'search', type: 'search', placeholder: 'name, source, message…', value: filters.search,
    oninput: () => { filters.search = search.value; redraw(); },
  }));
  const body = h('tbody');
  const empty = h('p', { class: 'empty' });
  const denied = h('p', { class: 'denied' });
  /** @type {any} */
  let last = { packages: [], namespaces: [], denied: [] };
  let knownNamespaces = '-';

  function redraw() {
    const packages = last.packages;
    replace(counts, h('button', { type: 'button', 'aria-pressed': String(filters.state === ''), onclick: () => { filters.state = ''; redraw(); } },
      `All ${packages.length}`),
    STATES.map((s) => {
      const n = packages.filter((/** @type {any} */ p) => p.state === s).length;
      return h('button', {
        type: 'button', class: `count s-${s.toLowerCase()}`, 'data-count': s, 'aria-pressed': String(filters.state === s),
        onclick: () => { filters.state = filters.state === s ? '' : s; redraw(); },
      }, `${s} ${n}`);
    }));
    const namespaces = [...new Set(packages.map((/** @type {any} */ p) => p.namespace))].sort();
    // Rebuilt only when the namespaces change: an open list must not close under the user.
    if (namespaces.join(' ') !== knownNamespaces) {
      knownNamespaces = namespaces.join(' ');
      replace(namespace, h('option', { value: '' }, 'all namespaces'),
        namespaces.map((n) => h('option', { value: n, selected: n === filters.namespace }, n)));
    }
    const shown = packages.filter(matches);
    replace(body, shown.map(packageRowView));
    replace(empty, packages.length === 0 ? 'No Packages you may see.' : shown.length === 0 ? 'No Package matches the filters.' : '');
    replace(denied, last.denied.length > 0 ? `Not shown (no access): ${last.denied.join('; ')}` : '');
  }

  replace(main,
    h('h1', {}, 'Packages'),
    counts,
    h('div', { class: 'filters' },
      h('label', { for: 'ns-filter' }, 'Namespace '), namespace,
      h('label', { for: 'search' }, ' Search '), search),
    h('table', { class: 'packages' },
      h('thead', {}, h('tr', {}, ['Name', 'Namespace', 'State', 'Revision', 'Source revision', 'Age', 'Last event']
        .map((t) => h('th', { scope: 'col' }, t)))),
      body),
    empty, denied);
  return (overview) => {
    last = overview;
    redrawWhenFree('overview', redraw);
  };
}
