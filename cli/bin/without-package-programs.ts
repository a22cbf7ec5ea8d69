/**
 * What the shipped builds use in place of packages-cdk8s/build/program.ts (see
 * hack/build-cli.ts): a single-file `trellis` has neither a Node.js that runs
 * TypeScript nor the kit's sources, so it cannot run a package program. Pushing a
 * folder says so; pushing a built bundle.tgz works.
 */
import { PackageBuildError } from '../../packages-cdk8s/build/errors.ts';
import type { BuildPlan } from '../../packages-cdk8s/kit/index.ts';
import type { RunProgramOptions } from '../../packages-cdk8s/build/program.ts';

export type { RunProgramOptions };

/** Always throws: building a package needs `trellis` from a checkout. */
export function runPackageProgram(dir: string, _opts: RunProgramOptions = {}): Promise<BuildPlan> {
  return Promise.reject(new PackageBuildError('NodeVersion',
    `cannot build the package folder ${dir}: this trellis is the installed CLI, which pushes built bundles only. `
    + 'Build it with trellis from a checkout of Trellis (trellis build DIR -o bundle.tgz), then push the bundle.tgz.'));
}
