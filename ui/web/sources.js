// @ts-check
/**
 * Sources: every GitRepository and OCIRepository the user may list, with the
 * artifact they publish (revision, digest, size, when), the verification result
 * and the Packages that apply it; and one source's page with its conditions.
 */
import { getJson } from './api.js';
import { ago, badge, bytes, h, redrawWhenFree, replace, shortRevision } from './dom.js';

/**
 * @param {string} key namespace/name
 * @returns {HTMLElement}
 */
function packageLink(key) {
  const [ns = '', name = ''] = key.split('/');
  return h('a', { href: `#/packages/${encodeURIComponent(ns)}/${encodeURIComponent(name)}` }, key);
}

/**
 * @param {any} s
 * @returns {string}
 */
function sourceHref(s) {
  return `#/sources/${s.kind}/${encodeURIComponent(s.namespace)}/${encodeURIComponent(s.name)}`;
}

/**
 * Mounts the sources list; returns its update function.
 * @param {HTMLElement} main
 * @returns {(overview: any) => void}
 */
export function mountSources(main) {
  const body = h('tbody');
  replace(main, h('h1', {}, 'Sources'), h('table', { class: 'sources' },
    h('thead', {}, h('tr', {}, ['Name', 'Kind', 'Namespace', 'State', 'Revision', 'Digest', 'Size', 'Fetched', 'Verification', 'Used by']
      .map((t) => h('th', { scope: 'col' }, t)))), body));
  return (overview) => redrawWhenFree('sources', () => replace(body, overview.sources.map((/** @type {any} */ s) => h('tr', { 'data-source': `${s.kind}/${s.namespace}/${s.name}` },
    h('td', {}, h('a', { href: sourceHref(s) }, s.name)), h('td', {}, s.kind), h('td', {}, s.namespace),
    h('td', {}, badge(s.state, 'state')), h('td', { title: s.revision ?? '', 'data-field': 'revision' }, shortRevision(s.revision)),
    h('td', { title: s.digest ?? '' }, shortRevision(s.digest)), h('td', { class: 'nowrap' }, bytes(s.size)), h('td', {}, ago(s.lastUpdate)), h('td', {}, s.verification ?? '–'),
    h('td', {}, s.packages.flatMap((/** @type {string} */ p, /** @type {number} */ i) => (i > 0 ? [', ', packageLink(p)] : [packageLink(p)])))))));
}

/**
 * Mounts one source's page; returns a function told about changed keys.
 * @param {HTMLElement} main
 * @param {string} kind
 * @param {string} namespace
 * @param {string} name
 * @returns {(changed: string[]) => void}
 */
export function mountSource(main, kind, namespace, name) {
  const view = h('div');
  replace(main, h('p', {}, h('a', { href: '#/sources' }, '← Sources')), view);
  async function load() {
    try {
      const d = await getJson(`/api/sources/${kind}/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`);
      const s = d.summary;
      redrawWhenFree('source', () => replace(view,
        h('h1', {}, `${s.kind} ${s.name} `, h('span', { class: 'ns' }, s.namespace), ' ', badge(s.state, 'state')),
        h('p', { class: 'message' }, s.message),
        h('dl', { class: 'facts' },
          h('dt', {}, 'URL'), h('dd', {}, s.url),
          h('dt', {}, 'Follows'), h('dd', {}, s.follows),
          h('dt', {}, 'Artifact revision'), h('dd', { 'data-field': 'revision' }, s.revision ?? '–'),
          h('dt', {}, 'Digest'), h('dd', { 'data-field': 'digest' }, s.digest ?? '–'),
          h('dt', {}, 'Size'), h('dd', {}, bytes(s.size) || '–'),
          h('dt', {}, 'Last fetch'), h('dd', {}, s.lastUpdate ?? '–'),
          h('dt', {}, 'Verification'), h('dd', {}, s.verification ?? 'not configured'),
          h('dt', {}, 'Suspended'), h('dd', {}, s.suspended ? 'yes' : 'no'),
          h('dt', {}, 'Used by'), h('dd', {}, s.packages.length ? s.packages.map((/** @type {string} */ p) => h('span', {}, packageLink(p), ' ')) : 'no Package')),
        h('h2', {}, 'Conditions'),
        h('table', {}, h('tbody', {}, d.conditions.map((/** @type {any} */ c) => h('tr', {},
          h('td', {}, c.type), h('td', {}, c.status), h('td', {}, c.reason), h('td', {}, ago(c.lastTransitionTime)), h('td', {}, c.message)))))));
    } catch (err) {
      redrawWhenFree('source', () => replace(view, h('p', { class: 'failed' }, String(err))));
    }
  }
  void load();
  return (changed) => {
    if (changed.includes(`${kind}/${namespace}/${name}`)) void load();
  };
}
