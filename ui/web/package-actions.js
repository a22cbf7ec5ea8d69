// @ts-check
/**
 * The Package page's action buttons, and the sentence each confirmation says.
 * Every action is a request the matching `kubectl package` command makes; the
 * dialog names that command.
 */
import { h, shortRevision } from './dom.js';

/**
 * What the confirmation of an action says.
 * @param {string} action
 * @param {{ withSource?: boolean, to?: number }} input
 * @param {any} d the package detail
 * @returns {{ title: string, text: string, command: string }}
 */
export function describeAction(action, input, d) {
  const s = d.summary;
  const who = `${s.namespace}/${s.name}`;
  const src = `${s.source.kind} ${s.source.namespace}/${s.source.name}`;
  const flags = input.withSource ? ' --with-source' : '';
  const cmd = (/** @type {string} */ rest) => `kubectl package ${rest} -n ${s.namespace}`;
  switch (action) {
    case 'reconcile':
      return {
        title: `Reconcile ${who} now?`,
        text: `${input.withSource ? `The source ${src} is asked to fetch its newest revision first, then the` : 'The'} apply controller reconciles ${who} at once instead of at its next interval (the reconcile.trellis.dev/requestedAt annotation).`,
        command: cmd(`reconcile ${s.name}${flags}`),
      };
    case 'suspend':
      return {
        title: `Suspend ${who}?`,
        text: `The apply controller stops applying, pruning and correcting drift of ${who}${input.withSource ? `, and ${src} stops fetching,` : ''} until it is resumed. What runs in the cluster stays as it is.`,
        command: cmd(`suspend ${s.name}${flags}`),
      };
    case 'resume':
      return {
        title: `Resume ${who}?`,
        text: `The apply controller manages ${who} again and reconciles it at once: anything its source published meanwhile is applied.`,
        command: cmd(`resume ${s.name}${flags}`),
      };
    case 'unpin':
      return {
        title: `Unpin ${who}?`,
        text: `${who} stops holding revision #${s.pinnedRevision} and follows ${src} again: the next reconcile applies the source's current artifact (${shortRevision(d.source?.revision) || 'unknown'}).`,
        command: cmd(`rollback ${s.name} --unpin`),
      };
    default: {
      const rev = d.history.find((/** @type {any} */ r) => r.revision === input.to);
      return {
        title: `Roll back ${who} to revision #${input.to}?`,
        text: `${who} is pinned to revision #${input.to} (${shortRevision(rev?.sourceRevision)}): the apply controller re-applies the objects that revision recorded, prunes what it did not have, and stays there whatever its source publishes, until you unpin.`,
        command: cmd(`rollback ${s.name} --to ${input.to}`),
      };
    }
  }
}

/** The Packages (`namespace/name`) whose "with its source" box is ticked; kept here because a redraw replaces the checkbox. */
const withSourceTicked = new Set();

/**
 * The buttons of the actions that make sense for the Package now.
 * @param {any} d the package detail
 * @param {(action: string, input: { withSource?: boolean, to?: number }) => void} run
 * @returns {HTMLElement}
 */
export function actionBar(d, run) {
  const s = d.summary;
  const who = `${s.namespace}/${s.name}`;
  // Ticked stays ticked across the page's live redraws, which build the bar anew.
  const withSource = /** @type {HTMLInputElement} */ (h('input', {
    type: 'checkbox', id: 'with-source', checked: withSourceTicked.has(who),
    onchange: () => { if (withSource.checked) withSourceTicked.add(who); else withSourceTicked.delete(who); },
  }));
  return h('div', { class: 'actions', role: 'group', 'aria-label': 'Actions' },
    h('button', { type: 'button', 'data-action': 'reconcile', onclick: () => run('reconcile', { withSource: withSource.checked }) }, 'Reconcile now'),
    h('label', { for: 'with-source' }, withSource, ' with its source'),
    s.suspended
      ? h('button', { type: 'button', 'data-action': 'resume', onclick: () => run('resume', { withSource: withSource.checked }) }, 'Resume')
      : h('button', { type: 'button', 'data-action': 'suspend', onclick: () => run('suspend', { withSource: withSource.checked }) }, 'Suspend'),
    s.pinnedRevision !== undefined ? h('button', { type: 'button', 'data-action': 'unpin', onclick: () => run('unpin', {}) }, `Unpin (follow the source)`) : '');
}
