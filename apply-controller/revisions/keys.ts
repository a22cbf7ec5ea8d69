/**
 * The keys that seal and sign PackageRevisions. They live in one Secret of
 * the controller's own namespace (`trellis-revision-key`), created with a fresh
 * random key the first time the controller records a revision:
 *
 *     data:
 *       current: <key id>          # the key new revisions are sealed with
 *       <key id>: <32 random bytes> # one entry per key, old ones kept for reading
 *
 * Rotation is an edit of that Secret: add an entry with 32 new random bytes
 * and point `current` at it. New revisions use the new key at the next refresh
 * (at most `refreshMs` later); revisions sealed with an older key are read with
 * it for as long as its entry stays, so an old key is removed only once no kept
 * revision names it (`apply.trellis.dev/revision-key`). The controller never
 * rewrites an entry: the only write it makes to an existing Secret is adding a
 * first key to one that holds none.
 *
 * From each 32-byte key three keys are derived (HKDF-SHA256), one per use:
 * encryption, message authentication, and the synthetic IVs of seal.ts.
 */
import { hkdfSync, randomBytes } from 'node:crypto';
import type { KubeClient } from '../../runtime/kube.ts';
import { isConflict, isNotFound } from '../../runtime/kube-transport.ts';
import type { KubeObject } from '../../runtime/object.ts';
import { RevisionKeyMissingError } from './errors.ts';

export { RevisionKeyMissingError } from './errors.ts';

/** The name of the Secret holding the revision keys. */
export const REVISION_KEY_SECRET = 'trellis-revision-key';

/** The data entry naming the current key. */
export const CURRENT_KEY_ENTRY = 'current';

/** Bytes of a revision key. */
export const REVISION_KEY_BYTES = 32;

/** How long the keys read from the Secret are used before it is read again (a rotation takes effect this late). */
export const DEFAULT_KEY_REFRESH_MS = 60_000;

/** What a key id may look like: a Secret data key, short enough for an annotation. */
const KEY_ID = /^[-._a-zA-Z0-9]{1,63}$/;

/** One revision key, with the keys derived from it. Never logged or shown. */
export interface RevisionKey {
  /** The id recorded in every revision and blob it sealed. */
  readonly id: string;
  /** AES-256-GCM key. */
  readonly encryption: Buffer;
  /** HMAC-SHA256 key for content hashes, digests and signatures. */
  readonly mac: Buffer;
  /** HMAC-SHA256 key deriving the synthetic IV of each sealed blob. */
  readonly iv: Buffer;
}

/** Where revision keys come from: the keyring in the cluster, or fixed keys in unit tests. */
export interface RevisionKeys {
  /** The key new revisions are sealed with (the Secret is read again when the keys in memory are older than the refresh). */
  current(): Promise<RevisionKey>;
  /**
   * The key a reconcile keys its hashes with to compare them with the current
   * revision's: the current key as last read, without reading the Secret again
   * (a reconcile with nothing to do sends no request for it); read once when
   * none is known yet. A rotation reaches it when a revision is next written.
   */
  hashingKey(): Promise<RevisionKey>;
  /** The key with this id; throws {@link RevisionKeyMissingError} when there is none. */
  byId(id: string): Promise<RevisionKey>;
}

/** The key Secret exists but cannot be used (no current key, a key of the wrong size). */
export class RevisionKeyInvalidError extends Error {
  override readonly name = 'RevisionKeyInvalidError';
}

function derive(master: Buffer, use: string): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `trellis.dev/revisions/${use}`, 32));
}

/** The revision key `id` made of 32 bytes of key material. */
export function revisionKey(id: string, material: Buffer): RevisionKey {
  if (!KEY_ID.test(id) || id === CURRENT_KEY_ENTRY) throw new RevisionKeyInvalidError(`revision key id ${JSON.stringify(id)} is not a valid Secret data key`);
  if (material.length !== REVISION_KEY_BYTES) {
    throw new RevisionKeyInvalidError(`revision key ${id} has ${material.length} bytes; it needs ${REVISION_KEY_BYTES}`);
  }
  return { id, encryption: derive(material, 'encrypt'), mac: derive(material, 'mac'), iv: derive(material, 'iv') };
}

/** Fixed keys (tests, tools): `current` is the id of the one to seal with. */
export function fixedRevisionKeys(keys: readonly RevisionKey[], current: string): RevisionKeys {
  const byId = new Map(keys.map((k) => [k.id, k]));
  return {
    current: () => Promise.resolve(lookUp(byId, current)),
    hashingKey: () => Promise.resolve(lookUp(byId, current)),
    byId: (id) => Promise.resolve(lookUp(byId, id)),
  };
}

function lookUp(keys: ReadonlyMap<string, RevisionKey>, id: string): RevisionKey {
  const key = keys.get(id);
  if (!key) throw new RevisionKeyMissingError(`revision key ${JSON.stringify(id)} is not in the ${REVISION_KEY_SECRET} Secret; revisions sealed with it cannot be read`);
  return key;
}

interface KeySecret extends KubeObject {
  data?: Record<string, string>;
  type?: string;
}

/** The keys a Secret holds and which is current; throws {@link RevisionKeyInvalidError} when unusable. */
export function keysOfSecret(secret: KeySecret): { keys: Map<string, RevisionKey>; current: string } {
  const data = secret.data ?? {};
  const current = data[CURRENT_KEY_ENTRY] === undefined ? undefined : Buffer.from(data[CURRENT_KEY_ENTRY], 'base64').toString('utf8').trim();
  const keys = new Map<string, RevisionKey>();
  for (const [id, value] of Object.entries(data)) {
    if (id === CURRENT_KEY_ENTRY) continue;
    const material = Buffer.from(value, 'base64');
    // A malformed old entry must not stop the others from working; only the current one has to be right.
    if (id === current || material.length === REVISION_KEY_BYTES) keys.set(id, revisionKey(id, material));
  }
  if (current === undefined || !keys.has(current)) {
    throw new RevisionKeyInvalidError(`the ${REVISION_KEY_SECRET} Secret has no usable current key: its "${CURRENT_KEY_ENTRY}" entry must name one of its entries of ${REVISION_KEY_BYTES} bytes`);
  }
  return { keys, current };
}

/** A key id for a new key: when it was made, and a random part so two replicas never pick the same one. */
function newKeyId(now: Date): string {
  return `k${now.toISOString().slice(0, 10).replaceAll('-', '')}-${randomBytes(3).toString('hex')}`;
}

/** The data of a Secret holding one new key, current. */
function newKeyData(now: Date): Record<string, string> {
  const id = newKeyId(now);
  return { [CURRENT_KEY_ENTRY]: Buffer.from(id).toString('base64'), [id]: randomBytes(REVISION_KEY_BYTES).toString('base64') };
}

/** The keys of the Secret as last read. */
interface LoadedKeys {
  readonly keys: Map<string, RevisionKey>;
  readonly current: string;
  /** When they were read. */
  readonly at: number;
}

/** Options of {@link RevisionKeyring}. */
export interface RevisionKeyringOptions {
  /** The controller's own client (get, create and update of the one Secret). */
  readonly client: Pick<KubeClient, 'get' | 'create' | 'update'>;
  /** The controller's namespace. */
  readonly namespace: string;
  /** How long keys are used before the Secret is read again (default {@link DEFAULT_KEY_REFRESH_MS}; 0: every time). */
  readonly refreshMs?: number | undefined;
  readonly now?: (() => number) | undefined;
}

/**
 * The revision keys of the cluster, read from (and, the first time, written
 * to) the `trellis-revision-key` Secret, kept in memory for `refreshMs`. An
 * unknown key id makes it read the Secret again at once (a key added by an
 * admin, or by another replica).
 */
export class RevisionKeyring implements RevisionKeys {
  readonly #client: RevisionKeyringOptions['client'];
  readonly #namespace: string;
  readonly #refreshMs: number;
  readonly #now: () => number;
  #loaded: LoadedKeys | undefined;
  #loading: Promise<LoadedKeys> | undefined;

  constructor(options: RevisionKeyringOptions) {
    this.#client = options.client;
    this.#namespace = options.namespace;
    this.#refreshMs = options.refreshMs ?? DEFAULT_KEY_REFRESH_MS;
    this.#now = options.now ?? Date.now;
  }

  /** The namespace of the key Secret. */
  get namespace(): string {
    return this.#namespace;
  }

  async current(): Promise<RevisionKey> {
    const loaded = this.#fresh() ?? await this.#load();
    return lookUp(loaded.keys, loaded.current);
  }

  async hashingKey(): Promise<RevisionKey> {
    const loaded = this.#loaded ?? await this.#load();
    return lookUp(loaded.keys, loaded.current);
  }

  async byId(id: string): Promise<RevisionKey> {
    // A key an admin removed stops opening revisions at the next refresh, like a rotation takes effect.
    const fresh = this.#fresh();
    const cached = fresh?.keys.get(id);
    if (cached) return cached;
    return lookUp((await this.#load()).keys, id);
  }

  #fresh(): LoadedKeys | undefined {
    const loaded = this.#loaded;
    return loaded && this.#now() - loaded.at < this.#refreshMs ? loaded : undefined;
  }

  /** Reads the Secret (one read at a time, shared by every caller waiting), creating it when absent. */
  #load(): Promise<LoadedKeys> {
    this.#loading ??= this.#read().then((loaded) => {
      this.#loaded = loaded;
      return loaded;
    }).finally(() => { this.#loading = undefined; });
    return this.#loading;
  }

  async #read(): Promise<LoadedKeys> {
    const at = this.#now();
    const ref = this.#ref();
    let secret = await this.#client.get<KeySecret>(ref);
    if (!secret) {
      secret = await this.#create();
    } else if (Object.keys(secret.data ?? {}).length === 0) {
      // An empty Secret (made by an installer ahead of time) gets its first key; one with keys is never rewritten.
      try {
        secret = await this.#client.update<KeySecret>({ ...secret, data: newKeyData(new Date(at)) });
      } catch (err) {
        if (!isConflict(err)) throw err;
        secret = await this.#client.get<KeySecret>(ref);
      }
    }
    if (!secret) throw new RevisionKeyInvalidError(`the ${REVISION_KEY_SECRET} Secret of namespace ${this.#namespace} disappeared while it was read`);
    return { ...keysOfSecret(secret), at };
  }

  #ref(): { apiVersion: string; kind: string; namespace: string; name: string } {
    return { apiVersion: 'v1', kind: 'Secret', namespace: this.#namespace, name: REVISION_KEY_SECRET };
  }

  async #create(): Promise<KeySecret | undefined> {
    const body: KeySecret = {
      apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
      metadata: {
        name: REVISION_KEY_SECRET, namespace: this.#namespace,
        labels: { 'app.kubernetes.io/part-of': 'trellis', 'app.kubernetes.io/component': 'revision-key' },
      },
      data: newKeyData(new Date(this.#now())),
    };
    try {
      return await this.#client.create(body, { fieldManager: 'trellis' });
    } catch (err) {
      // Another replica created it first: use theirs.
      if (isConflict(err)) return this.#client.get<KeySecret>(this.#ref());
      if (!isNotFound(err)) throw err;
    }
    // The namespace itself is missing: only outside a cluster install (`trellis up`, tests), where the controller is admin.
    await this.#client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: this.#namespace } }, { fieldManager: 'trellis' })
      .catch((err: unknown) => { if (!isConflict(err)) throw err; });
    try {
      return await this.#client.create(body, { fieldManager: 'trellis' });
    } catch (err) {
      if (isConflict(err)) return this.#client.get<KeySecret>(this.#ref());
      throw err;
    }
  }
}
