/**
 * A pino destination that keeps the JSON lines, so tests can assert what was logged (and what never was).
 */
import { Writable } from 'node:stream';

export type LogEntry = Record<string, unknown> & { level: number; msg?: string };

export class LogCapture extends Writable {
  readonly lines: string[] = [];

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.lines.push(...String(chunk).split('\n').filter(Boolean));
    done();
  }

  get entries(): LogEntry[] {
    return this.lines.map((line) => JSON.parse(line) as LogEntry);
  }

  find(message: string): LogEntry[] {
    return this.entries.filter((entry) => entry.msg === message);
  }

  /** Everything logged, as one string: for "this secret never appears" assertions. */
  get text(): string {
    return this.lines.join('\n');
  }
}
