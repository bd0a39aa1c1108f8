/** What the parent test asks of the load process, and what it reports back. Plain JSON both ways. */

/** Replaced in each body by a uid unique to the request, so every answer can be matched to its question. */
export const UID_PLACEHOLDER = '00000000-UID-PLACEHOLDER';
/** Replaced everywhere in a body by the request's sequence number, so that bodies can vary (e.g. a host path per request). */
export const SEQUENCE_PLACEHOLDER = '__SEQUENCE__';

export interface LoadBody {
  /** A name the test uses to judge the answer, e.g. "sandbox-mount". */
  readonly kind: string;
  readonly path: string;
  /** An AdmissionReview whose request.uid is UID_PLACEHOLDER. */
  readonly body: string;
}

export interface LoadPlan {
  /** Ports on 127.0.0.1; requests go round-robin over them. */
  readonly targets: readonly number[];
  readonly caFile: string;
  readonly ratePerSecond: number;
  readonly durationMs: number;
  /** Keep-alive connections per target. */
  readonly connectionsPerTarget: number;
  /** Above this many unanswered requests the load process skips a beat (and counts it) instead of queueing. */
  readonly maxOutstanding: number;
  /**
   * A request whose connection failed before its TLS handshake completed (refused, or reset in the
   * queue of a listener that closed) goes to the next target: nothing of it reached a server. This
   * stands in for a Service that stops routing to a replica once it is gone; a failure after the
   * handshake is never retried.
   */
  readonly retryBeforeHandshake: boolean;
  /** Every this many ms, one request on a brand-new connection records the certificate served; 0 for none. */
  readonly freshConnectionEveryMs: number;
  readonly bodies: readonly LoadBody[];
  readonly resultFile: string;
}

export interface RequestRecord {
  readonly kind: string;
  /** Date.now() just before the request was handed to the connection pool. */
  readonly sent: number;
  /** Date.now() when the answer was complete, or when the request failed. */
  readonly received: number;
  /** The target that answered (or the last one tried). */
  readonly target: number;
  readonly attempts: number;
  /** The error code of each attempt that failed before its handshake and was sent again. */
  readonly retriedAfter: readonly string[];
  readonly status: number;
  /** response.allowed, when the answer was an AdmissionReview that echoed the uid. */
  readonly allowed?: boolean;
  /** Set when the request failed: no answer, or an answer that is not the review asked for. */
  readonly error?: string;
  /** Whether the answer said Connection: close. */
  readonly closing: boolean;
}

export interface ConnectionSample {
  readonly target: number;
  /** Date.now() before connecting. */
  readonly started: number;
  readonly finished: number;
  readonly fingerprint: string;
  readonly error?: string;
}

export interface LoadResult {
  readonly requests: readonly RequestRecord[];
  readonly connections: readonly ConnectionSample[];
  /** Beats skipped because maxOutstanding requests were already unanswered. */
  readonly skipped: number;
  /**
   * The load process's own longest pause between two turns of its send loop (ms), and when it began (ms after
   * the start): a stall of the client (or of the whole machine) shows here, one of the server does not.
   */
  readonly longestPause: { readonly ms: number; readonly at: number };
}
