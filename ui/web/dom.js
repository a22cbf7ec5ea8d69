// @ts-check
/**
 * Building the page without a framework: `h()` makes elements from plain data
 * (text always goes in as text, never as HTML), plus the small formatting
 * helpers every view uses.
 */

/**
 * @typedef {string | number | Node | null | undefined | false} Child
 * @typedef {Record<string, string | number | boolean | ((ev: Event) => void) | undefined>} Attrs
 */

/**
 * An element with attributes (`on…` keys become listeners) and children.
 * @param {string} tag
 * @param {Attrs} [attrs]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(key.slice(2).toLowerCase(), value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
  return el;
}

/**
 * Replaces the children of `el`.
 * @param {Element} el
 * @param {...(Child | Child[])} children
 */
export function replace(el, ...children) {
  el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false)
    .map((c) => (typeof c === 'object' ? c : document.createTextNode(String(c)))));
}

/**
 * kubectl's way of saying how long ago: `45s`, `12m`, `5h`, `3d`.
 * @param {string | undefined} time
 * @returns {string}
 */
export function age(time) {
  if (!time) return '';
  const seconds = Math.max(0, Math.floor((Date.now() - Date.parse(time)) / 1000));
  if (Number.isNaN(seconds)) return '';
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

/**
 * A source revision short enough for a table: `1.4.0@sha256:0123456789ab`.
 * @param {string | undefined} revision
 * @returns {string}
 */
export function shortRevision(revision) {
  if (!revision) return '';
  const m = /^(.*?)(sha1|sha256):([0-9a-f]{12})[0-9a-f]+$/.exec(revision);
  return m ? `${m[1]}${m[2]}:${m[3]}` : revision;
}

/**
 * A byte count for people.
 * @param {number | undefined} n
 * @returns {string}
 */
export function bytes(n) {
  if (n === undefined) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * A state badge (`Ready`, `Failed`, `Current`, `Available`…), coloured by class.
 * @param {string} state
 * @param {string} [field] a data-field name, so tests and scripts can find it
 * @returns {HTMLElement}
 */
export function badge(state, field) {
  return h('span', { class: `badge s-${state.toLowerCase()}`, 'data-field': field }, state);
}

/**
 * A `<time>` showing the age, with the timestamp as its tooltip.
 * @param {string | undefined} time
 * @returns {HTMLElement | string}
 */
export function ago(time) {
  return time ? h('time', { datetime: time, title: time }, age(time)) : '';
}

/**
 * Live redraws that wait for a pressed pointer's release, by view: the newest of each view wins.
 * @type {Map<string, () => void>}
 */
const waiting = new Map();
let pressed = false;

/**
 * Runs a live redraw now or, while a pointer is pressed, right after its
 * release. A redraw between a button's press and its release replaces the
 * button, and the browser then sends the click to nobody: the user's click is
 * lost. The click follows the release within the same task, so the waiting
 * redraws run in the next one.
 * @param {string} view names the redraw; a newer redraw of the same view replaces a waiting one
 * @param {() => void} draw
 */
export function redrawWhenFree(view, draw) {
  if (pressed) waiting.set(view, draw);
  else draw();
}

function released() {
  if (!pressed) return;
  pressed = false;
  setTimeout(() => {
    if (pressed) return;
    const draws = [...waiting.values()];
    waiting.clear();
    for (const draw of draws) draw();
  });
}

document.addEventListener('pointerdown', () => { pressed = true; }, true);
document.addEventListener('pointerup', released, true);
document.addEventListener('pointercancel', released, true);
window.addEventListener('blur', released);
