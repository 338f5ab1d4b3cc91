/**
 * What a turn spends reading a command from the worst messages a sender can build, up to the 1 MiB body limit:
 * the text reduced to words (mentions, Teams' HTML, non-breaking spaces) and parsed, as every message turn does
 * once. Target: a 28,000-character message of `<` in well under a millisecond, and time linear in the length.
 */
import { performance } from 'node:perf_hooks';
import { parseCommand, stripMarkup } from '../src/domain/commands';

export interface CommandParseResult {
  name: string;
  chars: number;
  /** Median over the runs. */
  ms: number;
}

const MiB = 1024 * 1024;

/** Messages built against the old patterns (unclosed `<`, mentions that never close) and ordinary ones. */
const worstCases: ReadonlyArray<[string, (n: number) => string]> = [
  ['< only', (n) => '<'.repeat(n)],
  ['<at> never closed', (n) => '<at>'.repeat(Math.ceil(n / 4)).slice(0, n)],
  ['<at> then text, no </at>', (n) => `<at>${'x'.repeat(n - 4)}`],
  [
    '<at> and 1,000 characters, again and again',
    (n) => `<at>${'x'.repeat(1000)}`.repeat(Math.ceil(n / 1004)).slice(0, n),
  ],
  ['<a with no >', (n) => '<a'.repeat(Math.ceil(n / 2)).slice(0, n)],
  ['mentions and &nbsp;', (n) => '<at>R</at>&nbsp;'.repeat(Math.ceil(n / 16)).slice(0, n)],
  ['a command after spaces', (n) => `${' '.repeat(n - 4)}help`],
];

export function benchCommandParse(
  sizes: readonly number[] = [28_000, 256 * 1024, MiB],
  runs = 15,
): CommandParseResult[] {
  const results: CommandParseResult[] = [];
  for (const [name, make] of worstCases) {
    for (const chars of sizes) {
      const text = make(chars);
      const times: number[] = [];
      for (let i = 0; i < runs; i += 1) {
        const started = performance.now();
        parseCommand(stripMarkup(text));
        times.push(performance.now() - started);
      }
      times.sort((a, b) => a - b);
      results.push({ name, chars: text.length, ms: times[Math.floor(runs / 2)]! });
    }
  }
  return results;
}
