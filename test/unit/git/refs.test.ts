// Ref resolution against a plain list of refs (as ls-remote would return it),
// semver selection, and the redaction of Git errors.
import test from 'ava';
import {
  GitAuthError, GitError, GitRefNotFoundError, GitUnreachableError, redactGitText, toGitError,
} from '../../../source-controller/git/errors.ts';
import { resolveAgainst, selectSemverTag, type RemoteRef } from '../../../source-controller/git/refs.ts';

const sha = (c: string): string => c.repeat(40);
const ref = (name: string, commit: string, oid = commit, target?: string): RemoteRef => ({ name, oid, commit, target });

const REFS: RemoteRef[] = [
  ref('HEAD', sha('a'), sha('a'), 'refs/heads/main'),
  ref('refs/heads/main', sha('a')),
  ref('refs/heads/release', sha('b')),
  ref('refs/tags/v1.0.0', sha('1')),
  ref('refs/tags/v1.2.0', sha('2'), sha('e')), // annotated: oid is the tag object
  ref('refs/tags/1.10.0', sha('3')),
  ref('refs/tags/v2.0.0-rc.1', sha('4')),
  ref('refs/tags/not-a-version', sha('5')),
  ref('refs/tags/v1.2', sha('6')), // not full semver: ignored
];

test('a branch resolves to <branch>@sha1:<commit>', (t) => {
  t.deepEqual(resolveAgainst(REFS, { branch: 'release' }),
    { kind: 'branch', revision: `release@sha1:${sha('b')}`, commit: sha('b'), refName: 'refs/heads/release' });
});

test('no ref follows the default branch HEAD points at', (t) => {
  t.is(resolveAgainst(REFS, {}).revision, `main@sha1:${sha('a')}`);
  t.throws(() => resolveAgainst(REFS.filter((r) => r.name !== 'HEAD'), {}), { instanceOf: GitRefNotFoundError, message: /default branch/ });
});

test('an annotated tag resolves to the commit it points at, not the tag object', (t) => {
  const r = resolveAgainst(REFS, { tag: 'v1.2.0' });
  t.is(r.revision, `v1.2.0@sha1:${sha('2')}`);
  t.is(r.commit, sha('2'));
  t.is(r.refName, 'refs/tags/v1.2.0');
});

test('semver picks the highest matching tag, with or without a leading v', (t) => {
  t.is(resolveAgainst(REFS, { semver: '^1.0.0' }).revision, `1.10.0@sha1:${sha('3')}`);
  t.is(resolveAgainst(REFS, { semver: '~1.2' }).revision, `v1.2.0@sha1:${sha('2')}`);
  t.is(resolveAgainst(REFS, { semver: '>=1.0.0 <1.1.0' }).revision, `v1.0.0@sha1:${sha('1')}`);
  t.is(resolveAgainst(REFS, { semver: '*' }).revision, `1.10.0@sha1:${sha('3')}`, 'prereleases are not picked by plain ranges');
  t.is(resolveAgainst(REFS, { semver: '>=2.0.0-rc.0' }).revision, `v2.0.0-rc.1@sha1:${sha('4')}`);
  t.is(resolveAgainst(REFS, { semver: '^1' }).kind, 'semver');
});

test('semver ties between 1.0.0 and v1.0.0 are broken by name', (t) => {
  const both = [ref('refs/tags/v3.0.0', sha('7')), ref('refs/tags/3.0.0', sha('8'))];
  t.is(selectSemverTag(both, '3.x')?.name, 'refs/tags/3.0.0');
  t.is(selectSemverTag([...both].reverse(), '3.x')?.name, 'refs/tags/3.0.0');
});

test('missing tags, branches and unmatched ranges are GitRefNotFoundError', (t) => {
  const tag = t.throws(() => resolveAgainst(REFS, { tag: 'v9.9.9' }), { instanceOf: GitRefNotFoundError });
  t.is(tag?.reason, 'RefNotFound');
  t.regex(tag?.message ?? '', /tag "v9\.9\.9" not found/);
  t.throws(() => resolveAgainst(REFS, { branch: 'nope' }), { instanceOf: GitRefNotFoundError, message: /branch "nope"/ });
  t.throws(() => resolveAgainst(REFS, { semver: '^5.0.0' }), { instanceOf: GitRefNotFoundError, message: /no tag matches semver range "\^5\.0\.0"/ });
  const invalid = t.throws(() => resolveAgainst(REFS, { semver: 'not a range' }), { instanceOf: GitRefNotFoundError });
  t.is(invalid?.reason, 'InvalidRef');
});

test('a commit pin is sha1:<commit>, or <branch>@sha1:<commit> with a branch', (t) => {
  t.deepEqual(resolveAgainst([], { commit: sha('C') }), { kind: 'commit', revision: `sha1:${sha('c')}`, commit: sha('c') });
  t.deepEqual(resolveAgainst(REFS, { commit: sha('c'), branch: 'release' }),
    { kind: 'commit', revision: `release@sha1:${sha('c')}`, commit: sha('c'), refName: 'refs/heads/release' });
  t.throws(() => resolveAgainst([], { commit: 'abc123' }), { instanceOf: GitRefNotFoundError, message: /full SHA-1/ });
});

test('precedence when several fields are set: commit > semver > tag > branch', (t) => {
  t.is(resolveAgainst(REFS, { semver: '^1', tag: 'v1.0.0', branch: 'main' }).kind, 'semver');
  t.is(resolveAgainst(REFS, { tag: 'v1.0.0', branch: 'main' }).kind, 'tag');
  t.is(resolveAgainst(REFS, { commit: sha('d'), semver: '^1' }).kind, 'commit');
});

test('redaction removes URL credentials, auth headers and the exact secrets in use', (t) => {
  const auth = { username: 'deploy', password: 's3cr3t-pw' };
  const basic = Buffer.from('deploy:s3cr3t-pw').toString('base64');
  const text = redactGitText(`GET https://deploy:s3cr3t-pw@git.example/r.git failed; sent Authorization: Basic ${basic}; server said s3cr3t-pw`, auth);
  t.false(text.includes('s3cr3t-pw'));
  t.false(text.includes(basic));
  t.true(text.includes('git.example/r.git'));
  const bearer = redactGitText('token tok-123456789 rejected', { bearerToken: 'tok-123456789' });
  t.false(bearer.includes('tok-123456789'));
});

test('library errors map to typed, redacted GitErrors without a cause', (t) => {
  const auth = { username: 'u', password: 'hunter2-pw' };
  const ctx = { url: 'https://u:hunter2-pw@git.example/r.git', auth, operation: 'fetch' };
  const httpError = (statusCode: number): unknown => Object.assign(new Error(`HTTP Error: ${statusCode} for https://u:hunter2-pw@git.example`), {
    code: 'HttpError', data: { statusCode, statusMessage: 'Nope', response: 'hunter2-pw' },
  });
  const denied = toGitError(httpError(401), ctx);
  t.true(denied instanceof GitAuthError);
  t.is(denied.reason, 'AuthenticationFailed');
  t.regex(denied.message, /credentials were refused \(HTTP 401 Unauthorized\)/);
  t.true(toGitError(httpError(403), ctx) instanceof GitAuthError);
  const missing = toGitError(httpError(404), ctx);
  t.true(missing instanceof GitUnreachableError);
  t.is(missing.reason, 'RepositoryNotFound');
  t.true(toGitError(httpError(503), ctx) instanceof GitUnreachableError);
  const refused = toGitError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), ctx);
  t.true(refused instanceof GitUnreachableError);
  t.is(refused.reason, 'Unreachable');
  const other = toGitError(new Error('weird failure mentioning hunter2-pw'), ctx);
  t.true(other instanceof GitError);
  for (const err of [denied, missing, refused, other]) {
    t.false(err.message.includes('hunter2-pw'), err.message);
    t.is(err.cause, undefined);
    t.false(JSON.stringify(err).includes('hunter2-pw'));
  }
});
