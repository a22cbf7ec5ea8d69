/**
 * `trellis init NAME [--dir DIR]`: scaffolds a package that builds, tests and
 * pushes as it is — a program (package.ts: a Deployment and Service, an Ingress
 * when `ingress.enabled`, one ConfigMap per `config` entry), a test that renders
 * it in the sandbox the cluster uses (`node --test`), a README, and a
 * package.json marking the folder as ES modules. The kit is imported from this
 * checkout by a relative path.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { failCommand } from './build.ts';

const KIT_INDEX = join(dirname(fileURLToPath(import.meta.url)), '..', 'packages-cdk8s', 'kit', 'index.ts');
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** The files of a new package named `name`, whose kit import is `kit` (a relative module path). */
export function scaffoldFiles(name: string, kit: string): Readonly<Record<string, string>> {
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
  return {
    'package.ts': program,
    'package.test.ts': testFile,
    'README.md': readme,
    'package.json': `${JSON.stringify({ name, version: '0.1.0', private: true, type: 'module', scripts: { test: 'node --test package.test.ts', build: 'trellis build .' } }, null, 2)}\n`,
  };
}

/** Writes the scaffold of `name` into `dir` (created; it must be empty or absent). Returns the files written. */
export async function initPackage(name: string, dir: string): Promise<string[]> {
  if (!DNS_LABEL.test(name)) throw new Error(`the package name "${name}" must be a DNS-1123 label (lowercase letters, digits and "-")`);
  const target = resolve(dir);
  const existing = await readdir(target).catch(() => []);
  if (existing.length > 0) throw new Error(`${target} is not empty: trellis init writes a new package into an empty folder`);
  await mkdir(target, { recursive: true });
  let kit = relative(target, KIT_INDEX).split(sep).join('/');
  if (!kit.startsWith('.')) kit = `./${kit}`;
  const files = scaffoldFiles(name, kit);
  for (const [file, content] of Object.entries(files)) await writeFile(join(target, file), content, { flag: 'wx' });
  return Object.keys(files).map((f) => join(target, f));
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
    .addHelpText('after', '\nExample:\n  trellis init shop && cd shop && node --test package.test.ts && trellis build .')
    .action(async (name: string, o: { dir?: string }) => {
      await initPackage(name, o.dir ?? name).then((files) => {
        for (const f of files) process.stderr.write(`wrote ${f}\n`);
      }).catch(failCommand);
    });
}
