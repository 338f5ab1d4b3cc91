/**
 * Every outside dependency of the services, as a port. Adapters implement them; only container.ts builds them.
 */
import type { ChannelBinding, ChannelPurpose, ConversationAddress } from '../domain/conversation';

/** A stored value with the ETag that guards its next update. */
export interface Stored<T> {
  value: T;
  etag: string;
}

/**
 * A keyed collection of JSON documents with optimistic concurrency. Keys are two-part (partition, row) so
 * that related records (a request and its audit events) can be listed together.
 *
 * create: fails with ConflictError('exists') when the key is taken.
 * replace: fails with ConflictError('changed') when the ETag no longer matches, ('missing') when it is gone.
 * upsert: last writer wins; for records nobody edits concurrently (conversation references).
 */
export interface Collection<T> {
  get(partition: string, row: string): Promise<Stored<T> | undefined>;
  create(partition: string, row: string, value: T): Promise<Stored<T>>;
  replace(partition: string, row: string, value: T, etag: string): Promise<Stored<T>>;
  upsert(partition: string, row: string, value: T): Promise<Stored<T>>;
  /** Deletes; with an ETag only if unchanged. Deleting what is not there is not an error. */
  delete(partition: string, row: string, etag?: string): Promise<void>;
  list(partition: string): AsyncIterable<Stored<T> & { row: string }>;
}

/** A marker that a conversation was greeted, so that the welcome is sent once. */
export interface Greeting {
  conversationId: string;
  greetedAt: string;
}

export interface Store {
  /** Channels named for a purpose: partition 'channel', row = purpose. */
  readonly channels: Collection<ChannelBinding>;
  /** Personal conversations with users, for proactive messages: partition 'user', row = aadObjectId. */
  readonly conversations: Collection<ConversationAddress>;
  /** Conversations the bot has greeted: partition 'greeting', row = conversation id (encoded). */
  readonly greetings: Collection<Greeting>;
  /** Creates what the store needs (tables). Safe to call on every start. */
  init(): Promise<void>;
  /** Throws when the storage cannot be reached; for /readyz. */
  ping(): Promise<void>;
}

export type { ChannelPurpose };

/** The directory (Microsoft Entra ID), as far as the services need it. */
export interface Directory {
  /** Whether the user is a member, directly or transitively, of any of the groups. */
  isMemberOfAnyGroup(userObjectId: string, groupIds: readonly string[]): Promise<boolean>;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
