// @ts-check
/**
 * One Package: state and actions, its phases with each object's health, the
 * revision timeline with rollback, diffs (between two revisions, and what the
 * next reconcile would do), drift, conditions, Events and the values in effect.
 * Redrawn whenever the live stream says the Package (or an Event about it)
 * changed, and every 15 s while shown: objects' health can change without either.
 */
import { getJson, packagePath, postJson } from './api.js';
import { confirmAction } from './confirm.js';
import { ago, badge, h, redrawWhenFree, replace, shortRevision } from './dom.js';
import { actionBar, describeAction } from './package-actions.js';
import { planView, revisionDiffView } from './package-diff.js';

/**
 * @param {any[]} phases
 * @param {number} notShown
 * @returns {HTMLElement}
 */
function phasesView(phases, notShown) {
  if (phases.length === 0) return h('p', { class: 'empty' }, 'No objects applied yet.');
  return h('div', {},
    h('ol', { class: 'phases' }, phases.map((p) => h('li', { class: 'phase', 'data-phase': p.name },
      h('h3', {}, p.name, ' ', h('span', { class: 'note' }, `${p.objects.length} object${p.objects.length === 1 ? '' : 's'}`)),
      h('ul', { class: 'objects' }, p.objects.map((/** @type {any} */ o) => h('li', { 'data-object': `${o.kind}/${o.name}` },
        badge(o.health.status, 'health'), ' ', h('span', { class: 'kind' }, o.kind), ' ',
        o.namespace ? `${o.namespace}/` : '', o.name,
        o.health.status !== 'Current' && o.health.message ? h('span', { class: 'reason' }, ` — ${o.health.message}`) : '')))))),
    notShown > 0 ? h('p', { class: 'note' }, `${notShown} more objects not read.`) : '');
}

/**
 * @param {any} d the package detail
 * @param {(n: number) => void} onRollback
 * @returns {HTMLElement}
 */
function timelineView(d, onRollback) {
  if (d.history.length === 0) return h('p', { class: 'empty' }, 'No revisions yet.');
  return h('ol', { class: 'timeline' }, d.history.map((/** @type {any} */ r) => {
    const healthy = r.phase === 'Available' || r.phase === 'Superseded';
    return h('li', { 'data-revision': r.revision, class: r.current ? 'current' : '' },
      h('span', { class: 'rev' }, `#${r.revision}`), ' ',
      badge(r.phase, 'phase'),
      r.current ? badge('Current', 'current') : '',
      r.rolledBackTo ? badge('RolledBack', 'rolled-back') : '',
      r.pinned ? badge('Pinned', 'pinned') : '',
      ' ', ago(r.created), ' ',
      h('span', { title: r.sourceRevision, 'data-field': 'source' }, shortRevision(r.sourceRevision)),
      r.valuesChanged ? h('span', { class: 'note' }, ' values changed') : '',
      r.message ? h('div', { class: r.phase === 'Failed' ? 'reason' : 'note' }, r.message) : '',
      healthy && !r.current ? h('button', { type: 'button', class: 'small', 'data-action': 'rollback', onclick: () => onRollback(r.revision) },
        `Roll back to #${r.revision}`) : '');
  }));
}

/**
 * @param {any[]} rows
 * @param {string[]} headers
 * @param {(row: any) => (string | Node)[]} cells
 * @returns {HTMLElement}
 */
function table(rows, headers, cells) {
  if (rows.length === 0) return h('p', { class: 'empty' }, 'None.');
  return h('table', {}, h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, cells(r).map((c) => h('td', {}, c))))));
}

/**
 * @param {any} e an event
 * @returns {(string | Node)[]}
 */
const eventCells = (e) => [e.type, e.reason, ago(e.time), e.count > 1 ? `×${e.count}` : '', e.message];

/**
 * Mounts the page of Package `namespace/name`; returns a function told about changed keys, and one that unmounts it.
 * @param {HTMLElement} main
 * @param {string} namespace
 * @param {string} name
 * @returns {{ changed: (changed: string[]) => void, dispose: () => void }}
 */
export function mountPackage(main, namespace, name) {
  const key = `Package/${namespace}/${name}`;
  const result = h('div', { class: 'result', role: 'status', 'aria-live': 'polite', id: 'action-result' });
  const top = h('section', { class: 'summary' });
  const phases = h('section', { 'aria-labelledby': 'h-phases' });
  const history = h('section', { 'aria-labelledby': 'h-history' });
  const revisions = revisionDiffView(namespace, name);
  const diffs = h('section', { 'aria-labelledby': 'h-diff' }, h('h2', { id: 'h-diff' }, 'Diff'), revisions.element, planView(namespace, name));
  const rest = h('div');
  let loading = false;
  let again = false;

  /**
   * Confirms and runs an action, then shows what the command said.
   * @param {string} action
   * @param {{ withSource?: boolean, to?: number }} input
   * @param {any} d
   */
  async function act(action, input, d) {
    if (!(await confirmAction(describeAction(action, input, d)))) return;
    replace(result, `Running ${action}…`);
    try {
      const r = await postJson(`${packagePath(namespace, name)}/actions/${action}`, input);
      replace(result, h('pre', { class: r.ok ? 'ok' : 'failed' }, r.output));
    } catch (err) {
      replace(result, h('pre', { class: 'failed' }, String(err)));
    }
    void load();
  }

  /** @param {any} d */
  function draw(d) {
    const s = d.summary;
    // A live redraw must not take the keyboard focus away from an action button.
    const focused = top.contains(document.activeElement) ? document.activeElement?.getAttribute('data-action') : null;
    replace(top,
      h('h1', {}, s.name, ' ', h('span', { class: 'ns' }, s.namespace), ' ', badge(s.state, 'state')),
      h('p', { class: 'message', 'data-field': 'message' }, s.message),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Revision'), h('dd', { 'data-field': 'revision' }, String(s.currentRevision ?? '–'),
          s.pinnedRevision !== undefined ? h('strong', {}, ` pinned to #${s.pinnedRevision}`) : ''),
        h('dt', {}, 'Source revision'), h('dd', { title: s.sourceRevision ?? '' }, shortRevision(s.sourceRevision) || '–'),
        h('dt', {}, 'Source'), h('dd', {}, h('a', { href: `#/sources/${s.source.kind}/${encodeURIComponent(s.source.namespace)}/${encodeURIComponent(s.source.name)}` },
          `${s.source.kind} ${s.source.namespace}/${s.source.name}`), d.source ? [' ', badge(d.source.state)] : ' (not found)'),
        h('dt', {}, 'Drift'), h('dd', {}, d.spec.driftMode),
        h('dt', {}, 'Rollback on failure'), h('dd', {}, d.spec.rollbackOnFailure ? 'yes' : 'no')),
      actionBar(d, (action, input) => void act(action, input, d)),
      result);
    if (focused) /** @type {HTMLElement | null} */ (top.querySelector(`[data-action="${focused}"]`))?.focus();
    replace(phases, h('h2', { id: 'h-phases' }, 'Phases'), phasesView(d.phases, d.objectsNotShown));
    replace(history, h('h2', { id: 'h-history' }, 'History'), timelineView(d, (n) => void act('rollback', { to: n }, d)));
    revisions.setHistory(d.history);
    replace(rest,
      h('section', { 'data-section': 'drift' }, h('h2', {}, 'Drift'), table(d.drift, ['Type', 'Reason', 'When', 'Count', 'What changed'], eventCells)),
      h('section', {}, h('h2', {}, 'Conditions'), table(d.conditions, ['Type', 'Status', 'Reason', 'Since', 'Message'],
        (c) => [c.type, c.status, c.reason, ago(c.lastTransitionTime), c.message])),
      h('section', { 'data-section': 'events' }, h('h2', {}, 'Events'), table(d.events, ['Type', 'Reason', 'When', 'Count', 'Message'], eventCells)),
      h('section', { class: 'values' }, h('h2', {}, 'Values in effect'),
        h('pre', { 'data-field': 'values' }, JSON.stringify(d.values.values, null, 2)),
        d.values.valuesFrom.length > 0 ? h('ul', {}, d.values.valuesFrom.map((/** @type {string} */ v) => h('li', {}, `from ${v}`))) : ''));
  }

  async function load() {
    if (loading) {
      again = true;
      return;
    }
    loading = true;
    try {
      const d = await getJson(packagePath(namespace, name));
      redrawWhenFree(key, () => draw(d));
    } catch (err) {
      redrawWhenFree(key, () => replace(top, h('h1', {}, name), h('p', { class: 'failed' }, String(err))));
    } finally {
      loading = false;
      if (again) {
        again = false;
        void load();
      }
    }
  }

  replace(main, h('p', {}, h('a', { href: '#/' }, '← Packages')), top, phases, history, diffs, rest);
  void load();
  const timer = setInterval(() => { if (document.visibilityState === 'visible') void load(); }, 15_000);
  return {
    changed: (changed) => { if (changed.includes(key)) void load(); },
    dispose: () => clearInterval(timer),
  };
}
