/**
 * The ways Registrar orders work in one process: one task at a time per key (a request's card updates, a request's
 * change notifications, credential writes to one application), at most N tasks at once (provisioning runs), and a
 * bounded queue between one producer and its workers (the expiry scan's pages and ledger). Neither crosses processes:
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

/**
 * A work queue: `concurrency` tasks run at once, and up to `capacity` wait their turn. push() returns at once while
 * there is room, so the one producer (the expiry scan's page loop) keeps reading pages while the ledger work catches
 * up; it waits only when the queue is full, which bounds memory whatever the tenant. The first failure stops the
 * tasks not yet started, and push() and drain() throw it. Used by the expiry scan and its ledger (expiry-ledger.ts).
 */
export interface WorkQueue {
  push(task: () => Promise<void>): Promise<void>;
  /** Drops the tasks not yet started (the producer failed). */
  abandon(): void;
  /** Waits for every task started; throws the first failure. */
  drain(): Promise<void>;
}

export function createWorkQueue(concurrency: number, capacity: number): WorkQueue {
  const waiting: Array<() => Promise<void>> = [];
  let active = 0;
  let failure: { error: unknown } | undefined;
  /** The producer or drain() waiting for a task to end (one at a time: they never wait together). */
  let wake: (() => void) | undefined;
  const changed = () => new Promise<void>((resolve) => (wake = resolve));
  const start = () => {
    while (active < concurrency && waiting.length > 0 && !failure) {
      const task = waiting.shift()!;
      active += 1;
      task()
        .catch((error: unknown) => {
          failure ??= { error };
        })
        .finally(() => {
          active -= 1;
          start();
          const w = wake;
          wake = undefined;
          w?.();
        });
    }
  };
  return {
    async push(task: () => Promise<void>): Promise<void> {
      while (!failure && active + waiting.length >= capacity) await changed();
      if (failure) throw failure.error;
      waiting.push(task);
      start();
    },
    abandon(): void {
      waiting.length = 0;
    },
    async drain(): Promise<void> {
      while (active > 0 || (!failure && waiting.length > 0)) await changed();
      if (failure) throw failure.error;
    },
  };
}
