/**
 * The expiry reminders' ledger: one row per (application, keyId, threshold) in the store's ledger table, so that the
 * scan (expiry-service.ts) announces each credential at each threshold once, ever. A row is 'claimed' by the scan
 * that found the credential due and becomes 'posted' once the announcement went out; the less urgent thresholds the
 * announcement covered are written as posted with it. A row left 'claimed' by a scan that did not finish is taken
 * over by the next; a posted row is never announced again.
 *
 * A credential routed to channels by reminder rules (reminder-routes.ts) has rows per channel: the default reminders
 * channel's are the rows above (so a ledger written before routing still counts there), a routed channel's carry
 * the channel too (channelLedgerRow). So each (credential, threshold, channel) is announced once, ever.
 *
 * Writes go in entity-group transactions of up to 100 rows; a transaction that meets a row changed meanwhile is
 * written again row by row, where each conflict is only that row's. Every write is ETag-guarded.
 */
import { createHash } from 'node:crypto';
import { ConflictError } from '../domain/errors';
import { type CredentialInfo, isAnnounced, ledgerRow, thresholdsCovered } from '../domain/expiry';
import { DEFAULT_ROUTE } from '../domain/reminder-routes';
import type { Logger } from '../lib/logger';
import type { Clock, LedgerEntry, Store, Stored } from './ports';
import { createWorkQueue } from '../lib/queues';

/** Rows per entity-group transaction (Azure Tables allows 100). */
export const LEDGER_TRANSACTION_ROWS = 100;
const LEDGER = 'ledger';

/** The ledger as a scan read it at its start, by row. */
export type LedgerSnapshot = ReadonlyMap<string, Stored<LedgerEntry>>;

/** A credential found due in a page, at its threshold, for one channel, before it is claimed. */
export interface DueCredential {
  credential: CredentialInfo;
  threshold: number;
  /** The conversation id of a routed channel, or DEFAULT_ROUTE. */
  channel: string;
  row: string;
}

/**
 * The ledger row of (credential, threshold, channel): the default channel's is ledgerRow's; a routed channel's adds
 * a digest of its conversation id (Teams ids run long, and a key is at most 1 KiB once escaped).
 */
export function channelLedgerRow(
  applicationObjectId: string,
  keyId: string,
  threshold: number,
  channel: string,
): string {
  const row = ledgerRow(applicationObjectId, keyId, threshold);
  if (channel === DEFAULT_ROUTE) return row;
  return `${row}:c.${createHash('sha256').update(channel).digest('hex').slice(0, 24)}`;
}

/** Whether the ledger says the credential was announced at the threshold in the channel. */
export function isAnnouncedIn(
  ledger: LedgerSnapshot,
  credential: Pick<CredentialInfo, 'applicationObjectId' | 'keyId'>,
  threshold: number,
  channel: string,
): boolean {
  if (channel === DEFAULT_ROUTE) return isAnnounced((r) => ledger.get(r)?.value, credential, threshold);
  const row = channelLedgerRow(credential.applicationObjectId, credential.keyId, threshold, channel);
  return ledger.get(row)?.value.state === 'posted';
}

/** The channel a ledger entry records, when it is not the default. */
const channelField = (channel: string) => (channel === DEFAULT_ROUTE ? {} : { channel });

/** A due credential this scan has claimed: its row for the threshold, to mark it posted after the announcement. */
export interface LedgerClaim extends DueCredential {
  stored: Stored<LedgerEntry>;
}

export interface ExpiryLedger {
  /**
   * The ledger as it stands, read in one paged list (its size follows what was announced, not the tenant): a
   * credential already announced at its threshold then costs the scan no table call at all.
   */
  read(): Promise<LedgerSnapshot>;
  /** Claims up to LEDGER_TRANSACTION_ROWS due credentials; those another scan holds or has posted are left out. */
  claim(
    log: Logger,
    scanId: string,
    now: Date,
    items: readonly DueCredential[],
    ledger: LedgerSnapshot,
  ): Promise<LedgerClaim[]>;
  /** After the announcement: every claim and the thresholds it covered become 'posted'. */
  markPosted(log: Logger, scanId: string, claims: readonly LedgerClaim[], ledger: LedgerSnapshot): Promise<void>;
}

export interface ExpiryLedgerDeps {
  store: Store;
  clock: Clock;
  reminderDays: readonly number[];
  /** Transactions written at once when marking claims posted. */
  concurrency: number;
  /** Transactions waiting their turn. */
  capacity: number;
}

export function createExpiryLedger(deps: ExpiryLedgerDeps): ExpiryLedger {
  const { store, clock, reminderDays, concurrency, capacity } = deps;

  return {
    async read() {
      const ledger = new Map<string, Stored<LedgerEntry>>();
      for await (const { row, value, etag } of store.ledger.list(LEDGER)) ledger.set(row, { value, etag });
      return ledger;
    },
    claim: claimMany,
    markPosted,
  };

  /**
   * Due credentials claimed in one transaction (rows created, or taken over from an unfinished scan with the ETag
   * the ledger was read with); when a row changed meanwhile, each is claimed on its own instead.
   */
  async function claimMany(
    log: Logger,
    scanId: string,
    now: Date,
    items: readonly DueCredential[],
    ledger: LedgerSnapshot,
  ): Promise<LedgerClaim[]> {
    const at = now.toISOString();
    const operations = items.map(({ credential, threshold, channel, row }) => {
      const value: LedgerEntry = {
        keyId: credential.keyId,
        threshold,
        applicationObjectId: credential.applicationObjectId,
        ...channelField(channel),
        state: 'claimed',
        scanId,
        at,
      };
      const existing = ledger.get(row);
      return existing
        ? { op: 'replace' as const, row, value, etag: existing.etag }
        : { op: 'create' as const, row, value };
    });
    try {
      const etags = await store.ledger.transact(LEDGER, operations);
      for (const { credential, threshold, row } of items) {
        const earlier = ledger.get(row);
        if (earlier)
          log.info(
            {
              applicationObjectId: credential.applicationObjectId,
              keyId: credential.keyId,
              threshold,
              earlierScanId: earlier.value.scanId,
            },
            'unfinished claim taken over',
          );
      }
      return items.map(({ credential, threshold, channel, row }, i) => ({
        credential,
        threshold,
        channel,
        row,
        stored: { value: operations[i]!.value, etag: etags[i]! },
      }));
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      log.info({ rows: items.length }, 'a ledger batch met a changed row: claiming row by row');
    }
    const claims: LedgerClaim[] = [];
    for (const { credential, threshold, channel, row } of items) {
      const claim = await claimOne(
        log,
        scanId,
        now,
        credential,
        threshold,
        channel,
        row,
        (await store.ledger.get(LEDGER, row)) ?? undefined,
      );
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
    channel: string,
    row: string,
    existing: Stored<LedgerEntry> | undefined,
  ): Promise<LedgerClaim | undefined> {
    const claimed: LedgerEntry = {
      keyId: credential.keyId,
      threshold,
      applicationObjectId: credential.applicationObjectId,
      ...channelField(channel),
      state: 'claimed',
      scanId,
      at: now.toISOString(),
    };
    if (existing?.value.state === 'posted') return undefined;
    let stored: Stored<LedgerEntry>;
    try {
      stored = existing
        ? await store.ledger.replace(LEDGER, row, claimed, existing.etag)
        : await store.ledger.create(LEDGER, row, claimed);
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      // Only a scan writes these rows, and the lease says no other runs: log it, and leave the row to the other.
      log.warn(
        { applicationObjectId: credential.applicationObjectId, keyId: credential.keyId, threshold, reason: err.reason },
        'ledger row changed under the scan',
      );
      return undefined;
    }
    if (existing)
      log.info(
        {
          applicationObjectId: credential.applicationObjectId,
          keyId: credential.keyId,
          threshold,
          earlierScanId: existing.value.scanId,
        },
        'unfinished claim taken over',
      );
    return { credential, threshold, channel, row, stored };
  }

  /**
   * After the announcement: each claimed row becomes 'posted', and the less urgent thresholds the announcement
   * covered are recorded as posted too (they are written only now, so that the ledger never says posted for
   * what was not). A row of those left 'claimed' by an unfinished scan is taken over.
   */
  async function markPosted(
    log: Logger,
    scanId: string,
    claims: readonly LedgerClaim[],
    ledger: LedgerSnapshot,
  ): Promise<void> {
    const at = clock.now().toISOString();
    const lostRace = (row: string) => (err: unknown) => {
      if (!(err instanceof ConflictError)) throw err;
      log.warn({ row, reason: err.reason }, 'ledger row changed before it was marked posted');
    };
    type Operation =
      | { op: 'create'; row: string; value: LedgerEntry }
      | { op: 'replace'; row: string; value: LedgerEntry; etag: string };
    /** The rows one claim writes: its own, claimed → posted, and the skipped thresholds not yet posted. */
    const operationsOf = ({ credential, threshold, channel, row, stored }: LedgerClaim): Operation[] => {
      const posted = (t: number): LedgerEntry => ({ ...stored.value, threshold: t, state: 'posted', scanId, at });
      const skipped = thresholdsCovered(threshold, reminderDays).filter((t) => t !== threshold);
      const operations: Operation[] = [{ op: 'replace', row, value: posted(threshold), etag: stored.etag }];
      for (const t of skipped) {
        const skippedRow = channelLedgerRow(credential.applicationObjectId, credential.keyId, t, channel);
        const known = ledger.get(skippedRow);
        if (!known) operations.push({ op: 'create', row: skippedRow, value: posted(t) });
        else if (known.value.state === 'claimed')
          operations.push({ op: 'replace', row: skippedRow, value: posted(t), etag: known.etag });
      }
      return operations;
    };
    // Entity-group transactions of up to 100 rows (a claim's rows stay together); a batch that meets a row
    // changed meanwhile is written again row by row, where each conflict is only that row's.
    const batches: LedgerClaim[][] = [];
    let batch: LedgerClaim[] = [];
    let size = 0;
    for (const claim of claims) {
      const n = operationsOf(claim).length;
      if (size + n > LEDGER_TRANSACTION_ROWS && batch.length > 0) {
        batches.push(batch);
        batch = [];
        size = 0;
      }
      batch.push(claim);
      size += n;
    }
    if (batch.length > 0) batches.push(batch);
    const tasks = createWorkQueue(concurrency, capacity);
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
