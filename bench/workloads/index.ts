/** Every benchmark workload, by number: issue 9's seven, issue 12's large package, then issue 15's program render and program Packages. */
import type { Workload } from '../framework/workload.ts';
import { workload as coldApply } from './cold-apply.ts';
import { workload as commitToApplied } from './commit-to-applied.ts';
import { workload as drift } from './drift.ts';
import { workload as git } from './git.ts';
import { workload as largePackage } from './large-package.ts';
import { workload as manyPackages } from './many-packages.ts';
import { workload as noopReconcile } from './noop-reconcile.ts';
import { workload as oci } from './oci.ts';
import { workload as programPackages } from './program-packages.ts';
import { workload as programRender } from './program-render.ts';

/** The workloads `npm run bench` knows. */
export const workloads: readonly Workload[] = [coldApply, noopReconcile, drift, manyPackages, git, oci, commitToApplied, largePackage, programRender, programPackages];
