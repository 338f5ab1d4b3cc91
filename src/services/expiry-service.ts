/**
 * The expiry scan (PRODUCT "Expiry reminders and rotation"): under the 'expiry-scan' lease, reads every credential
 * page by page, and announces each (credential, threshold) once, ever, through a ledger in the store.
 *
 * Only the credentials within a threshold touch the ledger (a get of their one row; nothing for the others), in a
 * bounded queue worked on while the next pages are read, so memory holds a page and the due credentials, not the
 * tenant. A due credential is claimed (its row for the threshold: 'claimed' with this scan's id) and its
 * application's owners are read, once per application. After the last page the claims are announced together;
 * then each claimed row becomes 'posted', and the less urgent thresholds the announcement covered are recorded as
 * posted with it. A claim left by a scan that did not finish (crash, failed page, failed announcement) is due again
 * at the next scan; a posted row never is. A renewed or removed credential has a new keyId or none, so its rows are
 * simply never looked at again. A credential is its application and its keyId together (ledgerRow): a keyCredential's
 * keyId is the client's choice, and one app's must not silence another's.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { ConflictError, RegistrarError } from '../domain/errors';
import {
  byUrgency,
  type CredentialInfo,
  type ExpiringCredential,
  expiringCredential,
  isAnnounced,
  ledgerRow,
  thresholdCrossing,
  thresholdsCovered,
} from '../domain/expiry';
import type { Logger } from '../lib/logger';
import { createLease } from './lease';
import type { Clock, CredentialSource, LedgerEntry, Store, Stored } from './ports';

export interface ExpiryScanResult {
  scanId: string;
  /** False when another process holds the lease (then nothing else was done). */
  ran: boolean;
  /** Applications with at least one credential. */
  applications: number;
  credentials: number;
  pages: number;
  /** What this scan announced, most urgent first (empty on a quiet run). */
  announced: ExpiringCredential[];
  durationMs: number;
}

export interface ExpiryService {
  scan(options?: { trigger?: 'schedule' | 'command' | 'job' }): Promise<ExpiryScanResult>;
}

export interface ExpiryServiceDeps {
  store: Store;
  source: CredentialSource;
  clock: Clock;
  logger: Logger;
  reminderDays: readonly number[];
  scope: 'all' | 'managed';
  /** This process, for the lease (e.g. hostname:pid:random). */
  holder: string;
  /** Posts the digest and the owners' messages; throws when it could not (then the claims stay and the next scan posts them). */
  announce(credentials: readonly ExpiringCredential[], scanId: string): Promise<void>;
  /** Default 10 min, renewed while the scan runs. */
  leaseMs?: number;
  /** Due credentials worked on at once (ledger writes and owners reads; default 16). */
  concurrency?: number;
}

export const EXPIRY_SCAN_LEASE = 'expiry-scan';
const LEDGER = 'ledger';
const DEFAULT_LEASE_MS = 10 * 60_000;
const DEFAULT_CONCURRENCY = 16;
/** Due credentials waiting for the ledger while the pages are read: a bound on memory, not on the tenant. */
const QUEUE_CAPACITY = 1000;
/** Rows per entity-group transaction (Azure Tables allows 100). */
const TRANSACTION_ROWS = 100;

/** A due credential this scan has claimed: its row for the threshold, to mark it posted after the announcement. */
/** A credential found due in a page, at its threshold, before it is claimed. */
interface Due {
  credential: CredentialInfo;
  threshold: number;
  row: string;
}

interface Claim {
  credential: CredentialInfo;
  threshold: number;
  row: string;
  stored: Stored<LedgerEntry>;
  ownerIds: string[];
}

/** "20260302T090000-1a2b3c4d": sorts by time, readable in logs and cards. */
function newScanId(now: Date): string {
  return `${now.toISOString().replace(/[-:]|\.\d+/g, '').replace('Z', '')}-${randomBytes(4).toString('hex')}`;
}

/**
 * A work queue: `concurrency` tasks run at once, and up to `capacity` wait their turn. push() returns at once while
 * there is room, so the one producer (the page loop) keeps reading pages while the ledger work catches up; it waits
 * only when the queue is full, which bounds memory whatever the tenant. The first failure stops the tasks not yet
 * started, and push() and drain() throw it.
 */
function workQueue(concurrency: number, capacity: number) {
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
    /** Drops the tasks not yet started (the producer failed). */
    abandon(): void {
      waiting.length = 0;
    },
    /** Waits for every task started; throws the first failure. */
    async drain(): Promise<void> {
      while (active > 0 || (!failure && waiting.length > 0)) await changed();
      if (failure) throw failure.error;
    },
  };
}

export function createExpiryService(deps: ExpiryServiceDeps): ExpiryService {
  const { store, source, clock, reminderDays, scope, holder } = deps;
  const leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  const concurrency = deps.concurrency ?? DEFAULT_CONCURRENCY;
  const crossed = thresholdCrossing(reminderDays);

  return {
    async scan(options = {}) {
      const started = performance.now();
      const now = clock.now();
      const scanId = newScanId(now);
      const log = deps.logger.child({ job: 'expiry-scan', scanId, trigger: options.trigger });
      const result: ExpiryScanResult = { scanId, ran: false, applications: 0, credentials: 0, pages: 0, announced: [], durationMs: 0 };
      const lease = createLease({ store, name: EXPIRY_SCAN_LEASE, holder, ttlMs: leaseMs, clock });
      if (!(await lease.acquire())) {
        log.info({ holder }, 'expiry scan skipped: another process holds the lease');
        result.durationMs = performance.now() - started;
        return result;
      }
      result.ran = true;
      try {
        const { claims, ledger } = await claimDue(log, scanId, now, result, lease.acquire);
        // Still ours? A scan that outlived its lease leaves the announcing to whoever took it over.
        if (!(await lease.acquire())) throw lostLease(scanId);
        const announced = claims.map((c) => expiringCredential(c.credential, c.threshold, now, c.ownerIds)).sort(byUrgency);
        if (announced.length > 0) {
          try {
            await deps.announce(announced, scanId);
          } catch (err) {
            log.error({ err, claimed: announced.length }, 'expiry announce failed: the claims stay for the next scan');
            throw err;
          }
          try {
            await markPosted(log, scanId, claims, ledger);
          } catch (err) {
            // Announced all the same: say so, and that the rows left 'claimed' will be announced once more.
            log.error({ err, claimed: announced.length }, 'expiry ledger not updated after the announcement: the next scan repeats it');
          }
        }
        result.announced = announced;
        result.durationMs = performance.now() - started;
        log.info(
          { applications: result.applications, credentials: result.credentials, pages: result.pages, announced: announced.length, durationMs: Math.round(result.durationMs) },
          'expiry scan finished',
        );
        return result;
      } finally {
        await lease.release().catch((err: unknown) => log.warn({ err }, 'expiry scan lease not released'));
      }
    },
  };

  /**
   * Reads every page and claims the due credentials through the work queue; renews the lease when half of it has
   * gone. A failure (a page, the ledger, the owners) waits for the claims under way and is thrown: what was claimed
   * stays claimed, for the next scan.
   */
  async function claimDue(
    log: Logger,
    scanId: string,
    now: Date,
    result: ExpiryScanResult,
    renew: () => Promise<boolean>,
  ): Promise<{ claims: Claim[]; ledger: Map<string, Stored<LedgerEntry>> }> {
    const claims: Claim[] = [];
    // The ledger as it stands, read in one paged list (its size follows what was announced, not the tenant):
    // a credential already announced at its threshold then costs no table call at all.
    const ledger = new Map<string, Stored<LedgerEntry>>();
    for await (const { row, value, etag } of store.ledger.list(LEDGER)) ledger.set(row, { value, etag });
    const seen = new Set<string>();
    const owners = new Map<string, Promise<string[]>>();
    const tasks = workQueue(concurrency, QUEUE_CAPACITY);
    let renewAt = clock.now().getTime() + leaseMs / 2;
    try {
      for await (const page of source.pages(scope)) {
        result.pages += 1;
        result.credentials += page.length;
        let previousApp: string | undefined;
        const due: Due[] = [];
        for (const credential of page) {
          // A page holds each application's credentials together.
          if (credential.applicationObjectId !== previousApp) result.applications += 1;
          previousApp = credential.applicationObjectId;
          const threshold = crossed(credential.endDateTime, now);
          if (threshold === undefined) continue;
          // Keyed by the application too: another app may hold a credential with the same keyId.
          const row = ledgerRow(credential.applicationObjectId, credential.keyId, threshold);
          if (seen.has(row) || isAnnounced((r) => ledger.get(r)?.value, credential, threshold)) continue;
          seen.add(row);
          due.push({ credential, threshold, row });
        }
        // A page's due credentials are claimed in transactions of up to 100 rows, while the next page is read.
        for (let i = 0; i < due.length; i += TRANSACTION_ROWS) {
          const chunk = due.slice(i, i + TRANSACTION_ROWS);
          await tasks.push(async () => {
            for (const claim of await claimMany(log, scanId, now, chunk, ledger)) {
              claim.ownerIds = claim.credential.ownerIds ?? (await ownersOnce(log, owners, claim.credential.applicationObjectId));
              claims.push(claim);
            }
          });
        }
        if (clock.now().getTime() >= renewAt) {
          if (!(await renew())) throw lostLease(scanId);
          renewAt = clock.now().getTime() + leaseMs / 2;
        }
      }
    } catch (err) {
      tasks.abandon();
      await tasks.drain().catch(() => undefined);
      throw err;
    }
    await tasks.drain();
    return { claims, ledger };
  }

  /**
   * Due credentials claimed in one transaction (rows created, or taken over from an unfinished scan with the ETag
   * the ledger was read with); when a row changed meanwhile, each is claimed on its own instead.
   */
  async function claimMany(log: Logger, scanId: string, now: Date, items: readonly Due[], ledger: ReadonlyMap<string, Stored<LedgerEntry>>): Promise<Claim[]> {
    const at = now.toISOString();
    const operations = items.map(({ credential, threshold, row }) => {
      const value: LedgerEntry = { keyId: credential.keyId, threshold, applicationObjectId: credential.applicationObjectId, state: 'claimed', scanId, at };
      const existing = ledger.get(row);
      return existing ? { op: 'replace' as const, row, value, etag: existing.etag } : { op: 'create' as const, row, value };
    });
    try {
      const etags = await store.ledger.transact(LEDGER, operations);
      for (const { credential, threshold, row } of items) {
        const earlier = ledger.get(row);
        if (earlier) log.info({ applicationObjectId: credential.applicationObjectId, keyId: credential.keyId, threshold, earlierScanId: earlier.value.scanId }, 'unfinished claim taken over');
      }
      return items.map(({ credential, threshold, row }, i) => ({ credential, threshold, row, stored: { value: operations[i]!.value, etag: etags[i]! }, ownerIds: [] }));
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      log.info({ rows: items.length }, 'a ledger batch met a changed row: claiming row by row');
    }
    const claims: Claim[] = [];
    for (const { credential, threshold, row } of items) {
      const claim = await claimOne(log, scanId, now, credential, threshold, row, (await store.ledger.get(LEDGER, row)) ?? undefined);
      if (claim) claims.push(claim);
    }
    return claims;
  }

  /**
   * One due credential: its row for the threshold decides (posted: done; claimed by an earlier scan that did not
   * finish: due again, and taken over; absent: due, and claimed).
   */
  async function claimOne(
    log: Logger,
    scanId: string,
    now: Date,
    credential: CredentialInfo,
    threshold: number,
    row: string,
    existing: Stored<LedgerEntry> | undefined,
  ): Promise<Claim | undefined> {
    const claimed: LedgerEntry = {
      keyId: credential.keyId,
      threshold,
      applicationObjectId: credential.applicationObjectId,
      state: 'claimed',
      scanId,
      at: now.toISOString(),
    };
    if (existing?.value.state === 'posted') return undefined;
    let stored: Stored<LedgerEntry>;
    try {
      stored = existing ? await store.ledger.replace(LEDGER, row, claimed, existing.etag) : await store.ledger.create(LEDGER, row, claimed);
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      // Only a scan writes these rows, and the lease says no other runs: log it, and leave the row to the other.
      log.warn({ applicationObjectId: credential.applicationObjectId, keyId: credential.keyId, threshold, reason: err.reason }, 'ledger row changed under the scan');
      return undefined;
    }
    if (existing) log.info({ applicationObjectId: credential.applicationObjectId, keyId: credential.keyId, threshold, earlierScanId: existing.value.scanId }, 'unfinished claim taken over');
    return { credential, threshold, row, stored, ownerIds: [] };
  }

  /**
   * The application's owners, read once per scan. An application gone since its page was read, or one Registrar may
   * not read the owners of, is announced without owners; an outage fails the scan (the claim stays for the next).
   */
  function ownersOnce(log: Logger, cache: Map<string, Promise<string[]>>, applicationObjectId: string): Promise<string[]> {
    let owners = cache.get(applicationObjectId);
    if (!owners) {
      owners = source.ownersOf(applicationObjectId).catch((err: unknown) => {
        if (err instanceof RegistrarError && err.code !== 'unavailable') {
          log.warn({ applicationObjectId, code: err.code, detail: err.message }, 'owners not read: announced without owners');
          return [];
        }
        throw err;
      });
      cache.set(applicationObjectId, owners);
    }
    return owners;
  }

  /**
   * After the announcement: each claimed row becomes 'posted', and the less urgent thresholds the announcement
   * covered are recorded as posted too (they are written only now, so that the ledger never says posted for
   * what was not). A row of those left 'claimed' by an unfinished scan is taken over.
   */
  async function markPosted(log: Logger, scanId: string, claims: readonly Claim[], ledger: ReadonlyMap<string, Stored<LedgerEntry>>): Promise<void> {
    const at = clock.now().toISOString();
    const lostRace = (row: string) => (err: unknown) => {
      if (!(err instanceof ConflictError)) throw err;
      log.warn({ row, reason: err.reason }, 'ledger row changed before it was marked posted');
    };
    type Operation = { op: 'create'; row: string; value: LedgerEntry } | { op: 'replace'; row: string; value: LedgerEntry; etag: string };
    /** The rows one claim writes: its own, claimed → posted, and the skipped thresholds not yet posted. */
    const operationsOf = ({ credential, threshold, row, stored }: Claim): Operation[] => {
      const posted = (t: number): LedgerEntry => ({ ...stored.value, threshold: t, state: 'posted', scanId, at });
      const skipped = thresholdsCovered(threshold, reminderDays).filter((t) => t !== threshold);
      const operations: Operation[] = [{ op: 'replace', row, value: posted(threshold), etag: stored.etag }];
      for (const t of skipped) {
        const skippedRow = ledgerRow(credential.applicationObjectId, credential.keyId, t);
        const known = ledger.get(skippedRow);
        if (!known) operations.push({ op: 'create', row: skippedRow, value: posted(t) });
        else if (known.value.state === 'claimed') operations.push({ op: 'replace', row: skippedRow, value: posted(t), etag: known.etag });
      }
      return operations;
    };
    // Entity-group transactions of up to 100 rows (a claim's rows stay together); a batch that meets a row
    // changed meanwhile is written again row by row, where each conflict is only that row's.
    const batches: Claim[][] = [];
    let batch: Claim[] = [];
    let size = 0;
    for (const claim of claims) {
      const n = operationsOf(claim).length;
      if (size + n > TRANSACTION_ROWS && batch.length > 0) {
        batches.push(batch);
        batch = [];
        size = 0;
      }
      batch.push(claim);
      size += n;
    }
    if (batch.length > 0) batches.push(batch);
    const tasks = workQueue(concurrency, QUEUE_CAPACITY);
    for (const group of batches) {
      await tasks.push(async () => {
        try {
          await store.ledger.transact(LEDGER, group.flatMap(operationsOf));
          return;
        } catch (err) {
          if (!(err instanceof ConflictError)) throw err;
          log.info({ rows: group.length }, 'a ledger batch met a changed row: writing it row by row');
        }
        for (const claim of group) {
          // The claim's own row with its ETag; the skipped rows as found now (another scan may have written them).
          const [own, ...skipped] = operationsOf(claim);
          await Promise.all([
            store.ledger.replace(LEDGER, claim.row, own!.value, claim.stored.etag).catch(lostRace(claim.row)),
            ...skipped.map((o) => recordPosted(o.row, o.value).catch(lostRace(o.row))),
          ]);
        }
      });
    }
    await tasks.drain();
  }

  /** Creates a posted row; one already there stays, unless an unfinished scan left it claimed. */
  async function recordPosted(row: string, entry: LedgerEntry): Promise<void> {
    try {
      await store.ledger.create(LEDGER, row, entry);
      return;
    } catch (err) {
      if (!(err instanceof ConflictError && err.reason === 'exists')) throw err;
    }
    const existing = await store.ledger.get(LEDGER, row);
    if (existing?.value.state === 'claimed') await store.ledger.replace(LEDGER, row, entry, existing.etag);
  }
}

function lostLease(scanId: string): RegistrarError {
  return new RegistrarError('conflict', 'Another Registrar took over the expiry scan; it will post the reminders.', {
    detail: `expiry scan ${scanId}: the lease ran out and another process holds it now; this scan stopped before announcing. Its claims are announced by the next scan.`,
  });
}
