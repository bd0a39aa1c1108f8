/**
 * Keeps the LiveState in step with the policy and certificate files. An
 * invalid new version is refused and logged; the old one stays in force.
 */
import type { Logger } from 'pino';
import type { CompiledPolicy } from '../policy/compile.js';
import { describeIoError, parsePolicy } from '../policy/load.js';
import { policyWarnings } from '../policy/warnings.js';
import type { LiveState } from './live-state.js';
import type { Metrics } from './metrics.js';
import { pollFiles, type FilePoller, type ReadEvent } from './file-poller.js';
import { notYetValid, parseTlsMaterial, readPemFile, type TlsFiles } from './tls-material.js';

export interface ReloadSources {
  readonly configPath: string;
  readonly policyText: string;
  /** Absent with --dev, whose certificate lives only in memory. */
  readonly tlsFiles?: TlsFiles;
  readonly intervalMs: number;
}

/**
 * Whether the files on disk are in force, for mountgate_reload_last_successful: not while the last change read was
 * refused, nor from files that cannot be read until they are settled (read as before, or a change in them judged).
 * Files readable again that still hold a refused change stay refused.
 */
class InForce {
  #refused = false;
  #unreadable = false;

  constructor(
    private readonly kind: 'policy' | 'certificate',
    private readonly metrics: Metrics,
  ) {}

  taken(): void {
    this.#refused = false;
    this.#update();
  }

  refused(): void {
    this.#refused = true;
    this.#update();
  }

  readable(readable: boolean): void {
    this.#unreadable = !readable;
    this.#update();
  }

  #update(): void {
    this.metrics.reloadLastSuccessful.set({ kind: this.kind }, this.#refused || this.#unreadable ? 0 : 1);
  }
}

export function watchForChanges(state: LiveState, sources: ReloadSources, metrics: Metrics, logger: Logger): FilePoller[] {
  const policyInForce = new InForce('policy', metrics);
  const pollers = [
    pollFiles([sources.configPath], [sources.policyText], sources.intervalMs, async ([text = '']) => {
      let policy: CompiledPolicy;
      try {
        policy = parsePolicy(text, sources.configPath);
        state.setPolicy(policy);
        policyInForce.taken();
        metrics.reloads.inc({ kind: 'policy', result: 'success' });
        logger.info({ file: sources.configPath }, 'policy reloaded');
      } catch (error) {
        policyInForce.refused();
        metrics.reloads.inc({ kind: 'policy', result: 'failure' });
        logger.error({ file: sources.configPath, err: String(error) }, 'new policy refused; the previous policy stays in force');
        return;
      }
      logPolicyWarnings(policy, sources.configPath, logger);
    }, reportRead('policy', [sources.configPath], 'the policy in force stays', policyInForce, metrics, logger)),
  ];
  const tlsFiles = sources.tlsFiles;
  if (tlsFiles !== undefined) {
    const certificateInForce = new InForce('certificate', metrics);
    pollers.push(
      pollFiles([tlsFiles.certPath, tlsFiles.keyPath], [state.tls.cert, state.tls.key], sources.intervalMs, async ([cert = '', key = '']) => {
        try {
          state.setTls(parseTlsMaterial(cert, key, tlsFiles));
          certificateInForce.taken();
          metrics.reloads.inc({ kind: 'certificate', result: 'success' });
          metrics.certificateExpiry.set(state.tls.notAfter.getTime() / 1000);
          logger.info({ file: tlsFiles.certPath, notAfter: state.tls.notAfter.toISOString() }, 'certificate reloaded');
          const early = notYetValid(state.tls);
          if (early !== undefined) logger.warn({ file: tlsFiles.certPath, notBefore: state.tls.notBefore.toISOString() }, early);
        } catch (error) {
          // Often a rotation caught between writing the certificate and the key; the next tick sees both.
          certificateInForce.refused();
          metrics.reloads.inc({ kind: 'certificate', result: 'failure' });
          logger.warn({ file: tlsFiles.certPath, err: String(error) }, 'new certificate refused; the previous one stays in use');
        }
      }, reportRead('certificate', [tlsFiles.certPath, tlsFiles.keyPath], 'the certificate in use stays', certificateInForce, metrics, logger), readPemFile),
    );
  }
  return pollers;
}

/**
 * A file that cannot be read (a ConfigMap key gone, a Secret unmounted) keeps what is in force; said once, as a
 * failed reload, so that an admin learns that a change made now would not be seen.
 */
function reportRead(kind: 'policy' | 'certificate', files: readonly string[], stays: string, inForce: InForce, metrics: Metrics, logger: Logger): (event: ReadEvent) => void {
  const file = files.join(', ');
  return (event) => {
    if (event.kind === 'settled') {
      inForce.readable(true);
      return;
    }
    if (event.kind === 'unreadable') inForce.readable(false);
    if (event.kind === 'readable-again') {
      logger.info({ file }, `${kind} ${files.length === 1 ? 'file' : 'files'} readable again`);
      return;
    }
    metrics.reloads.inc({ kind, result: 'failure' });
    logger.error({ file, err: describeIoError(event.error) }, `${kind} ${files.length === 1 ? 'file' : 'files'} cannot be read; ${stays}`);
  };
}

/**
 * What `mountgate check` prints as `warning (policy): ...`, one warn line each, so that an admin who only reads the
 * server's log learns it too. The search behind it is bounded (about half a second for a few thousand entries).
 */
export function logPolicyWarnings(policy: CompiledPolicy, file: string, logger: Logger, warningsOf = policyWarnings): void {
  let warnings: string[];
  try {
    warnings = warningsOf(policy);
  } catch (error) {
    // The policy is in force either way: a fault in the search must not read as a refused policy, or stop serve.
    logger.error({ file, err: String(error) }, 'the policy is in force, but its warnings could not be worked out');
    return;
  }
  for (const warning of warnings) logger.warn({ file, warning }, 'policy warning');
}
