/**
 * Compiling a package into the program its bundle carries, files included. The
 * files a package reads are declared in its definition, which only the program
 * knows, so the package is compiled twice when it declares any: once without
 * files, to ask the program (in the sandbox) what it is and which files it
 * declares; then with those files embedded (embedded-files.ts). A package that
 * declares none is compiled once.
 */
import { dirname } from 'node:path';
import {
  defaultRenderLimits, parseProgramDescription, RenderError, runProgram, type ProgramDescription, type RenderLimits,
} from '../../apply-controller/program/index.ts';
import { collectEmbeddedFiles, type CollectFilesOptions } from './embedded-files.ts';
import { compileProgram, type CompiledProgram } from './compile.ts';

/** Options of {@link compilePackage}. */
export interface CompilePackageOptions extends CollectFilesOptions {
  readonly limits?: Partial<RenderLimits>;
}

/** A compiled package: its program, what it says about itself, and the files embedded in it. */
export interface CompiledPackage {
  readonly program: CompiledProgram;
  readonly description: ProgramDescription;
  /** The embedded files' paths, relative to the package folder, in order. */
  readonly files: readonly string[];
  /** Their total size. */
  readonly fileBytes: number;
}

/** The files a `describe` output declares (the kit's sandbox entry adds them when there are any). */
function declaredFiles(output: string): string[] {
  const data = JSON.parse(output) as { files?: unknown };
  return Array.isArray(data.files) ? data.files.filter((f): f is string => typeof f === 'string') : [];
}

/**
 * Compiles the package file `entry` with the files it declares embedded.
 * Throws PackageBuildError (CompileFailed, InvalidFiles) for the build's
 * problems and the engine's RenderError when the program cannot describe itself.
 */
export async function compilePackage(entry: string, opts: CompilePackageOptions = {}): Promise<CompiledPackage> {
  const bare = await compileProgram(entry);
  const result = await runProgram(bare.source, { method: 'describe' }, opts.limits ?? defaultRenderLimits());
  if (!result.ok) throw new RenderError(result.reason, result.message, result.logs);
  const description = parseProgramDescription(result.output);
  if (typeof description === 'string') throw new RenderError('InvalidOutput', description, result.logs);
  const declared = declaredFiles(result.output);
  if (declared.length === 0) return { program: bare, description, files: [], fileBytes: 0 };
  const collected = await collectEmbeddedFiles(dirname(entry), declared, opts);
  const program = await compileProgram(entry, { files: collected.files });
  return { program, description, files: Object.keys(collected.files), fileBytes: collected.bytes };
}
