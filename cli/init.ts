/**
 * `trellis init NAME [--dir DIR] [--kit checkout|package]`: scaffolds a package
 * that builds, tests and pushes as it is — a program (package.ts: a Deployment
 * and Service, an Ingress when `ingress.enabled`, one ConfigMap per `config`
 * entry), a test that renders it in the sandbox the cluster uses (`node --test`),
 * a README, and a package.json marking the folder as ES modules.
 *
 * The kit comes from one of two places (`--kit`): this checkout, by a relative
 * path (the default: nothing to install), or the npm package `@trellis/cdk8s-kit`
 * (`npm run build:kit`), a dependency by version beside cdk8s, cdk8s-plus-33 and
 * constructs, with a tsconfig.json that type-checks the package against the
 * kit's declarations.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { failCommand } from './build.ts';

const CHECKOUT = join(dirname(fileURLToPath(import.meta.url)), '..');
const KIT_INDEX = join(CHECKOUT, 'packages-cdk8s', 'kit', 'index.ts');
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** The kit's npm package (hack/build-kit.ts builds it). */
export const KIT_PACKAGE = '@trellis/cdk8s-kit';

/** Where a scaffold takes the kit from: this checkout (a relative import) or the npm package. */
export type KitSource = 'checkout' | 'package';

/** How a scaffold imports the kit and, for the npm package, what it depends on. */
export interface ScaffoldKit {
  /** The module the package's files import the kit from. */
  readonly module: string;
  /** For the npm package: the package.json's dependencies and devDependencies (name -> range). */
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly devDependencies?: Readonly<Record<string, string>>;
}

/** The tsconfig.json of a scaffold that installs the kit: Node's own module rules, the kit's declarations. */
const PACKAGE_TSCONFIG = {
  compilerOptions: {
    target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true,
    allowImportingTsExtensions: true, skipLibCheck: true, types: ['node'],
  },
  include: ['*.ts'],
};

/** The npm package's dependencies, at this checkout's versions: the kit, its peers, and the type checker. */
async function kitPackageDependencies(): Promise<Pick<ScaffoldKit, 'dependencies' | 'devDependencies'>> {
  const readJson = async (file: string): Promise<Record<string, unknown>> => JSON.parse(await readFile(join(CHECKOUT, file), 'utf8')) as Record<string, unknown>;
  const root = await readJson('package.json');
  const declared = { ...(root.devDependencies as Record<string, string>), ...(root.dependencies as Record<string, string>) };
  const constructs = (await readJson('node_modules/constructs/package.json')).version;
  const range = (name: string): string => {
    const found = declared[name];
    if (found === undefined) throw new Error(`this checkout's package.json does not name ${name}`);
    return found;
  };
  return {
    dependencies: {
      [KIT_PACKAGE]: `^${String(root.version)}`, 'cdk8s': range('cdk8s'), 'cdk8s-plus-33': range('cdk8s-plus-33'), 'constructs': `^${String(constructs)}`,
    },
    devDependencies: { 'typescript': range('typescript'), '@types/node': range('@types/node') },
  };
}

/** The files of a new package named `name`, importing the kit as `kit` says. */
export function scaffoldFiles(name: string, kitSource: ScaffoldKit): Readonly<Record<string, string>> {
  const kit = kitSource.module;
  const program = `/**
 * The ${name} package: a web server Deployment and its Service, an Ingress when
 * ingress.enabled, and one ConfigMap per entry of config. The program runs at
 * install time, in a sandbox, with the values the Package gives.
 */
import { k8s } from 'cdk8s-plus-33';
import { definePackage, item, value } from '${kit}';

export default definePackage({
  name: '${name}',
  version: '0.1.0',
  description: 'Describe ${name} here',
  values: {
    replicas: value.integer({ default: 1, minimum: 0, maximum: 10, description: 'Pods' }),
    image: value.string({ default: 'nginx:1.27', minLength: 1, description: 'Container image' }),
    ingress: value.object({
      enabled: value.boolean({ default: false, description: 'Expose the Service through an Ingress' }),
      host: value.string({ default: '${name}.example.com', format: 'hostname' }),
    }),
    config: value.map(item.map(item.string()), { default: {}, keyPattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', description: 'name -> files: one ConfigMap each' }),
  },
  build(app, values) {
    const config = app.phase('config');
    const apps = app.phase('apps', { after: [config] });
    const labels = { 'app.kubernetes.io/name': '${name}' };

    for (const [entry, data] of Object.entries(values.config)) {
      new k8s.KubeConfigMap(config, \`config-\${entry}\`, { metadata: { name: \`${name}-\${entry}\`, labels }, data: { ...data } });
    }
    new k8s.KubeDeployment(apps, 'deployment', {
      metadata: { name: '${name}', labels },
      spec: {
        replicas: values.replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: { containers: [{ name: 'main', image: values.image, ports: [{ name: 'http', containerPort: 80 }] }] },
        },
      },
    });
    new k8s.KubeService(apps, 'service', {
      metadata: { name: '${name}', labels },
      spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: k8s.IntOrString.fromString('http') }] },
    });
    if (values.ingress.enabled) {
      new k8s.KubeIngress(apps, 'ingress', {
        metadata: { name: '${name}', labels },
        spec: {
          rules: [{
            host: values.ingress.host,
            http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: '${name}', port: { name: 'http' } } } }] },
          }],
        },
      });
    }
  },
});
`;
  const testFile = `// Renders the package in the same sandbox the cluster uses: node --test package.test.ts
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { render } from '${kit}';

const entry = new URL('./package.ts', import.meta.url);
const kinds = (objects: Record<string, unknown>[]): unknown[] => objects.map((o) => o.kind);

test('the defaults: a Deployment and a Service', async () => {
  assert.deepEqual(kinds(await render(entry)), ['Deployment', 'Service']);
});

test('an Ingress when enabled, and one ConfigMap per config entry', async () => {
  const objects = await render(entry, { ingress: { enabled: true }, config: { app: { 'app.conf': 'x=1' } } });
  assert.deepEqual(kinds(objects), ['ConfigMap', 'Deployment', 'Service', 'Ingress']);
});

test('values the schema refuses are refused before the program runs', async () => {
  await assert.rejects(render(entry, { replicas: 'many' }), /values\\/replicas must be integer/);
});
`;
  const readme = `# ${name}

A Trellis package: a cdk8s program (\`package.ts\`) that runs at install time, in a
sandbox, with the values of the Package that installs it.

    node --test package.test.ts                          # render it as the cluster would
    trellis build . -o ${name}.tgz                        # a program bundle (program + schema + default output)
    trellis push . oci://REGISTRY/${name}:0.1.0           # build and push
    kubectl package install ${name} oci://REGISTRY/${name} --version '^0.1' --set ingress.enabled=true

Values: \`replicas\`, \`image\`, \`ingress.enabled\` / \`ingress.host\`, and \`config\` (a map:
each entry becomes one ConfigMap). Install-time values are typed by the schema the
program declares (\`--set\`, \`--set-json\`, \`-f values.yaml\`).

What the sandbox forbids (files, network, clock, randomness, Node APIs) and why:
the authoring guide, docs/authoring.md in the Trellis repository.
`;
  const scripts = { test: 'node --test package.test.ts', build: 'trellis build .' };
  if (kitSource.dependencies === undefined) {
    return {
      'package.ts': program,
      'package.test.ts': testFile,
      'README.md': readme,
      'package.json': `${JSON.stringify({ name, version: '0.1.0', private: true, type: 'module', scripts }, null, 2)}\n`,
    };
  }
  const manifest = {
    name, version: '0.1.0', private: true, type: 'module', scripts: { ...scripts, typecheck: 'tsc' },
    dependencies: kitSource.dependencies, devDependencies: kitSource.devDependencies ?? {},
  };
  const install = `The kit is the npm package \`${KIT_PACKAGE}\`. Install it with the rest:

    npm install                                          # from a registry that has ${KIT_PACKAGE}
    npm install <trellis checkout>/dist/trellis-cdk8s-kit-<version>.tgz   # or the tarball of npm run build:kit
    npm run typecheck                                    # tsc: the values and cdk8s calls are typed

`;
  return {
    'package.ts': program,
    'package.test.ts': testFile,
    'README.md': readme.replace('\n\n    node --test', `\n\n${install}    node --test`),
    'package.json': `${JSON.stringify(manifest, null, 2)}\n`,
    'tsconfig.json': `${JSON.stringify(PACKAGE_TSCONFIG, null, 2)}\n`,
  };
}

/**
 * Writes the scaffold of `name` into `dir` (created; it must be empty or absent),
 * taking the kit from `kit` (default: this checkout). Returns the files written.
 */
export async function initPackage(name: string, dir: string, kit: KitSource = 'checkout'): Promise<string[]> {
  if (!DNS_LABEL.test(name)) throw new Error(`the package name "${name}" must be a DNS-1123 label (lowercase letters, digits and "-")`);
  const target = resolve(dir);
  const existing = await readdir(target).catch(() => []);
  if (existing.length > 0) throw new Error(`${target} is not empty: trellis init writes a new package into an empty folder`);
  const source: ScaffoldKit = kit === 'package'
    ? { module: KIT_PACKAGE, ...await kitPackageDependencies() }
    : { module: checkoutKitImport(target) };
  await mkdir(target, { recursive: true });
  const files = scaffoldFiles(name, source);
  for (const [file, content] of Object.entries(files)) await writeFile(join(target, file), content, { flag: 'wx' });
  return Object.keys(files).map((f) => join(target, f));
}

/** The relative import of this checkout's kit from the folder `dir`. */
function checkoutKitImport(dir: string): string {
  const kit = relative(dir, KIT_INDEX).split(sep).join('/');
  return kit.startsWith('.') ? kit : `./${kit}`;
}

/** The `init` subcommand. */
export function initCommand(): Command {
  return new Command('init')
    .description('scaffold a package: a program, a test, a README; it builds, tests and pushes as it is')
    .argument('<name>', 'the package name (a DNS-1123 label); also the folder, unless --dir', (v: string) => {
      if (!DNS_LABEL.test(v)) throw new InvalidArgumentError('must be a DNS-1123 label');
      return v;
    })
    .option('--dir <dir>', 'the folder to create (default ./<name>)')
    .addOption(new Option('--kit <source>', `where the kit comes from: this checkout (a relative import) or the npm package ${KIT_PACKAGE}`)
      .choices(['checkout', 'package']).default('checkout'))
    .addHelpText('after', '\nExamples:\n  trellis init shop && cd shop && node --test package.test.ts && trellis build .'
      + `\n  trellis init shop --kit package && cd shop && npm install <checkout>/dist/trellis-cdk8s-kit-<version>.tgz && npm test`)
    .action(async (name: string, o: { dir?: string; kit: KitSource }) => {
      await initPackage(name, o.dir ?? name, o.kit).then((files) => {
        for (const f of files) process.stderr.write(`wrote ${f}\n`);
        if (o.kit === 'package') {
          process.stderr.write(`install the kit: npm install (from a registry that has ${KIT_PACKAGE}), or npm run build:kit in ${CHECKOUT}`
            + ` and npm install ${join(CHECKOUT, 'dist')}/trellis-cdk8s-kit-<version>.tgz\n`);
        }
      }).catch(failCommand);
    });
}
