/**
 * Errors of the gateway model. Codes are rows of daemon/control/errors.ts (the one H.248 table);
 * texts go to the controller as the error text, so they name the offending value but never quote
 * raw SDP or anything with `"` or braces.
 */
import { TrgwdError } from '../errors.js';
import type { H248ErrorCode } from '../control/errors.js';

export class MgError extends TrgwdError {
  constructor(code: H248ErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details !== undefined ? { details } : undefined);
  }
}

export function mgError(code: H248ErrorCode, message: string, details?: Record<string, unknown>): MgError {
  return new MgError(code, message, details);
}

/** Keeps a value short and free of characters an H.248 quoted string cannot carry. */
export function shown(value: string, max = 64): string {
  const clean = value.replace(/["{}\r\n\t]/g, ' ').trim();
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}
