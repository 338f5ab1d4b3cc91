/**
 * Whether a host names this machine's loopback interface: localhost, 127.0.0.0/8 or ::1. Local mode trusts
 * only those, for its own settings (config.ts) and for the Host header of what it serves (server.ts).
 */
export function isLoopbackHostname(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return host === 'localhost' || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

/** Whether a URL's host is loopback; false for anything that is not a URL. */
export function isLoopbackUrl(url: string): boolean {
  try {
    return isLoopbackHostname(new URL(url).hostname);
  } catch {
    return false;
  }
}

/** Whether an HTTP Host header ("localhost:3978", "127.0.0.1", "[::1]:3978") names a loopback host, with any port or none. */
export function isLoopbackHostHeader(header: string | undefined): boolean {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+))(?::\d{1,5})?$/.exec(header?.trim() ?? '');
  return !!match && isLoopbackHostname(match[1] ?? match[2] ?? '');
}
