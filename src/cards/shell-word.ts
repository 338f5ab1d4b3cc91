/*
 * What the delivery card's shell snippets are made of: the cloud's addresses, and words quoted for a POSIX shell.
 */

/**
 * The sign-in and Microsoft Graph addresses the token request names, and, in local mode, the CA bundle that trusts
 * the local tenant's certificate (curl trusts only the system's CAs; a real cloud needs none).
 */
export interface TokenEndpoints {
  login: string;
  graph: string;
  caFile?: string;
}

/** A word a POSIX shell takes as it is, or the same in single quotes (a path with spaces, say). */
export function shellWord(text: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
