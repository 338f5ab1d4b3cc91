/**
 * The one error family of Registrar. Each error says what was being done and, where a person can act,
 * how to fix it. Handlers catch them once, at the edge: `userMessage` becomes a card, the rest a log line.
 */
export type ErrorCode = 'invalid-input' | 'not-authorized' | 'not-found' | 'conflict' | 'wrong-place' | 'unavailable';

export class RegistrarError extends Error {
  constructor(
    readonly code: ErrorCode,
    /** Safe to show to the person who acted. */
    readonly userMessage: string,
    options: { cause?: unknown; detail?: string } = {},
  ) {
    super(options.detail ?? userMessage, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }
}

export class NotAuthorized extends RegistrarError {
  constructor(userMessage: string) {
    super('not-authorized', userMessage);
  }
}

export class WrongPlace extends RegistrarError {
  constructor(userMessage: string) {
    super('wrong-place', userMessage);
  }
}

/**
 * An optimistic-concurrency failure: the record was created or changed by someone else since it was read.
 * `reason` tells a create that found the key taken from an update whose ETag no longer matches.
 */
export class ConflictError extends RegistrarError {
  constructor(
    readonly reason: 'exists' | 'changed' | 'missing',
    readonly key: string,
  ) {
    super('conflict', 'Someone else changed this at the same moment. Look again and retry.', {
      detail: `${reason === 'exists' ? 'already exists' : reason === 'changed' ? 'changed since it was read' : 'no longer exists'}: ${key}`,
    });
  }
}

export class StorageUnavailable extends RegistrarError {
  constructor(doing: string, cause: unknown) {
    super('unavailable', 'Registrar cannot reach its storage right now. Try again in a minute.', {
      cause,
      detail: `${doing}: storage unavailable. Check STORAGE_CONNECTION_STRING / STORAGE_ACCOUNT_URL and that the account is reachable.`,
    });
  }
}

/** Graph no longer knows the delta links (expired after 7 days, or reset): the tenant must be read in full again. */
export class SyncReset extends Error {
  constructor(
    readonly collection: 'applications' | 'servicePrincipals',
    options?: { cause?: unknown },
  ) {
    super(`the ${collection} delta link is no longer valid: a full scan is needed`, options);
    this.name = 'SyncReset';
  }
}
