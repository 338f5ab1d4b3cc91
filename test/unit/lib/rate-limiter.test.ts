import { createRateLimiter } from '../../../src/lib/rate-limiter';

/** A clock that moves only when the limiter sleeps, recording each sleep. */
function fakeClock(start = 1_000_000) {
  let at = start;
  const sleeps: number[] = [];
  return {
    now: () => at,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      at += ms;
    },
    advance: (ms: number) => {
      at += ms;
    },
    sleeps,
  };
}

describe('rate limiter (sliding window)', () => {
  test('when requests fit in the window, then none waits', async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({ limit: 150, windowMs: 60_000, ...clock });
    for (let i = 0; i < 150; i += 1) await limiter.take();
    expect(clock.sleeps).toEqual([]);
    expect(limiter.waitMs()).toBe(60_000);
  });

  test('when the window is full, then the next request waits until the oldest leaves it, and no window of a minute holds more than the limit', async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({ limit: 150, windowMs: 60_000, ...clock });
    const times: number[] = [];
    for (let i = 0; i < 400; i += 1) {
      await limiter.take();
      times.push(clock.now());
      clock.advance(100); // a request takes 100 ms
    }
    // The 151st waits for the first to leave the window: 60 s after it, less the 15 s the 150 took.
    expect(times[150]! - times[0]!).toBe(60_000);
    for (let i = 150; i < times.length; i += 1) expect(times[i]! - times[i - 150]!).toBeGreaterThanOrEqual(60_000);
    // 400 requests: the third minute holds the last 100.
    expect(times[399]! - times[0]!).toBeLessThan(3 * 60_000);
    expect(times[300]! - times[0]!).toBe(120_000);
  });

  test('when requests are spread out, then the window forgets the old ones', async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({ limit: 2, windowMs: 1_000, ...clock });
    await limiter.take();
    clock.advance(600);
    await limiter.take();
    clock.advance(600);
    // The first left the window 200 ms ago: room for one at once, then a wait for the second to leave.
    await limiter.take();
    expect(clock.sleeps).toEqual([]);
    await limiter.take();
    expect(clock.sleeps).toEqual([400]);
  });

  test('when several take at once, then they go in the order they came and share the one budget', async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({ limit: 2, windowMs: 1_000, ...clock });
    const order: string[] = [];
    await Promise.all(
      ['applications 1', 'service principals 1', 'applications 2', 'service principals 2'].map((name) =>
        limiter.take().then(() => order.push(`${name} at ${clock.now() - 1_000_000}`)),
      ),
    );
    expect(order).toEqual([
      'applications 1 at 0',
      'service principals 1 at 0',
      'applications 2 at 1000',
      'service principals 2 at 1000',
    ]);
  });

  test('when the server asks to wait (Retry-After), then nobody is let through before it, even with room in the window', async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({ limit: 150, windowMs: 60_000, ...clock });
    await limiter.take();
    limiter.holdFor(7_000);
    expect(limiter.waitMs()).toBe(7_000);
    await limiter.take();
    expect(clock.sleeps).toEqual([7_000]);
    // A shorter hold after a longer one does not shorten it.
    limiter.holdFor(5_000);
    limiter.holdFor(1_000);
    await limiter.take();
    expect(clock.sleeps).toEqual([7_000, 5_000]);
  });

  test('when a sleep fails, then that taker gets the error and the next still gets its turn', async () => {
    let fail = true;
    let at = 0;
    const limiter = createRateLimiter({
      limit: 1,
      windowMs: 1_000,
      now: () => at,
      sleep: async (ms) => {
        if (fail) {
          fail = false;
          throw new Error('timer gone');
        }
        at += ms;
      },
    });
    await limiter.take();
    await expect(limiter.take()).rejects.toThrow('timer gone');
    await limiter.take();
    expect(at).toBe(1_000);
  });
});
