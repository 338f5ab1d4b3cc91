import { randomUUID } from 'node:crypto';

/**
 * An Entra token-endpoint error: HTTP status, OAuth error, AADSTS number and description.
 * https://learn.microsoft.com/entra/identity-platform/reference-error-codes
 */
export class IdentityError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly aadsts: number,
    description: string,
  ) {
    super(`AADSTS${aadsts}: ${description}`);
  }

  body(now: Date): Record<string, unknown> {
    const traceId = randomUUID();
    const correlationId = randomUUID();
    const timestamp = now.toISOString().replace('T', ' ').slice(0, 19) + 'Z';
    return {
      error: this.error,
      error_description: `${this.message}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
      error_codes: [this.aadsts],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `https://login.microsoftonline.com/error?code=${this.aadsts}`,
    };
  }
}
