/**
 * Typed errors with stable `code` strings (the shape of Node core's and undici's errors).
 *
 * Every error the daemon raises on purpose is a TrgwdError. `code` never changes once released:
 * tests, logs and the H.248 error table (daemon/control/errors.ts) key on it. The message is for
 * people and may change.
 */
export class TrgwdError extends Error {
  readonly code: string;
  /** Extra, structured facts for logs (never secrets such as keys). */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: string, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = new.target.name;
    this.code = code;
    this.details = options?.details;
  }
}

/** True when `e` is one of ours with the given code (or any of ours when `code` is omitted). */
export function isTrgwdError(e: unknown, code?: string): e is TrgwdError {
  return e instanceof TrgwdError && (code === undefined || e.code === code);
}

/** Message of anything thrown, for logs. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
