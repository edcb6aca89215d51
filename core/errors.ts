// Every error Hearth answers with, and its HTTP status, in one place. Code throws HearthError
// with a stable `type`; each protocol's renderer (core/http/render-v1.ts, core/http/lambda.ts)
// turns it into its own error shape with `status`. The few internal errors that never reach a
// client as they are (a host fetch failing, a bootstrap connection dying) are declared here too.

export const ErrorKinds = {
  InvalidRequestContent: 400,
  InvalidSpec: 400,
  CompileError: 400,
  InitError: 400,
  HandlerNotFound: 400,
  /** An event call to a module with only a fetch handler, and the like. */
  WrongFunctionKind: 400,
  InvalidRequest: 400,
  /** Lambda API: a parameter out of its range or shape (FunctionName, X-Amz-Log-Type, ...). */
  InvalidParameterValue: 400,
  /** Lambda API: a SigV4 Authorization header that is not well formed. */
  IncompleteSignature: 400,
  Unauthorized: 401,
  /** Lambda API: no Authorization header while an invoke token is set. */
  MissingAuthenticationToken: 403,
  /** Lambda API: a Bearer token that is not the invoke (or admin) token. */
  UnrecognizedClient: 403,
  /** Lambda API: a SigV4 signature that does not match, or a date too far from now. */
  InvalidSignature: 403,
  ForbiddenHost: 403,
  NotFound: 404,
  FunctionNotFound: 404,
  VersionNotFound: 404,
  InvocationNotFound: 404,
  MethodNotAllowed: 405,
  NotAcceptable: 406,
  /** A request body that did not arrive within --body-timeout-ms (the connection is closed). */
  RequestTimeout: 408,
  Conflict: 409,
  PreconditionFailed: 412,
  RequestTooLarge: 413,
  CodeTooLarge: 413,
  /** A deploy's zip or jar inflates past --deploy-max-unzipped-bytes (all files) or --deploy-max-file-bytes (one). */
  ArchiveTooLarge: 413,
  /** A deploy's zip or jar has more entries than --deploy-max-files. */
  TooManyFiles: 413,
  UnsupportedMediaType: 415,
  TooManyRequests: 429,
  QueueTimeout: 429,
  Unhandled: 500,
  OutOfMemory: 500,
  FunctionInitError: 500,
  ResultNotSerializable: 500,
  InstanceFailed: 500,
  InternalError: 500,
  /** A function's result or web response body (or a container's answer) past --max-result-bytes, counted as it arrives, never allocated from a declared length (a bad answer from upstream, as a gateway says). */
  ResultTooLarge: 502,
  BackendUnavailable: 503,
  Draining: 503,
  /** Request bodies in flight hold --max-body-bytes-in-flight: a new body is refused (Retry-After). */
  BodyCapacity: 503,
  /** A call's version was replaced twice before it got an instance (the dispatcher re-resolves once). */
  Superseded: 503,
  Timeout: 504,
  /** A deploy's build (inflate, bundle) ran past --deploy-timeout-ms; its worker is stopped. */
  DeployTimeout: 504,
} as const;

export type ErrorType = keyof typeof ErrorKinds;

/**
 * One thing wrong with what a client sent, where it is: a spec field (`path`, e.g.
 * "schedules.0.cron") or a place in the code (`file`, `line`, `column`, 1-based line). The
 * console puts each next to its field or at its line.
 */
export interface Problem {
  message: string;
  path?: string;
  file?: string;
  line?: number;
  column?: number;
}

export class HearthError extends Error {
  readonly type: ErrorType;
  readonly status: number;
  /** A stack trace of the function's own code, when the error comes from it. */
  readonly functionStack: string[] | undefined;
  /** Marks errors raised by the function (X-Hearth-Function-Error). */
  readonly functionError: boolean;
  /** What the body's errorType says: the kind, or the function's own error name (e.g. TypeError). */
  readonly errorType: string;
  /** Seconds after which a refused request may be tried again (a Retry-After header), when the refusal is temporary. */
  readonly retryAfterS: number | undefined;
  /** Where the client's input is wrong (the body's `problems`). */
  readonly problems: Problem[] | undefined;

  constructor(
    type: ErrorType,
    message: string,
    opts: { functionStack?: string[]; functionError?: boolean; errorType?: string; retryAfterS?: number; problems?: Problem[] } = {},
  ) {
    super(message);
    this.name = 'HearthError';
    this.type = type;
    this.status = ErrorKinds[type];
    this.errorType = opts.errorType ?? type;
    this.functionStack = opts.functionStack;
    this.functionError = opts.functionError ?? false;
    this.retryAfterS = opts.retryAfterS;
    this.problems = opts.problems;
  }
}

export function toHearthError(err: unknown): HearthError {
  if (err instanceof HearthError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new HearthError('InternalError', message);
}

/** The JSON body of an error response: `{errorType, errorMessage, stackTrace?, problems?}`. */
export function errorJson(errorType: string, errorMessage: string, stackTrace?: string[], problems?: Problem[]): string {
  const body: { errorType: string; errorMessage: string; stackTrace?: string[]; problems?: Problem[] } = { errorType, errorMessage };
  if (stackTrace && stackTrace.length > 0) body.stackTrace = stackTrace;
  if (problems && problems.length > 0) body.problems = problems;
  return JSON.stringify(body);
}

export function errorBody(err: HearthError): string {
  return errorJson(err.errorType, err.message, err.functionStack, err.problems);
}

// ---- internal errors --------------------------------------------------------------------------

export type FetchFailureKind = 'TypeError' | 'AbortError' | 'TimeoutError';

/** A fetch made for a function failed (core/egress.ts); the isolate throws it as `kind`. */
export class FetchFailure extends Error {
  /** What the isolate should throw: 'TypeError' for network failures and denials (as fetch does), 'AbortError' / 'TimeoutError' (DOMException names) for aborts and the deadline. */
  readonly kind: FetchFailureKind;

  constructor(kind: FetchFailureKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FetchFailure';
    this.kind = kind;
  }
}

/**
 * A call the function never saw, or saw nothing of that left its instance: a container that could
 * not be reached (not a byte written), an isolate stopped midway through a synchronous crossing
 * (its answers and output dropped with it). The pool sends such a call once more, to another
 * instance (InstanceFactory.undelivered).
 */
export class UndeliveredCall extends HearthError {
  constructor(message: string) {
    super('InstanceFailed', message);
  }
}

/** A connection to a runtime bootstrap died, or its answer was not HTTP it can read. */
export class BootstrapConnectionError extends Error {}

/** A runtime bootstrap gave no answer within the call's time limit (the connection is closed). */
export class BootstrapTimeout extends Error {}

/** "400 Bad Request"-style status lines for uWS's writeStatus, precomputed. */
export const StatusLine: Record<number, string> = {
  200: '200 OK', 201: '201 Created', 202: '202 Accepted', 204: '204 No Content',
  400: '400 Bad Request', 401: '401 Unauthorized', 403: '403 Forbidden', 404: '404 Not Found', 405: '405 Method Not Allowed',
  406: '406 Not Acceptable', 408: '408 Request Timeout', 409: '409 Conflict', 412: '412 Precondition Failed', 413: '413 Payload Too Large',
  415: '415 Unsupported Media Type', 429: '429 Too Many Requests', 500: '500 Internal Server Error',
  502: '502 Bad Gateway', 503: '503 Service Unavailable', 504: '504 Gateway Timeout',
};
