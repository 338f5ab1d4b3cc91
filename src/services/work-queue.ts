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
