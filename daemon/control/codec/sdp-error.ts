/**
 * Errors of the SDP codec (Local and Remote descriptors).
 *
 * Messages go back to the controller as H.248 error text (474), so they never quote the offending
 * SDP text (it may hold `"` or braces, which an H.248 quoted string cannot carry): they say what is
 * wrong and where (1-based line number inside the descriptor). The offending text, shortened, is in
 * `details.excerpt` for logs.
 */
import { TrgwdError } from '../../errors.js';

/** Malformed SDP (structure at parse time, or a value when its typed form is asked for). */
export const ERR_SDP = 'ERR_MG_BAD_SDP';
/** SDP beyond a configured limit (lines, line length, groups). */
export const ERR_SDP_LIMIT = 'ERR_MG_SDP_LIMIT';

const EXCERPT_MAX = 80;

export class SdpError extends TrgwdError {
  /** 1-based line number in the descriptor, when the error is about one line. */
  readonly line: number | undefined;
  /** What is wrong, without the position prefix of `message`. */
  readonly reason: string;

  constructor(
    message: string,
    options?: {
      line?: number | undefined;
      code?: string;
      excerpt?: string;
      details?: Record<string, unknown>;
    },
  ) {
    const line = options?.line !== undefined && options.line > 0 ? options.line : undefined;
    const details: Record<string, unknown> = { ...options?.details };
    if (line !== undefined) details.line = line;
    if (options?.excerpt !== undefined) details.excerpt = options.excerpt.slice(0, EXCERPT_MAX);
    super(
      options?.code ?? ERR_SDP,
      line !== undefined ? `Invalid SDP, line ${line}: ${message}` : `Invalid SDP: ${message}`,
      {
        details,
      },
    );
    this.line = line;
    this.reason = message;
  }
}

/** Thrown by value parsers; the section that owns the line re-throws it with the line number. */
export function badValue(message: string): never {
  throw new SdpError(message);
}
