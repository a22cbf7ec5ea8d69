// @ts-check
/**
 * Talking to `trellis ui`'s own server: JSON reads, actions (with the session
 * token in a custom header, which a cross-site page cannot send), and the live
 * event stream.
 */

/**
 * The session token. `trellis ui` prints the address with it in the fragment
 * (`#token=…`), which the browser never sends anywhere; the page keeps it in this
 * origin's storage (so reloads and new tabs work) and drops it from the address bar.
 * Without it the server answers nothing but these static files.
 * @returns {string}
 */
function sessionToken() {
  const given = /^#token=([A-Za-z0-9_-]+)$/.exec(location.hash)?.[1];
  if (given) {
    localStorage.setItem('trellis-token', given);
    history.replaceState(null, '', `${location.pathname}#/`);
  }
  return localStorage.getItem('trellis-token') ?? '';
}

const token = sessionToken();

/** Shown when the server refuses the token (a new `trellis ui` has a new one). */
export const NO_TOKEN = 'This page has no valid session token: open the address `trellis ui` printed (it ends in #token=…).';

/**
 * @template T
 * @param {Response} res
 * @returns {Promise<T>}
 */
async function bodyOf(res) {
  /** @type {any} */
  const body = await res.json().catch(() => ({}));
  if (res.status === 403 && /session token/.test(body.error ?? '')) throw new Error(NO_TOKEN);
  if (!res.ok && !('output' in body)) throw new Error(body.error ?? `${res.status} ${res.statusText}`);
  return body;
}

/**
 * Reads an API path.
 * @param {string} path
 * @returns {Promise<any>}
 */
export async function getJson(path) {
  return bodyOf(await fetch(path, { headers: { 'x-trellis-token': token, accept: 'application/json' } }));
}

/**
 * Sends an action.
 * @param {string} path
 * @param {unknown} body
 * @returns {Promise<any>}
 */
export async function postJson(path, body) {
  return bodyOf(await fetch(path, {
    method: 'POST',
    headers: { 'x-trellis-token': token, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  }));
}

/**
 * Follows the server's event stream; `onOverview` gets each update, `onStatus` the connection state.
 * The browser reconnects by itself after a drop.
 * @param {(update: {changed: string[], overview: any}) => void} onOverview
 * @param {(state: 'live' | 'reconnecting') => void} onStatus
 * @returns {EventSource}
 */
export function follow(onOverview, onStatus) {
  const source = new EventSource(`/api/events?token=${encodeURIComponent(token)}`);
  source.addEventListener('overview', (ev) => {
    onStatus('live');
    onOverview(JSON.parse(/** @type {MessageEvent<string>} */ (ev).data));
  });
  source.addEventListener('error', () => onStatus('reconnecting'));
  return source;
}

/**
 * The path of a Package's API.
 * @param {string} namespace
 * @param {string} name
 * @returns {string}
 */
export function packagePath(namespace, name) {
  return `/api/packages/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
}
