// @ts-check
/**
 * The dashboard's entry point: a hash router over the views, and the live
 * stream that keeps whatever view is open up to date without a reload.
 */
import { follow, getJson } from './api.js';
import { age, h, replace } from './dom.js';
import { mountOverview } from './overview.js';
import { mountPackage } from './package.js';
import { mountSource, mountSources } from './sources.js';

const main = /** @type {HTMLElement} */ (document.getElementById('main'));
const live = /** @type {HTMLElement} */ (document.getElementById('live'));
const context = /** @type {HTMLElement} */ (document.getElementById('context'));

/** @type {any} */
let overview;
/** @type {{ overview?: (o: any) => void, changed?: (keys: string[]) => void, dispose?: () => void }} */
let view = {};

/** Mounts the view the address names. */
function route() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  for (const a of document.querySelectorAll('[data-nav]')) {
    a.toggleAttribute('aria-current', a.getAttribute('data-nav') === (parts[0] === 'sources' ? 'sources' : parts[0] === '' ? 'overview' : ''));
  }
  view.dispose?.();
  if (parts[0] === 'packages' && parts.length === 3) {
    view = mountPackage(main, parts[1] ?? '', parts[2] ?? '');
    document.title = `${parts[2]} · Trellis`;
  } else if (parts[0] === 'sources' && parts.length === 4) {
    view = { changed: mountSource(main, parts[1] ?? '', parts[2] ?? '', parts[3] ?? '') };
    document.title = `${parts[3]} · Trellis`;
  } else if (parts[0] === 'sources') {
    view = { overview: mountSources(main) };
    document.title = 'Sources · Trellis';
  } else {
    view = { overview: mountOverview(main) };
    document.title = 'Packages · Trellis';
  }
  if (overview) view.overview?.(overview);
  main.focus({ preventScroll: true });
}

/** Follows the live stream once the server accepted the session token. */
async function start() {
  try {
    await getJson('/api/overview');
  } catch (err) {
    replace(live, 'not connected');
    replace(main, h('p', { class: 'failed', role: 'alert' }, err instanceof Error ? err.message : String(err)));
    return;
  }
  follow((update) => {
    overview = update.overview;
    replace(context, `${overview.context} · ${overview.cluster}`);
    view.overview?.(overview);
    if (update.changed.length > 0) view.changed?.(update.changed);
  }, (state) => replace(live, state === 'live' ? 'live' : 'reconnecting…'));
  window.addEventListener('hashchange', route);
  route();
}

// Ages keep counting between updates.
setInterval(() => {
  for (const el of document.querySelectorAll('time[datetime]')) el.textContent = age(el.getAttribute('datetime') ?? undefined);
}, 5000);

void start();
