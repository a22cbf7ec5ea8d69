// @ts-check
/**
 * The two diffs of the Package page: between two recorded revisions (what their
 * sealed records tell: source, digest, values, per-phase content), and between
 * the cluster and what the next reconcile would apply (the planning API's
 * server-side dry-run, field by field, Secret values masked).
 */
import { getJson, packagePath } from './api.js';
import { h, replace, shortRevision } from './dom.js';

/**
 * @param {string} label
 * @param {string} from
 * @param {string} to
 * @param {boolean} changed
 * @returns {HTMLElement}
 */
function line(label, from, to, changed) {
  return h('li', { 'data-diff': label, class: changed ? 'changed' : 'same' },
    h('strong', {}, label), ': ', changed ? `${from} → ${to}` : `${to} (unchanged)`);
}

/**
 * The revision comparison: two selects and the result.
 * @param {string} namespace
 * @param {string} name
 * @returns {{ element: HTMLElement, setHistory: (history: any[]) => void }}
 */
export function revisionDiffView(namespace, name) {
  const from = /** @type {HTMLSelectElement} */ (h('select', { id: 'diff-from', 'aria-label': 'From revision' }));
  const to = /** @type {HTMLSelectElement} */ (h('select', { id: 'diff-to', 'aria-label': 'To revision' }));
  const out = h('div', { class: 'diff', id: 'revision-diff', 'aria-live': 'polite' });
  /** @type {string} */
  let known = '';

  async function compare() {
    replace(out, 'Comparing…');
    try {
      const d = await getJson(`${packagePath(namespace, name)}/diff?from=${from.value}&to=${to.value}`);
      replace(out, h('h3', {}, `#${d.from} → #${d.to}`), h('ul', {},
        line('source', shortRevision(d.source.from), shortRevision(d.source.to), d.source.changed),
        line('digest', shortRevision(d.digest.from), shortRevision(d.digest.to), d.digest.changed),
        h('li', { 'data-diff': 'values', class: d.valuesChanged ? 'changed' : 'same' }, h('strong', {}, 'values'), d.valuesChanged ? ': changed' : ': unchanged'),
        d.phases.map((/** @type {any} */ p) => h('li', { 'data-diff': `phase ${p.name}`, class: p.change === 'unchanged' ? 'same' : 'changed' },
          h('strong', {}, `phase ${p.name}`), `: ${p.change}`,
          p.fromCount !== p.toCount ? ` (${p.fromCount ?? 0} → ${p.toCount ?? 0} objects)` : ` (${p.toCount} objects)`))),
      d.keysDiffer ? h('p', { class: 'note' }, 'The two were sealed with different keys: phases and values compare as changed.') : '',
      h('p', { class: 'note' }, 'Revisions are sealed by the apply controller: their objects are compared, not shown.'));
    } catch (err) {
      replace(out, h('p', { class: 'failed' }, String(err)));
    }
  }

  return {
    element: h('div', {}, h('h3', {}, 'Between two revisions'),
      h('div', { class: 'filters' }, h('label', { for: 'diff-from' }, 'From '), from, h('label', { for: 'diff-to' }, ' to '), to, ' ',
        h('button', { type: 'button', id: 'diff-compare', onclick: () => void compare() }, 'Compare')), out),
    setHistory(history) {
      const numbers = history.map((r) => r.revision);
      if (numbers.join() === known) return;
      known = numbers.join();
      const options = (/** @type {number} */ selected) => numbers.map((n) => h('option', { value: n, selected: n === selected }, `#${n}`));
      replace(from, options(numbers[1] ?? numbers[0]));
      replace(to, options(numbers[0]));
    },
  };
}

/**
 * @param {unknown} v
 * @returns {string}
 */
function shown(v) {
  const text = JSON.stringify(v);
  return text === undefined ? 'undefined' : text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

/**
 * What the next reconcile would do.
 * @param {string} namespace
 * @param {string} name
 * @returns {HTMLElement}
 */
export function planView(namespace, name) {
  const out = h('div', { class: 'diff', id: 'plan', 'aria-live': 'polite' });
  async function preview() {
    replace(out, 'Planning (server-side dry-run)…');
    try {
      const d = await getJson(`${packagePath(namespace, name)}/plan`);
      const changes = d.changes.filter((/** @type {any} */ c) => c.action !== 'none');
      replace(out,
        h('p', {}, `Source ${shortRevision(d.revision)}: ${changes.length} to create or change, ${d.prune.length} to delete.`),
        h('ul', {}, changes.map((/** @type {any} */ c) => h('li', { 'data-plan': c.subject, class: `a-${c.action}` },
          h('strong', {}, `${c.action} ${c.subject}`),
          c.action === 'create' ? '' : h('ul', {}, c.changes.map((/** @type {any} */ f) => h('li', {}, h('code', {}, f.path), ': ',
            f.op === 'add' ? `+ ${shown(f.to)}` : f.op === 'remove' ? `- ${shown(f.from)}` : `${shown(f.from)} → ${shown(f.to)}`))))),
        h('ul', {}, d.prune.map((/** @type {any} */ p) => h('li', { class: 'a-delete' }, `delete ${p.id}`)))));
    } catch (err) {
      replace(out, h('p', { class: 'failed' }, String(err)));
    }
  }
  return h('div', {}, h('h3', {}, 'Next reconcile'),
    h('button', { type: 'button', id: 'plan-preview', onclick: () => void preview() }, 'Preview what the next reconcile would do'), out);
}
