/**
 * `trellis ui`: the web dashboard (ui/), served on this machine and talking to
 * the cluster with the user's own kubeconfig credentials, like kubectl. Bound
 * to loopback unless told otherwise; runs until Ctrl-C.
 */
import { spawn } from 'node:child_process';
import { Command, InvalidArgumentError } from 'commander';
import { startUiServer } from '../ui/server/server.ts';
import { examples } from './package/context.ts';
import { describeError } from './package/errors.ts';
import { isLoopbackHost } from './package/objects.ts';

/** Flags of `trellis ui`. */
interface UiFlags {
  readonly port: number;
  readonly address: string;
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly open?: boolean;
}

function parsePort(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535) throw new InvalidArgumentError('expected a port number (0 picks a free one)');
  return n;
}

/** Opens `url` in the desktop's browser, when there is one; says so otherwise. */
function openBrowser(url: string): void {
  const child = spawn('xdg-open', [url], { stdio: 'ignore', detached: true });
  child.on('error', () => process.stderr.write(`could not open a browser: open ${url} yourself\n`));
  child.unref();
}

async function serve(flags: UiFlags): Promise<void> {
  if (!isLoopbackHost(flags.address)) {
    process.stderr.write(`warning: listening on ${flags.address}: whoever reaches it acts on the cluster as you; prefer an SSH tunnel to 127.0.0.1\n`);
  }
  const server = await startUiServer({
    kube: { kubeconfig: flags.kubeconfig, context: flags.context }, address: flags.address, port: flags.port,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`Trellis UI: ${server.url}\n`);
  if (flags.open) openBrowser(server.url);
  const stop = (): void => {
    void server.close().finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** The `ui` command. */
export function uiCommand(): Command {
  return new Command('ui')
    .description('serve a web dashboard of Packages and sources, using your kubeconfig credentials')
    .option('--port <port>', 'port to listen on (0: any free port)', parsePort, 9999)
    .option('--address <address>', 'address to listen on (keep loopback unless you know who can reach it)', '127.0.0.1')
    .option('--kubeconfig <file>', 'kubeconfig file (default: KUBECONFIG, then ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context to use')
    .option('--open', 'open the dashboard in a browser', false)
    .addHelpText('after', examples('trellis ui', 'trellis ui --port 8080 --context staging --open'))
    .action(async (flags: UiFlags) => {
      try {
        await serve(flags);
      } catch (err) {
        process.stderr.write(`${describeError(err)}\n`);
        process.exitCode = 1;
      }
    });
}
