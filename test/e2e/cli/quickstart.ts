/**
 * The README's Quickstart as data: the ```sh blocks of the `## Quickstart`
 * section, in order. The first block is what the first terminal runs
 * (`npm start`); the others are the second terminal's commands, one per line.
 * The e2e test runs exactly these lines, so the README cannot drift from what
 * works.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../../hack/lib/system-tools.ts';

/** The Quickstart's commands. */
export interface Quickstart {
  /** The first terminal's command(s). */
  readonly server: readonly string[];
  /** The second terminal's commands, in order. */
  readonly commands: readonly string[];
}

/** Extracts the Quickstart from README text; throws when the section or its blocks are missing. */
export function parseQuickstart(readme: string): Quickstart {
  const start = readme.indexOf('\n## Quickstart\n');
  if (start < 0) throw new Error('README.md has no "## Quickstart" section');
  const rest = readme.slice(start + 1);
  const next = rest.indexOf('\n## ', 3);
  const section = next < 0 ? rest : rest.slice(0, next);
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => (m[1] ?? '')
    .split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')));
  const [server, ...others] = blocks;
  if (!server || others.length === 0) throw new Error('the Quickstart needs a block for the first terminal and at least one for the second');
  return { server, commands: others.flat() };
}

/** The project's README Quickstart. */
export function readQuickstart(): Quickstart {
  return parseQuickstart(readFileSync(join(projectRoot, 'README.md'), 'utf8'));
}
