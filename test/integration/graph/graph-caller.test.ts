/**
 * GraphCaller.waitUntil, on its own clock: re-reads until Graph's reads show what its writes said exists, as many
 * times in a row as asked, within a deadline. (Its calls to Graph are exercised by every other test in this folder.)
 */
import { GraphCaller } from '../../../src/adapters/graph/graph-caller';
import type { GraphConnection } from '../../../src/adapters/graph/graph-client';
import { RegistrarError } from '../../../src/domain/errors';
import { createLogger } from '../../../src/lib/logger';
import { LogCapture } from '../../helpers/logs';

/** waitUntil reads through the function it is given; the connection is never used. */
const noConnection = {} as GraphConnection;

function caller(): { graph: GraphCaller; slept: number[] } {
  let clock = 0;
  const slept: number[] = [];
  const graph = new GraphCaller({
    connection: noConnection,
    baseDelayMs: 100,
    maxDelayMs: 1000,
    stepTimeoutMs: 10_000,
    now: () => clock,
    sleep: async (ms) => {
      slept.push(ms);
      clock += ms;
    },
    random: () => 0.5,
  });
  return { graph, slept };
}

/** A read that answers from a script, one answer per read, and counts the reads. */
function scripted(answers: Array<string | undefined>): {
  read: () => Promise<string | undefined>;
  reads: () => number;
} {
  let i = 0;
  return { read: async () => answers[Math.min(i++, answers.length - 1)], reads: () => i };
}

const options = {
  log: createLogger({ level: 'silent', destination: new LogCapture() }),
  help: { doing: 'adopting an assignment' },
};

describe('GraphCaller.waitUntil', () => {
  test('when the object shows on the third read, then it is returned after two waits', async () => {
    const { graph, slept } = caller();
    const { read, reads } = scripted([undefined, undefined, 'found']);

    expect(await graph.waitUntil(read, options)).toBe('found');

    expect(reads()).toBe(3);
    expect(slept).toHaveLength(2);
  });

  test('when three reads in a row are asked for, then a read that misses in between starts the count again', async () => {
    const { graph } = caller();
    const { read, reads } = scripted(['found', undefined, 'found', 'found', 'found']);

    expect(await graph.waitUntil(read, { ...options, consecutive: 3 })).toBe('found');

    expect(reads()).toBe(5);
  });

  test('when reads never show it, then the wait ends at the deadline with an unavailable error that says what was being done', async () => {
    const { graph } = caller();
    const { read } = scripted([undefined]);

    const failure = await graph.waitUntil(read, options).catch((e: unknown) => e);

    expect(failure).toBeInstanceOf(RegistrarError);
    expect((failure as RegistrarError).code).toBe('unavailable');
    expect((failure as RegistrarError).message).toContain('adopting an assignment');
  });
});
