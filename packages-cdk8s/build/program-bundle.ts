/**
 * The plan of a program bundle: the compiled program, the values schema it
 * declares, and its output for the default values (the manifests, for review and
 * diff). Everything the package does runs in the same sandbox the apply
 * controller uses: `describe` for the name, version and schema, `render` for the
 * objects. The defaults are checked against the schema outside the sandbox, by
 * the bundle library's own `resolveValues`.
 */
import {
  DEFAULT_MANIFESTS_DIR, PACKAGE_MANIFEST_API_VERSION, PACKAGE_MANIFEST_KIND, resolveValues, type PackageManifest,
} from '../../apply-controller/bundle/index.ts';
import { RenderError, renderProgram, type RenderLimits } from '../../apply-controller/program/index.ts';
import { layoutFiles, type BuildPlan } from '../kit/index.ts';
import { checkEntry, type CompiledProgram } from './compile.ts';
import { compilePackage } from './compile-package.ts';
import { PackageBuildError } from './errors.ts';
import { typecheckPackage } from './typecheck.ts';

/** The program file's name in a bundle, beside package.yaml. */
export const PROGRAM_FILE = 'program.js';

/** A program bundle's plan: the usual plan (package.yaml and default manifests) plus the program. */
export interface ProgramPlan extends BuildPlan {
  readonly program: CompiledProgram;
}

/** Options of {@link planProgramBundle}. */
export interface PlanProgramOptions {
  /** Each line the program logs while it is described and rendered. */
  readonly onOutput?: (line: string, stream: 'stdout' | 'stderr') => void;
  readonly limits?: Partial<RenderLimits>;
  /** Type-check the package first (typecheck.ts). */
  readonly typecheck?: boolean;
}

function renderFailure(err: unknown, what: string): never {
  if (err instanceof RenderError) {
    const reason = err.reason === 'Timeout' ? 'Timeout' : 'ProgramFailed';
    const output = err.logs.length > 0 ? `\n${err.logs.slice(-20).join('\n')}` : '';
    throw new PackageBuildError(reason, `${what} failed (${err.reason}): ${err.message}${output}`);
  }
  throw err;
}

/** Compiles the package file `entry` and renders it with its defaults into a bundle plan. */
export async function planProgramBundle(entry: string, opts: PlanProgramOptions = {}): Promise<ProgramPlan> {
  await checkEntry(entry);
  if (opts.typecheck) await typecheckPackage(entry);
  const limits = opts.limits ?? {};
  const { program, description } = await compilePackage(entry, { limits })
    .catch((err: unknown) => renderFailure(err, 'loading the package program'));
  const resolved = resolveValues({ schema: description.schema });
  if (!resolved.ok) {
    throw new PackageBuildError('InvalidPackage', `package ${description.name}: the defaults do not satisfy the values schema: ${resolved.errors.map((e) => e.message).join('; ')}`);
  }
  const rendered = await renderProgram(program.source, program.digest, resolved.values, { limits })
    .catch((err: unknown) => renderFailure(err, 'rendering the package with its default values'));
  for (const line of rendered.logs) opts.onOutput?.(line, 'stdout');
  const manifest: PackageManifest = {
    apiVersion: PACKAGE_MANIFEST_API_VERSION,
    kind: PACKAGE_MANIFEST_KIND,
    name: description.name,
    version: description.version,
    ...(description.description !== undefined ? { description: description.description } : {}),
    phases: [...rendered.phases],
    manifests: DEFAULT_MANIFESTS_DIR,
    values: { schema: description.schema, placements: [] },
    program: { file: PROGRAM_FILE, digest: program.digest },
  };
  return { manifest, files: layoutFiles(rendered), unusedValues: [], program };
}
