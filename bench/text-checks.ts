/**
 * The checks on what people type (text-rules.ts textProblem, the PEM parse, the private-key recogniser) on
 * worst-case inputs up to the 1 MiB body limit: each should grow in step with the input (linear), never with its
 * square. Run after a build with `node dist/bench/text-checks.js`.
 */
import { performance } from 'node:perf_hooks';
import { parseCertificatePem } from '../src/domain/certificate-pem';
import { holdsPrivateKey } from '../src/domain/private-key';
import { textProblem } from '../src/domain/text-rules';

const sizes = [1024, 16 * 1024, 128 * 1024, 1024 * 1024];

/** Inputs built to make a backtracking pattern work hardest, `n` characters each. */
const worstCases: Record<string, (n: number) => string> = {
  'open brackets': (n) => '['.repeat(n),
  'bracket pairs, no link': (n) => '[]('.repeat(Math.ceil(n / 3)).slice(0, n),
  'brackets then spaces': (n) => `[a]${' '.repeat(n - 6)}(x)`,
  'PEM boundaries': (n) => '-----BEGIN '.repeat(Math.ceil(n / 11)).slice(0, n),
  dashes: (n) => '-'.repeat(n),
  base64: (n) => 'A'.repeat(n),
  'surrogate halves': (n) => '\uD83D'.repeat(n),
};

function time(run: () => unknown): number {
  run();
  const rounds = 5;
  const started = performance.now();
  for (let i = 0; i < rounds; i++) run();
  return (performance.now() - started) / rounds;
}

const rule = { label: 'The purpose', max: Number.MAX_SAFE_INTEGER, multiline: true };
const now = new Date();
for (const [name, make] of Object.entries(worstCases)) {
  const row = sizes.map((n) => {
    const text = make(n);
    const ms = time(() => {
      textProblem(text, rule);
      holdsPrivateKey(text);
      try {
        parseCertificatePem(text, now);
      } catch {
        // refused, as it should be: the time is what is measured
      }
    });
    return `${(n / 1024).toFixed(0).padStart(5)} KiB ${ms.toFixed(2).padStart(8)} ms`;
  });
  console.log(`text-checks: ${name.padEnd(24)} ${row.join('  ')}`);
}
