/**
 * The commands of `mountgate`, each with its synopsis, flags and notes: the
 * usage `mountgate <command> --help` prints, and the overview of `mountgate help`.
 */
import { AUDIT_OPTIONS } from './audit-options.js';
import { BACKSTOP_OPTIONS } from './backstop-options.js';
import { CHECK_OPTIONS } from './check-options.js';
import { describeOptions, type OptionSpecs } from './options.js';
import { SERVE_OPTIONS } from './serve-options.js';

export interface Command {
  readonly name: string;
  /** The command line, flags in brackets when optional. */
  readonly synopsis: readonly string[];
  readonly summary: string;
  readonly options: OptionSpecs;
  /** Paragraphs after the flags: what it prints, exit codes. */
  readonly notes: string;
}

export const COMMANDS = [
  {
    name: 'serve',
    synopsis: [
      'mountgate serve --config FILE (--tls-cert FILE --tls-key FILE | --dev)',
      '                [--port 8443] [--host 0.0.0.0] [--metrics-port 9090] [--shutdown-delay 5]',
      '                [--max-connections 1024] [--reload-interval 1] [--log-level info]',
      '                [--pod-security-preflight] [--kubeconfig FILE]',
      '                [--mount-policies --lease-namespace NS [--lease-name mountgate-status] [--identity NAME]]',
    ],
    summary: 'run the webhook: POST /mutate and /validate over HTTPS, GET /metrics over HTTP',
    options: SERVE_OPTIONS,
    notes: `Flags win over their environment variables. The policy and certificate files are re-read when
they change; SIGTERM or SIGINT makes /readyz answer 503, keeps serving for the shutdown delay,
then closes and exits 0 (a second signal skips the delay).
With --mount-policies, Pods are judged against the cluster policy narrowed by their namespace's
MountPolicies (until those are listed, no host path is admitted and /readyz answers 503), and the
replica holding the Lease writes each MountPolicy's status.
Exit 2 when a flag, the policy, the certificate, the kubeconfig or the listening address is wrong,
and when stdout refuses the log (a full disk; a reader that went away only stops the log).
`,
  },
  {
    name: 'check',
    synopsis: [
      'mountgate check --config FILE (-f POD.yaml | -f -) [--old OLD-POD.yaml] [--user NAME] [--group NAME]...',
      '                [--namespace NS] [--mount-policy FILE]...',
    ],
    summary: 'run /mutate then /validate on a Pod manifest, offline',
    options: CHECK_OPTIONS,
    notes: `Prints the mutated Pod as YAML on stdout, warnings and reasons on stderr; when the policy has
placeholders, a line on stderr before the decision (after the "warning (policy)" lines) says what
each one stands for.
With --old, judges the UPDATE from OLD-POD.yaml to POD.yaml as /validate does (an update is
never changed): a Pod's mounts are fixed when it is created, so an update may set the annotation
only to a value that asks for exactly the mounts the Pod has.
Exit 0 when the Pod is allowed, 1 when it is denied, 2 on a usage, policy or manifest error.
`,
  },
  {
    name: 'audit',
    synopsis: ['mountgate audit --config FILE [--namespace NS | --all-namespaces] [-o table|json] [--kubeconfig FILE] [--page-size 250]'],
    summary: 'list the existing Pods the policy would refuse today',
    options: AUDIT_OPTIONS,
    notes: `Judges each Pod as /validate would judge its creation, requesters aside (who created a Pod
is not recorded), and lists Pods that carry mountgate's mounts without the annotation.
Exit 1 if any Pod breaks the policy, 0 if none, 2 on an error.
`,
  },
  {
    name: 'backstop',
    synopsis: [
      'mountgate backstop --config FILE [--name mountgate-backstop] [--action Deny|Warn|Audit]...',
      '                   [--namespace-label KEY=VALUE... | --all-namespaces] [--exclude-namespace NS]...',
    ],
    summary: 'print a ValidatingAdmissionPolicy that enforces the hostPath rule inside the API server',
    options: BACKSTOP_OPTIONS,
    notes: `Prints the policy and its binding (admissionregistration.k8s.io/v1, Kubernetes 1.30+) as a YAML
stream for kubectl apply -f -: every hostPath volume canonical and inside allowedHostPaths or
builtinHostPaths, read-only where the deciding entry is, for Pod CREATE and pods/ephemeralcontainers
UPDATE, also while mountgate is down. By default the binding selects namespaces labelled
mountgate.io/enabled=true, never kube-system, and denies.
Exit 0 when printed, 2 on a usage or policy error.
`,
  },
  {
    name: 'version',
    synopsis: ['mountgate version', 'mountgate --version'],
    summary: 'print the version',
    options: {},
    notes: '',
  },
  {
    name: 'help',
    synopsis: ['mountgate help [COMMAND]', 'mountgate --help', 'mountgate COMMAND --help'],
    summary: 'print this overview, or the usage of one command',
    options: {},
    notes: '',
  },
] as const satisfies readonly Command[];

export type KnownCommand = (typeof COMMANDS)[number];
export type CommandName = KnownCommand['name'];

export function findCommand(name: string | undefined): KnownCommand | undefined {
  return COMMANDS.find((command) => command.name === name);
}

/** What `mountgate <command> --help` prints. */
export function commandUsage(command: Command): string {
  const notes = command.notes === '' ? '' : `\n${command.notes}`;
  return `Usage: ${command.synopsis.join('\n       ')}\n\n${command.summary.charAt(0).toUpperCase()}${command.summary.slice(1)}.\n\nFlags:\n${describeOptions(command.options).join('\n')}\n${notes}`;
}

/** What `mountgate help` prints. */
export const HELP = `mountgate: an admission webhook that turns a Pod annotation into policy-checked hostPath mounts

Usage: mountgate COMMAND [FLAGS]

Commands:
${COMMANDS.map((command) => `  ${command.name.padEnd(9)}${command.summary}`).join('\n')}

Run "mountgate COMMAND --help" (or -h) for a command's flags.
`;
