/** A mistake in how mountgate was called: exit 2 with one line. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The first line of an error: node:util parseArgs explains at length, one line is enough. */
export function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

export const EXIT_OK = 0;
export const EXIT_DENIED = 1;
export const EXIT_USAGE = 2;

export const HELP = `mountgate: an admission webhook that turns a Pod annotation into policy-checked hostPath mounts

Usage:
  mountgate serve --config FILE (--tls-cert FILE --tls-key FILE | --dev)
                  [--port 8443] [--host 0.0.0.0] [--metrics-port 9090] [--shutdown-delay 5]
                  [--reload-interval 1] [--log-level info]
                  [--pod-security-preflight [--kubeconfig FILE]]
  mountgate check --config FILE (-f POD.yaml | -f -) [--user NAME] [--group NAME]... [--namespace NS]
  mountgate audit --config FILE [--namespace NS | --all-namespaces] [-o table|json] [--kubeconfig FILE]
                  [--page-size 250]
  mountgate help | version

serve flags may also come from MOUNTGATE_CONFIG, MOUNTGATE_TLS_CERT, MOUNTGATE_TLS_KEY,
MOUNTGATE_PORT, MOUNTGATE_HOST, MOUNTGATE_METRICS_PORT, MOUNTGATE_SHUTDOWN_DELAY,
MOUNTGATE_RELOAD_INTERVAL, MOUNTGATE_LOG_LEVEL, MOUNTGATE_POD_SECURITY_PREFLIGHT (true)
and MOUNTGATE_KUBECONFIG; flags win. The Pod Security preflight reads namespaces with the
kubeconfig given, else KUBECONFIG, ~/.kube/config or the in-cluster service account.

check judges the Pod in --namespace, else the manifest's namespace, else "default"; it
exits 0 when the Pod is allowed (the mutated Pod is printed as YAML),
1 when it is denied (the reasons go to stderr), 2 on a usage or policy error.

audit lists the existing Pods the policy would refuse today (requesters aside: who created
a Pod is not recorded) and exits 1 if it finds any, 0 if none, 2 on an error. Without
--namespace or --all-namespaces it looks at the current context's namespace, else "default".
`;
