/**
 * The body of every HTTP error on the webhook port: a Kubernetes `Status` (`kind: Status`,
 * `status: Failure`, `message`, `reason`, `code`). The API server's webhook client decodes one, so a
 * refused call surfaces as `failed calling webhook "...": failed to call webhook: <message>` instead
 * of "the server responded with the status code 413 but did not return more information".
 * `error` repeats the message for clients that read only that key.
 */

/** metav1.StatusReason for each status mountgate answers with; InternalError for any other. */
const REASONS: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  503: 'ServiceUnavailable',
};

export interface ErrorBody {
  readonly kind: 'Status';
  readonly apiVersion: 'v1';
  readonly metadata: Record<string, never>;
  readonly status: 'Failure';
  readonly message: string;
  readonly reason: string;
  readonly code: number;
  readonly error: string;
}

export function errorBody(code: number, message: string): ErrorBody {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: REASONS[code] ?? 'InternalError', code, error: message };
}
