/**
 * The two ways Registrar orders work in one process: one task at a time per key (a request's card updates, a
 * request's change notifications), and at most N tasks at once (provisioning runs). Neither crosses processes:
 * what several copies of Registrar share is ordered by the store's ETags and leases.
 */

export interface KeyedQueue {
  /** Runs `work` after everything queued before it under `key` has settled; its result or error is the caller's. */
  run<T>(key: string, work: () => Promise<T>): Promise<T>;
  /** Resolves when nothing is queued or running under any key (work queued meanwhile included). */
  idle(): Promise<void>;
  /** How many keys have work queued or running. */
  readonly size: number;
}

export function createKeyedQueue(): KeyedQueue {
  const tails = new Map<string, Promise<unknown>>();
  return {
    run<T>(key: string, work: () => Promise<T>): Promise<T> {
      const previous = tails.get(key) ?? Promise.resolve();
      const result = previous.then(work, work);
      const tail = result.then(
        () => undefined,
        () => undefined,
      );
      tails.set(key, tail);
      void tail.then(() => {
        if (tails.get(key) === tail) tails.delete(key);
      });
      return result;
    },
    async idle() {
      while (tails.size > 0) await Promise.all([...tails.values()]);
    },
    get size() {
      return tails.size;
    },
  };
}

export interface Limiter {
  /** Runs `work` when fewer than the limit are running; the others wait their turn, first come first served. */
  run<T>(work: () => Promise<T>): Promise<T>;
}

export function createLimiter(limit: number): Limiter {
  const max = Math.max(1, Math.floor(limit));
  let active = 0;
  const waiting: Array<() => void> = [];
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else active -= 1;
  };
  return {
    async run<T>(work: () => Promise<T>): Promise<T> {
      if (active < max) active += 1;
      else await new Promise<void>((resolve) => waiting.push(resolve));
      try {
        return await work();
      } finally {
        release();
      }
    },
  };
}
