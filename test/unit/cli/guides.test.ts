// The guides the CLI and the alerts point people at stay true: every failure
// reason the controllers set in a condition has a row in docs/troubleshooting.md,
// and the guides the README lists exist.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Reasons given to the controllers' failure constructors, read from their sources. */
function failureReasons(): Set<string> {
  const reasons = new Set<string>();
  const patterns = [/PackageFailure\([^,()]*, '([A-Z][A-Za-z]+)'/g, /fetchFailed\('([A-Z][A-Za-z]+)'/g, /SourceFailure\([^']*'([A-Z][A-Za-z]+)'/g, /reason: '([A-Z][A-Za-z]+)'/g];
  for (const file of [...sources('apply-controller'), ...sources('source-controller')]) {
    const text = readFileSync(file, 'utf8');
    for (const pattern of patterns) for (const m of text.matchAll(pattern)) if (m[1]) reasons.add(m[1]);
  }
  reasons.delete('Succeeded');
  return reasons;
}

test('every failure reason the controllers set has a row in docs/troubleshooting.md', (t) => {
  const guide = readFileSync('docs/troubleshooting.md', 'utf8');
  const reasons = failureReasons();
  t.true(reasons.size >= 25, `found ${reasons.size} reasons`);
  for (const reason of reasons) t.true(guide.includes(`\`${reason}\``), `${reason} is not explained in docs/troubleshooting.md`);
});

test('the guides exist and link where they say', (t) => {
  for (const guide of ['git-workflow', 'ci', 'multi-tenancy', 'troubleshooting', 'metrics']) t.true(existsSync(`docs/${guide}.md`), guide);
  for (const file of ['docs/monitoring/grafana-dashboard.json', 'docs/monitoring/prometheus-rule.yaml']) t.true(existsSync(file), file);
  const ci = readFileSync('docs/ci.md', 'utf8');
  t.regex(ci, /^# \.github\/workflows\/package\.yaml$/m);
  t.regex(ci, /^# \.gitlab-ci\.yml$/m);
});
