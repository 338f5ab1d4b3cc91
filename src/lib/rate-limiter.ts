/**
 * A budget of requests per sliding window, for a limit a server states as "N requests a minute": `take()` waits
 * until a request fits in the window, instead of sending it to be refused. Any window of `windowMs` holds at most
 * `limit` requests taken, whoever took them, so callers that share one limit share one RateLimiter. A server's own
 * wait (a Retry-After) holds every taker with `holdFor`. It knows nothing about HTTP; the clock is injected for tests.
 * Like the queues (queues.ts), it does not cross processes.
 */
import { realSleep } from './retry';

export interface RateLimiter {
  /** Waits until one more request fits in the window (and any hold has passed), then counts it; first come first served. */
  take(): Promise<void>;
  /** No request is let through before `ms` from now: what the server asked for (Retry-After), for every taker. */
  holdFor(ms: number): void;
  /** How long a take() started now would wait, in ms (0 when a request fits now). */
  waitMs(): number;
}

export interface RateLimiterOptions {
  /** Requests per window. */
  limit: number;
  windowMs: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const limit = Math.max(1, Math.floor(options.limit));
  const { windowMs } = options;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? realSleep;
  // When each of the last `limit` requests was let through, oldest first: a request fits when the oldest has left the window.
  const taken: number[] = [];
  let heldUntil = 0;
  // Takers go one at a time, in the order they came.
  let queue: Promise<void> = Promise.resolve();

  const waitMs = (): number => {
    const at = now();
    while (taken.length > 0 && taken[0]! <= at - windowMs) taken.shift();
    const forWindow = taken.length < limit ? 0 : taken[0]! + windowMs - at;
    return Math.max(0, forWindow, heldUntil - at);
  };

  return {
    take() {
      const turn = queue.then(async () => {
        for (let wait = waitMs(); wait > 0; wait = waitMs()) await sleep(wait);
        taken.push(now());
      });
      queue = turn.catch(() => undefined);
      return turn;
    },
    holdFor(ms) {
      heldUntil = Math.max(heldUntil, now() + Math.max(0, ms));
    },
    waitMs,
  };
}
