/**
 * Entra object ids (users, applications, service principals) as Registrar compares them. Entra writes them in lower
 * case but matches them in any case, and Teams, Graph and people may each write one differently: an ObjectId is
 * made in one place, lower-cased, so that two of them are the same person exactly when they are equal.
 */
import { isGuid } from './guid';

export type ObjectId = string & { readonly __objectId: unique symbol };

/** The object id as Registrar keeps it (lower case); undefined when `value` is not a GUID. */
export function objectId(value: string | undefined): ObjectId | undefined {
  const trimmed = value?.trim();
  return trimmed && isGuid(trimmed) ? (trimmed.toLowerCase() as ObjectId) : undefined;
}

/**
 * Whether two ids name the same directory object. Anything that is not a GUID (Registrar's own actor id,
 * 'registrar', or a missing id) is compared as written, lower-cased, and a missing id is nobody.
 */
export function sameObject(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  return (objectId(a) ?? a.toLowerCase()) === (objectId(b) ?? b.toLowerCase());
}
