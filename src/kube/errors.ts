// What a failed Kubernetes API call means, in one place: its status, whether the server was unavailable
// (so the call may succeed later), the server's own message for people, and retrying while unavailable.

/** A failed API call; `code` is the HTTP status and `body` what the server said (a Status object). */
export class KubeApiError extends Error {
  /** Which of listManyAhead's collections failed. */
  listIndex?: number;

  constructor(
    readonly code: number,
    readonly body: string,
    method: string,
    path: string,
    /** The server's Retry-After (429, 503), in ms, when it sent one in seconds. */
    readonly retryAfterMs?: number,
  ) {
    super(`${method} ${path}: HTTP ${code}: ${statusMessage(body)}`);
    this.name = 'KubeApiError';
  }
}

/** The `message` of a Status body, or the start of a body that is not one. */
export function statusMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    if (typeof parsed.message === 'string' && parsed.message) return parsed.message;
  } catch {
    // not JSON: fall through
  }
  return body.slice(0, 300);
}

/** Retry-After in ms: API servers send delta-seconds (an HTTP date is allowed too, and honoured). */
export function retryAfterMs(header: string | undefined, now = Date.now()): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** HTTP status of a failed Kubernetes API call, if it was one. */
export function apiStatus(err: unknown): number | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * The API server did not answer, or answered that it cannot serve now (429, 5xx): the call may succeed
 * later. Anything else (a 4xx about the object, an ApplicationFailure) is an answer about the call.
 */
export function apiUnavailable(err: unknown): boolean {
  const status = apiStatus(err);
  if (status !== undefined) return status === 429 || status >= 500;
  const code = (err as { code?: unknown })?.code;
  // Socket errors (ECONNREFUSED, ECONNRESET, ETIMEDOUT...; not Node's ERR_* such as a bad certificate)
  // and the client's own no-answer timeout.
  return (typeof code === 'string' && /^E[A-Z]+$/.test(code)) || /no answer from .* within/.test((err as Error)?.message ?? '');
}

/** The API server's own message of a failed call, for people. */
export function apiMessage(err: unknown): string {
  const body = (err as { body?: unknown })?.body;
  return bounded(typeof body === 'string' ? statusMessage(body) : err instanceof Error ? err.message : String(err));
}

/**
 * The most of a server's message kept: these go into a migration's errors, and so into Temporal history
 * (in plain text unless payload encryption is on), and a webhook's denial may quote the object's fields.
 */
const MAX_MESSAGE = 500;
const bounded = (message: string) => (message.length <= MAX_MESSAGE ? message : `${message.slice(0, MAX_MESSAGE)}... (${message.length - MAX_MESSAGE} more characters)`);

/** The longest single wait, whatever a Retry-After asks: the activities heartbeat within a minute. */
const MAX_WAIT_MS = 10_000;

/**
 * How long to wait before attempt `attempt + 1`: the server's Retry-After when it gave one, else
 * exponential backoff (100 ms doubling, at most 5 s); both with jitter, so that the many calls of a
 * bulk activity that failed together do not come back together. `random` is in [0, 1).
 */
export function retryDelayMs(err: unknown, attempt: number, random = Math.random): number {
  const asked = (err as { retryAfterMs?: unknown })?.retryAfterMs;
  if (typeof asked === 'number' && asked >= 0) return Math.min(MAX_WAIT_MS, asked + random() * 1000);
  const base = Math.min(5000, 100 * 2 ** attempt);
  return base / 2 + random() * (base / 2);
}

/**
 * Retries a call while the API server is unavailable (no answer, 429, 5xx), up to ~25 s in all with the
 * default attempts (within the activities' heartbeat timeout); any other answer is final.
 */
export async function withApiRetry<T>(call: () => Promise<T>, attempts = 10): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (!apiUnavailable(err) || attempt >= attempts) throw err;
      await new Promise((r) => setTimeout(r, retryDelayMs(err, attempt)));
    }
  }
}
