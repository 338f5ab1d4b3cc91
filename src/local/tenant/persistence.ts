/**
 * The local tenant on disk: the directory in `${dataDir}/tenant.json` (TenantData as is), and the token signing
 * key in `${dataDir}/tenant-signing-key.json`, so that tokens issued before a restart still work after it.
 * Saves are debounced, written to a temporary file and renamed, so a crash never leaves half a file.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { newSigningKey, type SigningKey, signingKeyFromPem } from './identity';
import type { TenantData } from './state';

export function tenantFile(dataDir: string): string {
  return join(dataDir, 'tenant.json');
}

/** The saved tenant, or undefined when there is none yet. A file that is not a tenant stops the start with how to fix it. */
export function loadTenant(dataDir: string): TenantData | undefined {
  const file = tenantFile(dataDir);
  if (!existsSync(file)) return undefined;
  let data: Partial<TenantData>;
  try {
    data = JSON.parse(readFileSync(file, 'utf8')) as Partial<TenantData>;
  } catch (err) {
    throw new Error(
      `The local tenant's saved state ${file} is not valid JSON (${(err as Error).message}). Delete it to start again from the demo seed.`,
      {
        cause: err,
      },
    );
  }
  if (typeof data.tenantId !== 'string' || typeof data.applications !== 'object') {
    throw new Error(
      `The local tenant's saved state ${file} is not a tenant document. Delete it to start again from the demo seed.`,
    );
  }
  return data as TenantData;
}

/** Writes the whole tenant now: to a temporary file next to it, then renamed over it. */
export function saveTenant(dataDir: string, data: TenantData): void {
  const file = tenantFile(dataDir);
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(data));
  renameSync(temporary, file);
}

/** The signing key kept in the data folder (made on first start), so that issued tokens survive a restart. */
export function ensureSigningKey(dataDir: string): SigningKey {
  const file = join(dataDir, 'tenant-signing-key.json');
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { kid: string; privateKeyPem: string };
    return signingKeyFromPem(saved.kid, saved.privateKeyPem);
  }
  const key = newSigningKey();
  mkdirSync(dataDir, { recursive: true });
  const privateKeyPem = key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  writeFileSync(file, JSON.stringify({ kid: key.kid, privateKeyPem }), { mode: 0o600 });
  return key;
}

/** Saves at most once per `delayMs` after changes; flush() writes what is pending at once (on stop). */
export function debouncedSaver(save: () => void, delayMs = 250): { schedule(): void; flush(): void } {
  let timer: NodeJS.Timeout | undefined;
  let pending = false;
  const run = () => {
    timer = undefined;
    if (!pending) return;
    pending = false;
    save();
  };
  return {
    schedule() {
      pending = true;
      timer ??= setTimeout(run, delayMs);
    },
    flush() {
      if (timer) clearTimeout(timer);
      run();
    },
  };
}
