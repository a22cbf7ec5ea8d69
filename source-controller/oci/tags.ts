/**
 * Listing a repository's tags (`GET /v2/<name>/tags/list`), page by page: the
 * registry signals a next page with a `Link: <…>; rel="next"` header, and the
 * absence of that header means the list is complete.
 */
import { RegistryError } from './errors.ts';
import { readBody } from './http-exchange.ts';
import { formatReference, type OciReference } from './reference.ts';
import { headerValue, type RegistryTransport } from './transport.ts';

/** Options for {@link listTags}. */
export interface ListTagsOptions {
  /** Tags per page (`?n=`); registries may return fewer or ignore it. Default 1000. */
  readonly pageSize?: number;
  readonly signal?: AbortSignal | undefined;
  /** Stop after this many tags (a guard against endless listings). Default 100 000. */
  readonly maxTags?: number;
}

const PAGE_BODY_LIMIT = 8 * 1024 * 1024;

/** Every tag of `repo`, in the registry's order. */
export async function listTags(transport: RegistryTransport, repo: OciReference, opts: ListTagsOptions = {}): Promise<string[]> {
  const pageSize = opts.pageSize ?? 1000;
  const maxTags = opts.maxTags ?? 100_000;
  const name = formatReference({ host: repo.host, repository: repo.repository });
  const tags: string[] = [];
  const seenPages = new Set<string>();
  let path: string | undefined = `/v2/${repo.repository}/tags/list?n=${pageSize}`;
  while (path !== undefined) {
    if (seenPages.has(path)) throw new RegistryError(`listing the tags of ${name}: the registry sent the same page twice`, 200);
    seenPages.add(path);
    const res = await transport.request({
      method: 'GET', host: repo.host, repository: repo.repository, path, what: `the tag list of ${name}`, signal: opts.signal,
    });
    const body = await readBody(res.body, PAGE_BODY_LIMIT, `a tag list page of ${name}`);
    tags.push(...parseTagPage(body, name));
    if (tags.length > maxTags) throw new RegistryError(`listing the tags of ${name}: more than ${maxTags} tags`, 200);
    const next = nextPageLink(headerValue(res.headers.link));
    // Resolve against the page's URL and keep only path + query: the next page is on the same registry.
    path = next === undefined ? undefined : pathAndQuery(new URL(next, res.url));
  }
  return tags;
}

/** The URL of the `rel="next"` entry of a `Link` header, if any. */
export function nextPageLink(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const m of header.matchAll(/<([^>]*)>\s*((?:;\s*[^;,]+)*)/g)) {
    const params = m[2] ?? '';
    if (/;\s*rel\s*=\s*"?(?:[^";,]*\s)?next(?:\s[^";,]*)?"?/i.test(params)) return m[1];
  }
  return undefined;
}

function pathAndQuery(url: URL): string {
  return `${url.pathname}${url.search}`;
}

function parseTagPage(body: Buffer, name: string): string[] {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    throw new RegistryError(`the tag list of ${name} is not JSON`, 200);
  }
  const tags = (doc as { tags?: unknown } | null)?.tags;
  if (tags === null || tags === undefined) return [];
  if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) {
    throw new RegistryError(`the tag list of ${name} has no "tags" array of strings`, 200);
  }
  return tags;
}
