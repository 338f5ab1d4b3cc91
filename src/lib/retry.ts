/**
 * Retrying as a policy (STYLE 7): a named classifier decides, per failure, whether to retry with backoff, to
 * wait what the server asked for (Retry-After), or to fail; a deadline bounds the whole operation. The policy
 * knows nothing about HTTP: which answers are retryable is the classifier's business (graph-errors.ts).
 */

/** 'retry': back off exponentially with jitter; { retryAfterMs }: wait exactly that long; 'fail': throw now. */
export type RetryDecision = 'retry' | 'fail' | { retryAfterMs: number };

export interface RetryAttempt {
  /** 1 for the retry after the first failure. */
  attempt: number;
  delayMs: number;
  reason: 'backoff' | 'retry-after';
  error: unknown;
}

export interface RetryOptions {
  /** Named for what it classifies, e.g. classifyForUpsert; sees every failure. */
  classify: (error: unknown, attempt: number) => RetryDecision;
  /** No attempt starts after this instant; a Retry-After that ends later fails at once rather than being cut short. */
  deadline: Date;
  /**
   * First backoff (default 1 s); doubles per attempt up to maxDelayMs (default 60 s), as Microsoft's throttling
   * guidance asks when no Retry-After is given: https://learn.microsoft.com/graph/throttling#best-practices-to-handle-throttling
   */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Optional cap on attempts besides the deadline (default: none). */
  maxAttempts?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** 0..1, for the jitter. */
  random?: () => number;
  /** Called before each wait (for logs). */
  onRetry?: (attempt: RetryAttempt) => void;
}

export const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Backoff before retry `attempt` (1-based): base × 2^(attempt−1), capped, with "equal jitter" (half fixed, half
 * random) so that concurrent clients spread out but never retry immediately.
 */
export function backoffDelay(attempt: number, baseDelayMs: number, maxDelayMs: number, random: () => number): number {
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

/**
 * Runs `operation` until it succeeds, the classifier says 'fail', attempts run out, or the deadline passes; then
 * throws the last error unchanged (the caller turns it into a RegistrarError that says what was being done).
 * A backoff that would end after the deadline is shortened to one last attempt at the deadline; a Retry-After
 * never is: if the server's wait does not fit, the operation fails instead of calling early.
 */
export async function withRetry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? realSleep;
  const random = options.random ?? Math.random;
  const baseDelayMs = options.baseDelayMs ?? 1000;
  const maxDelayMs = options.maxDelayMs ?? 60_000;
  const deadline = options.deadline.getTime();
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await operation(attempt);
    } catch (error) {
      const decision = options.classify(error, attempt);
      if (decision === 'fail') throw error;
      const retry = attempt + 1;
      if (options.maxAttempts !== undefined && retry >= options.maxAttempts) throw error;
      const remaining = deadline - now();
      if (remaining <= 0) throw error;
      let delayMs: number;
      let reason: RetryAttempt['reason'];
      if (decision === 'retry') {
        delayMs = Math.min(backoffDelay(retry, baseDelayMs, maxDelayMs, random), remaining);
        reason = 'backoff';
      } else {
        delayMs = Math.max(0, decision.retryAfterMs);
        if (delayMs > remaining) throw error;
        reason = 'retry-after';
      }
      options.onRetry?.({ attempt: retry, delayMs, reason, error });
      await sleep(delayMs);
    }
  }
}

/** Parses Retry-After (delta-seconds or an HTTP date) into milliseconds; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.ceil(Number(text) * 1000);
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}
