/**
 * The image's contents, layer by layer, ordered from what changes least to what
 * changes most so an application change re-pushes only the last layer:
 *
 * 1. `debian`: the Debian packages' files (without documentation other than
 *    copyright files) — Debian 12's, and `kustomize` from Debian 13 —, the CA bundle, `/etc/passwd` and `/etc/group` with the
 *    unprivileged user 65532 (`nonroot`), `/tmp`, and a status.d entry per package
 *    so scanners can see them, as distroless images do;
 * 2. `node`: the Node 24 binary at `/usr/local/bin/node`;
 * 3. `app`: the controllers under `/app`, as the bundles hack/build-controllers.ts
 *    makes in the checkout (`apply-controller.mjs`, `source-controller.mjs`: every
 *    npm dependency inside, tree-shaken, so the image has no node_modules).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { bundledPackages, type NpmPackage } from './application.ts';
import {
  BASE_DEBIAN_PACKAGES, debianLicences, describeDebianPackage, extractDebianPackage, fetchDebianPackage, packagesForBinary,
  spdxExpressionOf, suiteAptState, SUITE_DEBIAN_PACKAGES, updateSuiteLists, type FetchedDebianPackage,
} from './debian.ts';
import { entriesFromTree, textEntry, type LayerEntry } from './layer.ts';
import { debianPurl, npmPurl, type SbomComponent } from './sbom.ts';

const run = promisify(execFile);

/** The unprivileged user (and group) the image runs as, as in distroless images. */
export const NONROOT_UID = 65532;
/** Where the application lives in the image; the image's working directory. */
export const APP_DIR = 'app';
/** Where the Node binary lives in the image. */
export const NODE_PATH = 'usr/local/bin/node';

/** One layer's worth of entries. */
export interface PlannedLayer {
  readonly name: 'debian' | 'node' | 'app';
  /** The config's history line for it. */
  readonly createdBy: string;
  readonly entries: readonly LayerEntry[];
}

/** Everything the image will contain, and its bill of materials. */
export interface ImageContents {
  readonly layers: readonly PlannedLayer[];
  readonly components: readonly SbomComponent[];
  readonly nodeVersion: string;
  readonly debianPackages: readonly FetchedDebianPackage[];
  /** The npm packages inside the bundles. */
  readonly npmPackages: readonly NpmPackage[];
  /** The project's modules inside the bundles. */
  readonly appFiles: readonly string[];
  /** The application's name and version (package.json). */
  readonly app: { readonly name: string; readonly version: string; readonly license: string };
}

/** Inputs of {@link planImageContents}. */
export interface ContentsOptions {
  /** The Trellis checkout. */
  readonly root: string;
  /** The Node binary to ship (`process.execPath` under hack/bootstrap.mjs). */
  readonly nodeBinary: string;
  /** Where .debs are cached. */
  readonly debCache: string;
  /** A scratch folder for the unpacked Debian files (kept until the layers are written). */
  readonly workDir: string;
  readonly log: (line: string) => void;
}

/** Debian paths a running Node never reads (documentation, gdb helpers); copyright files stay. */
export function isDroppedFromDebian(relPath: string, isDirectory: boolean): boolean {
  if (/^usr\/share\/(man|info|lintian|locale|gdb|gcc|bug)(\/|$)/.test(relPath)) return true;
  const doc = /^usr\/share\/doc\/[^/]+\/(.+)$/.exec(relPath);
  return doc !== null && !(doc[1] === 'copyright' && !isDirectory);
}

const PASSWD = [
  'root:x:0:0:root:/root:/sbin/nologin',
  'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin',
  `nonroot:x:${NONROOT_UID}:${NONROOT_UID}:nonroot:/home/nonroot:/sbin/nologin`,
  '',
].join('\n');
const GROUP = ['root:x:0:', 'nogroup:x:65534:', `nonroot:x:${NONROOT_UID}:`, ''].join('\n');

/** The files every image gets besides the packages' own: users, /tmp, home, the CA bundle, os-release. */
async function baseEntries(debianRoot: string): Promise<LayerEntry[]> {
  const certsDir = join(debianRoot, 'usr', 'share', 'ca-certificates');
  const certs: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      if ((await stat(path)).isDirectory()) await walk(path);
      else if (name.endsWith('.crt')) certs.push((await readFile(path, 'utf8')).trimEnd());
    }
  };
  if (existsSync(certsDir)) await walk(certsDir);
  if (certs.length === 0) throw new Error('the ca-certificates package brought no certificates');
  const osRelease = existsSync('/etc/os-release') ? await readFile('/etc/os-release', 'utf8') : 'ID=debian\n';
  return [
    textEntry('etc/passwd', PASSWD),
    textEntry('etc/group', GROUP),
    textEntry('etc/os-release', osRelease),
    // Without it glibc asks DNS before /etc/hosts (which the kubelet mounts with the Pod's own names).
    textEntry('etc/nsswitch.conf', 'passwd: files\ngroup: files\nhosts: files dns\n'),
    // update-ca-certificates (a maintainer script dpkg -x does not run) would make this bundle.
    textEntry('etc/ssl/certs/ca-certificates.crt', `${certs.join('\n')}\n`),
    { type: 'dir', path: 'tmp', mode: 0o1777 },
    { type: 'dir', path: 'root', mode: 0o700 },
    { type: 'dir', path: 'home/nonroot', mode: 0o700, uid: NONROOT_UID, gid: NONROOT_UID },
  ];
}

/** A Debian package's SBOM entry: version, licences from its copyright file, purl, and the suite when not the machine's own. */
export function debianComponent(pkg: FetchedDebianPackage, licences: readonly string[]): SbomComponent {
  const from = pkg.suite !== undefined ? `from Debian ${pkg.suite}; ` : '';
  return {
    kind: 'deb', name: pkg.name, version: pkg.version, license: spdxExpressionOf(licences),
    purl: debianPurl(pkg.name, pkg.version, pkg.architecture, pkg.suite),
    comment: `${from}${licences.length > 0 ? `licences named in /usr/share/doc/${pkg.name}/copyright: ${licences.join(', ')}` : 'no copyright file'}`,
  };
}

/** The image's .debs, described and fetched (verified): the machine's own lists first, then the other suites'. */
async function fetchImagePackages(opts: ContentsOptions): Promise<FetchedDebianPackage[]> {
  const names = [...new Set([...BASE_DEBIAN_PACKAGES, ...(await packagesForBinary(opts.nodeBinary))])].sort();
  const packages: FetchedDebianPackage[] = [];
  for (const name of names) packages.push(await fetchDebianPackage(await describeDebianPackage(name), opts.debCache, opts.log));
  for (const { suite, name } of SUITE_DEBIAN_PACKAGES) {
    if (names.includes(name)) throw new Error(`${name} is both a Debian 12 package of the image and one from ${suite}`);
    const apt = suiteAptState(opts.debCache, suite);
    await updateSuiteLists(apt, opts.log);
    packages.push(await fetchDebianPackage(await describeDebianPackage(name, apt), opts.debCache, opts.log, apt));
  }
  return packages;
}

async function debianLayer(opts: ContentsOptions): Promise<{ layer: PlannedLayer; packages: FetchedDebianPackage[]; components: SbomComponent[] }> {
  const rootfs = join(opts.workDir, 'debian-root');
  await mkdir(rootfs, { recursive: true });
  const packages = await fetchImagePackages(opts);
  const status: LayerEntry[] = [];
  for (const pkg of packages) {
    await extractDebianPackage(pkg, rootfs);
    const { stdout } = await run('dpkg-deb', ['-f', pkg.file]);
    status.push(textEntry(`var/lib/dpkg/status.d/${pkg.name}`, `${stdout.trimEnd()}\n`));
  }
  const components: SbomComponent[] = [];
  for (const pkg of packages) components.push(debianComponent(pkg, await debianLicences(rootfs, pkg.name)));
  const entries = [
    ...await entriesFromTree(rootfs, { exclude: isDroppedFromDebian }),
    ...await baseEntries(rootfs),
    ...status,
  ];
  const layer: PlannedLayer = {
    name: 'debian', entries,
    createdBy: `trellis image build: Debian packages (dpkg -x) ${packages.map((p) => `${p.name}=${p.version}${p.suite !== undefined ? ` (${p.suite})` : ''}`).join(' ')}; users; CA bundle`,
  };
  return { layer, packages, components };
}

/** The script in a checkout that bundles the controllers. */
const BUNDLE_SCRIPT = 'hack/build-controllers.ts';

/** What the bundle script writes beside the bundles (`controllers.json`). */
interface BundlesManifest {
  /** The bundle files; the image runs `node <options> <file>`. */
  readonly bundles: readonly string[];
  readonly modules: readonly string[];
  readonly packages: readonly string[];
}

/**
 * Runs the checkout's own bundle script with the Node binary the image ships
 * (a checkout has esbuild; the shipped CLI does not), into the scratch folder.
 */
async function buildControllerBundles(opts: ContentsOptions): Promise<{ readonly dir: string; readonly manifest: BundlesManifest }> {
  const dir = join(opts.workDir, 'controllers');
  opts.log(`bundling the controllers (${BUNDLE_SCRIPT})`);
  try {
    await run(opts.nodeBinary, [join(opts.root, BUNDLE_SCRIPT), '--out', dir], { cwd: opts.root, maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`${BUNDLE_SCRIPT} failed: ${stderr.trim() || (err instanceof Error ? err.message : String(err))}`);
  }
  const manifest = JSON.parse(await readFile(join(dir, 'controllers.json'), 'utf8')) as BundlesManifest;
  return { dir, manifest };
}

/** Plans the three layers and the SBOM components (downloads .debs that are not cached). */
export async function planImageContents(opts: ContentsOptions): Promise<ImageContents> {
  const pkgJson = JSON.parse(await readFile(join(opts.root, 'package.json'), 'utf8')) as { name?: string; version?: string; license?: string };
  const app = { name: pkgJson.name ?? 'trellis', version: pkgJson.version ?? '0.0.0', license: pkgJson.license ?? 'NOASSERTION' };
  const debian = await debianLayer(opts);

  const nodeVersion = (await run(opts.nodeBinary, ['--version'])).stdout.trim().replace(/^v/, '');
  const node: PlannedLayer = {
    name: 'node', createdBy: `trellis image build: Node ${nodeVersion} at /${NODE_PATH}`,
    entries: [{ type: 'file', path: NODE_PATH, mode: 0o755, source: { file: opts.nodeBinary, size: (await stat(opts.nodeBinary)).size } }],
  };

  const bundles = await buildControllerBundles(opts);
  const npmPackages = await bundledPackages(opts.root, bundles.manifest.packages);
  // Node reads "type": "module" from here; nothing else of the project's package.json is needed at run time.
  const runtimePackageJson = `${JSON.stringify({ name: app.name, version: app.version, license: app.license, private: true, type: 'module' }, null, 2)}\n`;
  const appEntries: LayerEntry[] = [textEntry(`${APP_DIR}/package.json`, runtimePackageJson)];
  for (const file of bundles.manifest.bundles) {
    appEntries.push({ type: 'file', path: `${APP_DIR}/${file}`, mode: 0o644, source: { bytes: await readFile(join(bundles.dir, file)) } });
  }
  const appLayer: PlannedLayer = {
    name: 'app', entries: appEntries,
    createdBy: `trellis image build: ${app.name} ${app.version}, the controllers bundled (${bundles.manifest.modules.length} modules, ${npmPackages.length} npm packages)`,
  };

  const components: SbomComponent[] = [
    ...debian.components,
    { kind: 'generic', name: 'node', version: nodeVersion, license: 'MIT', purl: `pkg:generic/node@${nodeVersion}`, comment: 'the Node.js binary' },
    ...npmPackages.map((p): SbomComponent => ({ kind: 'npm', name: p.name, version: p.version, license: p.license, purl: npmPurl(p.name, p.version) })),
    { kind: 'trellis', name: app.name, version: app.version, license: app.license, purl: npmPurl(app.name, app.version), comment: 'the controllers' },
  ];
  return {
    layers: [debian.layer, node, appLayer], components, nodeVersion,
    debianPackages: debian.packages, npmPackages, appFiles: bundles.manifest.modules, app,
  };
}
