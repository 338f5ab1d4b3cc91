import { createKeyedQueue, createLimiter, createWorkQueue } from '../../../src/lib/queues';

/** A task the test finishes by hand, recording when it started. */
function gate(log: string[], name: string) {
  let open!: () => void;
  const done = new Promise<void>((resolve) => (open = resolve));
  return {
    work: async () => {
      log.push(`start ${name}`);
      await done;
      log.push(`end ${name}`);
      return name;
    },
    open: () => open(),
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('keyed queue', () => {
  test('when work is queued under one key, then it runs one at a time in order, and other keys do not wait for it', async () => {
    const queue = createKeyedQueue();
    const log: string[] = [];
    const a1 = gate(log, 'a1');
    const a2 = gate(log, 'a2');
    const b1 = gate(log, 'b1');
    const results = [queue.run('a', a1.work), queue.run('a', a2.work), queue.run('b', b1.work)];
    await tick();
    expect(log).toEqual(['start a1', 'start b1']);
    a1.open();
    await tick();
    expect(log).toEqual(['start a1', 'start b1', 'end a1', 'start a2']);
    a2.open();
    b1.open();
    expect(await Promise.all(results)).toEqual(['a1', 'a2', 'b1']);
    await queue.idle();
    expect(queue.size).toBe(0);
  });

  test('when a task fails, then its caller gets the error and the next task under the key still runs', async () => {
    const queue = createKeyedQueue();
    const failed = queue.run('a', async () => Promise.reject(new Error('no')));
    const next = queue.run('a', async () => 'next');
    await expect(failed).rejects.toThrow('no');
    await expect(next).resolves.toBe('next');
  });
});

describe('limiter', () => {
  test('when more tasks than the limit are started, then at most the limit run at once, and the rest in the order they came', async () => {
    const limiter = createLimiter(2);
    const log: string[] = [];
    const tasks = ['t1', 't2', 't3', 't4'].map((name) => gate(log, name));
    const results = tasks.map((t) => limiter.run(t.work));
    await tick();
    expect(log).toEqual(['start t1', 'start t2']);
    tasks[1]!.open();
    await tick();
    await tick();
    expect(log).toEqual(['start t1', 'start t2', 'end t2', 'start t3']);
    for (const t of tasks) t.open();
    expect(await Promise.all(results)).toEqual(['t1', 't2', 't3', 't4']);
  });
});

describe('work queue', () => {
  test('when the producer pushes more than the capacity, then push waits for room, and drain waits for every task', async () => {
    const queue = createWorkQueue(1, 2);
    const log: string[] = [];
    const tasks = ['w1', 'w2', 'w3'].map((name) => gate(log, name));
    await queue.push(async () => void (await tasks[0]!.work()));
    await queue.push(async () => void (await tasks[1]!.work()));
    let third = false;
    const pushed = queue.push(async () => void (await tasks[2]!.work())).then(() => (third = true));
    await tick();
    expect(third).toBe(false);
    tasks[0]!.open();
    await pushed;
    expect(third).toBe(true);
    tasks[1]!.open();
    tasks[2]!.open();
    await queue.drain();
    expect(log).toEqual(['start w1', 'end w1', 'start w2', 'end w2', 'start w3', 'end w3']);
  });

  test('when a task fails, then the tasks not started are dropped, and push and drain throw that failure', async () => {
    const queue = createWorkQueue(1, 10);
    const ran: string[] = [];
    await queue.push(async () => Promise.reject(new Error('page 3 failed')));
    await queue.push(async () => void ran.push('after'));
    await expect(queue.drain()).rejects.toThrow('page 3 failed');
    await expect(queue.push(async () => undefined)).rejects.toThrow('page 3 failed');
    expect(ran).toEqual([]);
  });
});
