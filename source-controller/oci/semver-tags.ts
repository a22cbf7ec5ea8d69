/**
 * Picking a version among a repository's tags: the highest tag that satisfies a
 * semver range. Tags that are not versions (`latest`, `main-3f2a`) are ignored; a
 * leading `v` is allowed; `_` stands for `+` because OCI tags cannot hold `+`.
 * Pre-releases match only when the range names one, as the semver package decides.
 */
import semver from 'semver';
import { InvalidReferenceError, NoMatchingVersionError } from './errors.ts';

/** The chosen tag and the version it was read as. */
export interface SemverMatch {
  readonly tag: string;
  readonly version: string;
}

/** The version a tag names, or undefined. */
export function tagVersion(tag: string): string | undefined {
  const parsed = semver.parse(tag.replace(/^v/, '').replace(/_/g, '+'));
  if (!parsed) return undefined;
  // `version` drops build metadata; keep it so the reported version is the tag's.
  return parsed.build.length > 0 ? `${parsed.version}+${parsed.build.join('.')}` : parsed.version;
}

/** Throws {@link InvalidReferenceError} unless `range` is a valid semver range. */
export function validateSemverRange(range: string): void {
  if (range.trim() === '' || semver.validRange(range) === null) {
    throw new InvalidReferenceError(`invalid semver range ${JSON.stringify(range)}`);
  }
}

/**
 * The highest tag satisfying `range`. `what` names the repository in messages.
 * Throws {@link NoMatchingVersionError} when nothing matches.
 */
export function selectSemverTag(tags: readonly string[], range: string, what: string): SemverMatch {
  validateSemverRange(range);
  let best: SemverMatch | undefined;
  const versions: string[] = [];
  for (const tag of tags) {
    const version = tagVersion(tag);
    if (version === undefined) continue;
    versions.push(version);
    if (!semver.satisfies(version, range)) continue;
    const order = best === undefined ? 1 : semver.compare(version, best.version);
    // Equal versions (`1.2.0` and `v1.2.0`): the lexically smaller tag, so the choice is stable.
    if (order > 0 || (order === 0 && best !== undefined && tag < best.tag)) best = { tag, version };
  }
  if (best) return best;
  const highest = versions.sort(semver.rcompare).slice(0, 5);
  const seen = highest.length > 0 ? `highest versions: ${highest.join(', ')}` : 'no tag is a semver version';
  throw new NoMatchingVersionError(`no tag of ${what} matches semver range ${JSON.stringify(range)} (${tags.length} tags; ${seen})`);
}
