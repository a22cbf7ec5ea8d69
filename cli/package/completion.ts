/**
 * Shell completion for `trellis` and `kubectl-package`: `completion bash|zsh|fish`
 * prints a script that asks the CLI itself (`<program> __complete WORDS…`) what
 * may come next, so the completions always match the commands and flags of
 * the installed version: subcommands, flags, `-o` formats, and the names of
 * Packages (and namespaces) read from the cluster. `__complete` answers the way
 * cobra-based tools do (one candidate a line, then `:4`), which is also what
 * kubectl 1.26+ expects from a `kubectl_complete-package` helper, so
 * `kubectl package <TAB>` works too.
 */
import { Argument, Command, type Option } from 'commander';
import { packageResource } from '../../apply-controller/index.ts';
import { connect } from '../kube.ts';
import { runAction, type CommandIO } from './context.ts';
import { CliError } from './errors.ts';
import { OUTPUT_FORMATS } from './output.ts';

/** The shells `completion` writes scripts for. */
export const SHELLS = ['bash', 'zsh', 'fish'] as const;

/** A shell `completion` writes a script for. */
export type Shell = (typeof SHELLS)[number];

/** Looks names up in the cluster for completion; failures give no candidates. */
export interface NameLookup {
  packages(flags: LookupFlags): Promise<readonly string[]>;
  namespaces(flags: LookupFlags): Promise<readonly string[]>;
}

/** The cluster flags found among the words typed so far. */
export interface LookupFlags {
  readonly namespace?: string | undefined;
  readonly kubeconfig?: string | undefined;
  readonly context?: string | undefined;
}

/** cobra's "do not fall back to file names" directive, the last line of a `__complete` answer. */
const NO_FILE_COMPLETION = ':4';

function takesValue(option: Option): boolean {
  return option.required || option.optional;
}

// Options belong to the command they follow (the programs enable positional options).
function findOption(cmd: Command, word: string): Option | undefined {
  const flag = word.includes('=') ? word.slice(0, word.indexOf('=')) : word;
  return cmd.options.find((o) => o.long === flag || o.short === flag);
}

function subcommand(cmd: Command, word: string): Command | undefined {
  return cmd.commands.find((c) => c.name() === word || c.aliases().includes(word));
}

const LOOKUP_FLAGS: Record<string, keyof LookupFlags> = { namespace: 'namespace', kubeconfig: 'kubeconfig', context: 'context' };

/** Where the words typed before the current one lead: the command, its positional words, the flag awaiting a value. */
function walk(root: Command, words: readonly string[]): { cmd: Command; positionals: number; pending?: Option | undefined; flags: LookupFlags } {
  let cmd = root;
  let positionals = 0;
  let pending: Option | undefined;
  const flags: Record<string, string> = {};
  for (const word of words) {
    if (pending) {
      const key = LOOKUP_FLAGS[pending.attributeName()];
      if (key) flags[key] = word;
      pending = undefined;
      continue;
    }
    if (word.startsWith('-') && word !== '-') {
      const option = findOption(cmd, word);
      if (option && takesValue(option) && !word.includes('=') && !(option.short === word.slice(0, 2) && word.length > 2 && !word.startsWith('--'))) pending = option;
      else if (option && word.includes('=')) {
        const key = LOOKUP_FLAGS[option.attributeName()];
        if (key) flags[key] = word.slice(word.indexOf('=') + 1);
      }
      continue;
    }
    const sub = positionals === 0 ? subcommand(cmd, word) : undefined;
    if (sub) cmd = sub;
    else positionals += 1;
  }
  return { cmd, positionals, pending, flags };
}

function optionWords(cmd: Command): string[] {
  const words = new Set<string>();
  for (const o of cmd.options) {
    if (o.hidden) continue;
    if (o.long) words.add(o.long);
    if (o.short) words.add(o.short);
  }
  words.add('--help');
  return [...words];
}

/** Whether the `index`-th positional argument of `cmd` names a Package. */
function namesPackage(cmd: Command, index: number): boolean {
  const arg: Argument | undefined = cmd.registeredArguments[index];
  return arg !== undefined && arg.name() === 'name' && cmd.parent?.name() !== undefined && /package/.test(cmd.parent.name());
}

/**
 * The candidates for the last of `words` (the word being typed, possibly
 * empty), given the words before it; `root` is the program's command tree.
 */
export async function completeWords(root: Command, words: readonly string[], lookup?: NameLookup): Promise<string[]> {
  const current = words.at(-1) ?? '';
  const { cmd, positionals, pending, flags } = walk(root, words.slice(0, -1));
  let candidates: readonly string[] = [];
  const safely = async (get: () => Promise<readonly string[]>): Promise<readonly string[]> => {
    try {
      return await get();
    } catch {
      return [];
    }
  };
  if (pending) {
    const name = pending.attributeName();
    if (name === 'output') candidates = OUTPUT_FORMATS.map((f) => (f === 'jsonpath' ? 'jsonpath=' : f));
    else if (name === 'namespace' && lookup) candidates = await safely(() => lookup.namespaces(flags));
  } else if (current.startsWith('-')) {
    candidates = optionWords(cmd);
  } else {
    const subs = positionals === 0 ? cmd.commands.map((c) => c.name()).filter((n) => !n.startsWith('__')) : [];
    const names = lookup && namesPackage(cmd, positionals) ? await safely(() => lookup.packages(flags)) : [];
    candidates = [...subs, ...names];
    if (cmd.name() === 'completion' && positionals === 0) candidates = [...SHELLS];
  }
  return [...new Set(candidates)].filter((c) => c.startsWith(current)).sort();
}

/** Names from the cluster of the kubeconfig (short timeouts: a person is waiting on a key press). */
export function clusterLookup(env: NodeJS.ProcessEnv): NameLookup {
  const list = async (flags: LookupFlags, namespaced: boolean): Promise<string[]> => {
    const t = connect(flags, env);
    const type = namespaced
      ? { apiVersion: packageResource.apiVersion, kind: packageResource.kind, namespace: t.namespace }
      : { apiVersion: 'v1', kind: 'Namespace' };
    const timeout = new Promise<never>((_, reject) => { setTimeout(() => reject(new Error('timed out')), 3000).unref(); });
    try {
      const { items } = await Promise.race([t.client.list(type), timeout]);
      return items.map((o) => o.metadata?.name ?? '').filter((n) => n !== '');
    } finally {
      t.client.transport.close();
    }
  };
  return { packages: (flags) => list(flags, true), namespaces: (flags) => list(flags, false) };
}

/** The completion script for `shell`, completing the program `program` (`trellis` or `kubectl-package`). */
export function completionScript(shell: Shell, program: string): string {
  const fn = `__${program.replace(/[^A-Za-z0-9]/g, '_')}_complete`;
  switch (shell) {
    case 'bash':
      return `# bash completion for ${program}: source <(${program} completion bash)
${fn}() {
  local out
  out=$(${program} __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) || return 0
  mapfile -t COMPREPLY < <(printf '%s\\n' "$out" | grep -v '^:')
}
complete -o default -F ${fn} ${program}
`;
    case 'zsh':
      return `#compdef ${program}
# zsh completion for ${program}: source <(${program} completion zsh)
${fn}() {
  local -a candidates
  candidates=("\${(@f)$(${program} __complete "\${(@)words[2,CURRENT]}" 2>/dev/null | grep -v '^:')}")
  compadd -- \${candidates[@]}
}
compdef ${fn} ${program}
`;
    case 'fish':
      return `# fish completion for ${program}: ${program} completion fish | source
function ${fn}
    set -l words (commandline -opc) (commandline -ct)
    ${program} __complete $words[2..-1] 2>/dev/null | string match -v -r '^:'
end
complete -c ${program} -f -a '(${fn})'
`;
  }
}

/** The `completion SHELL` subcommand for `program`. */
export function completionCommand(io: CommandIO, program: string): Command {
  return new Command('completion')
    .description('print a shell completion script (bash, zsh or fish)')
    .addArgument(new Argument('<shell>', 'the shell').choices(SHELLS))
    .addHelpText('after', `
Examples:
  source <(${program} completion bash)        # add this line to ~/.bashrc
  source <(${program} completion zsh)         # add this line to ~/.zshrc
  ${program} completion fish > ~/.config/fish/completions/${program}.fish

For "kubectl package <TAB>" (kubectl 1.26 or later), put an executable
kubectl_complete-package on the PATH that runs: kubectl-package __complete "$@"
`)
    .action(async (shell: Shell) => {
      await runAction(io, () => {
        if (!(SHELLS as readonly string[]).includes(shell)) throw new CliError(`unknown shell ${shell}: one of ${SHELLS.join(', ')}`);
        io.term.out(completionScript(shell, program));
        return Promise.resolve();
      });
    });
}

/** The hidden `__complete WORDS…` command the scripts call; `root` is the whole program. */
export function completeCommand(io: CommandIO, root: () => Command, lookup: NameLookup = clusterLookup(io.env)): Command {
  return new Command('__complete')
    .argument('[words...]')
    .allowUnknownOption()
    .helpOption(false)
    .action(async (words: string[]) => {
      await runAction(io, async () => {
        const candidates = await completeWords(root(), words.length === 0 ? [''] : words, lookup);
        io.term.out([...candidates, NO_FILE_COMPLETION].map((l) => `${l}\n`).join(''));
      });
    });
}
