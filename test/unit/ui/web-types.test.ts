// The dashboard's browser modules are plain JavaScript checked by TypeScript through their JSDoc
// (ui/web/tsconfig.json: strict, DOM library); the project's own typecheck covers only `.ts`.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { projectRoot } from '../../../hack/lib/system-tools.ts';

test('the browser modules type-check', async (t) => {
  const tsc = join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = await promisify(execFile)(process.execPath, [tsc, '-p', join(projectRoot, 'ui', 'web', 'tsconfig.json')], { cwd: projectRoot })
    .then(() => '', (err: Error & { stdout?: string }) => err.stdout ?? err.message);
  t.is(result, '');
});
