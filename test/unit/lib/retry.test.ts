/**
 * The retry policy with a fake clock: backoff grows and is jittered, Retry-After is waited exactly and never cut
 * short, the classifier's 'fail' stops at once, and the deadline bounds everything.
 */
import { backoffDelay, parseRetryAfter, type RetryDecision, withRetry } from '../../../src/lib/retry';

/** A clock that moves only when the policy sleeps; records every sleep. */
class FakeClock {
  time = 1_000_000;
  readonly sleeps: number[] = [];
  now = (): number => this.time;
  sleep = async (ms: number): Promise<void> => {
    this.sleeps.push(ms);
    this.time += ms;
  };
}

class Failure extends Error {
  constructor(readonly status: number) {
    super(`status ${status}`);
  }
}

/** An operation that fails with the given statuses, then returns 'done'; records when each attempt started. */
function failing(clock: FakeClock, statuses: number[]) {
  const startedAt: number[] = [];
  const operation = async () => {
    startedAt.push(clock.now());
    const status = statuses[startedAt.length - 1];
    if (status !== undefined) throw new Failure(status);
    return 'done';
  };
  return { operation, startedAt };
}

const byStatus =
  (table: Record<number, RetryDecision>) =>
  (err: unknown): RetryDecision =>
    table[(err as Failure).status] ?? 'fail';

describe('withRetry', () => {
  test('when the classifier says retry, then the waits grow exponentially with jitter between half and all of the step, up to the cap', async () => {
    const clock = new FakeClock();
    const { operation } = failing(clock, [503, 503, 503, 503, 503, 503]);

    const result = await withRetry(operation, {
      classify: byStatus({ 503: 'retry' }),
      deadline: new Date(clock.time + 600_000),
      baseDelayMs: 1000,
      maxDelayMs: 8000,
      now: clock.now,
      sleep: clock.sleep,
      random: () => 0.5,
    });

    expect(result).toBe('done');
    expect(clock.sleeps).toEqual([750, 1500, 3000, 6000, 6000, 6000]);
  });

  test('when jitter is at its extremes, then a wait is never below half the step nor above the step', () => {
    for (let attempt = 1; attempt <= 10; attempt += 1) {
      const step = Math.min(60_000, 1000 * 2 ** (attempt - 1));
      expect(backoffDelay(attempt, 1000, 60_000, () => 0)).toBe(step / 2);
      expect(backoffDelay(attempt, 1000, 60_000, () => 0.999999)).toBeLessThanOrEqual(step);
    }
  });

  test('when the server names a Retry-After, then exactly that is waited, once, before the next attempt', async () => {
    const clock = new FakeClock();
    const { operation, startedAt } = failing(clock, [429, 429]);

    await withRetry(operation, {
      classify: () => ({ retryAfterMs: 7000 }),
      deadline: new Date(clock.time + 60_000),
      now: clock.now,
      sleep: clock.sleep,
      random: () => 0.99,
    });

    expect(clock.sleeps).toEqual([7000, 7000]);
    expect(startedAt[1]! - startedAt[0]!).toBe(7000);
    expect(startedAt[2]! - startedAt[1]!).toBe(7000);
  });

  test('when a Retry-After would end after the deadline, then the call fails now rather than calling early', async () => {
    const clock = new FakeClock();
    const { operation, startedAt } = failing(clock, [429, 429]);

    const error = await withRetry(operation, {
      classify: () => ({ retryAfterMs: 30_000 }),
      deadline: new Date(clock.time + 10_000),
      now: clock.now,
      sleep: clock.sleep,
    }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(Failure);
    expect(clock.sleeps).toEqual([]);
    expect(startedAt).toHaveLength(1);
  });

  test('when the classifier says fail (a 400 or 403), then there is no second attempt and the original error is thrown', async () => {
    const clock = new FakeClock();
    const { operation, startedAt } = failing(clock, [403]);

    const error = await withRetry(operation, {
      classify: byStatus({ 503: 'retry' }),
      deadline: new Date(clock.time + 60_000),
      now: clock.now,
      sleep: clock.sleep,
    }).catch((e: unknown) => e);

    expect((error as Failure).status).toBe(403);
    expect(startedAt).toHaveLength(1);
    expect(clock.sleeps).toEqual([]);
  });

  test('when failures go on, then the last backoff is shortened to the deadline, one last attempt runs there, and the last error is thrown', async () => {
    const clock = new FakeClock();
    const start = clock.time;
    const { operation, startedAt } = failing(
      clock,
      Array.from({ length: 100 }, () => 503),
    );

    const error = await withRetry(operation, {
      classify: () => 'retry',
      deadline: new Date(start + 10_000),
      baseDelayMs: 1000,
      maxDelayMs: 4000,
      now: clock.now,
      sleep: clock.sleep,
      random: () => 1,
    }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(Failure);
    // 1 s, 2 s, 4 s, then 3 s left: the deadline.
    expect(clock.sleeps).toEqual([1000, 2000, 4000, 3000]);
    expect(startedAt.at(-1)).toBe(start + 10_000);
  });

  test('when maxAttempts is set, then no more attempts than that are made', async () => {
    const clock = new FakeClock();
    const { operation, startedAt } = failing(clock, [503, 503, 503, 503]);

    await expect(
      withRetry(operation, {
        classify: () => 'retry',
        deadline: new Date(clock.time + 600_000),
        maxAttempts: 3,
        now: clock.now,
        sleep: clock.sleep,
      }),
    ).rejects.toBeInstanceOf(Failure);

    expect(startedAt).toHaveLength(3);
  });

  test('when a retry happens, then onRetry hears the attempt, the wait and why', async () => {
    const clock = new FakeClock();
    const { operation } = failing(clock, [429, 503]);
    const heard: unknown[] = [];

    await withRetry(operation, {
      classify: byStatus({ 429: { retryAfterMs: 2000 }, 503: 'retry' }),
      deadline: new Date(clock.time + 60_000),
      baseDelayMs: 100,
      now: clock.now,
      sleep: clock.sleep,
      random: () => 0,
      onRetry: ({ attempt, delayMs, reason }) => heard.push({ attempt, delayMs, reason }),
    });

    expect(heard).toEqual([
      { attempt: 1, delayMs: 2000, reason: 'retry-after' },
      { attempt: 2, delayMs: 100, reason: 'backoff' },
    ]);
  });
});

describe('parseRetryAfter', () => {
  test('when Retry-After is seconds, then it is read as milliseconds', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter(' 120 ')).toBe(120_000);
  });

  test('when Retry-After is an HTTP date, then the wait is the time until it', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Thu, 01 Jan 2025 00:00:30 GMT', now)).toBe(0);
  });

  test('when Retry-After is absent or unreadable, then there is none', () => {
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('')).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});
