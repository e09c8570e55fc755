/**
 * The codec's one error type.
 *
 * `code` is a stable code of `daemon/control/errors.ts`; `h248` is the H.248 error number that table
 * gives it (400 message, 403 transaction, 422 action, 442 command, 443/444 unknown command or
 * descriptor, 448 descriptor twice, 400 for limits and binary input). Position fields are 1-based
 * and refer to the decoded text (characters, not bytes). `message` reads like
 * `line 3 col 14: expected '{' after Add (H.248 442)`.
 */
import { TrgwdError } from '../../errors.js';
import { H248_ERRORS } from '../errors.js';

export type CodecErrorCode =
  | 'ERR_H248_SYNTAX_MESSAGE'
  | 'ERR_H248_SYNTAX_TRANSACTION'
  | 'ERR_H248_SYNTAX_ACTION'
  | 'ERR_H248_SYNTAX_COMMAND'
  | 'ERR_H248_UNKNOWN_COMMAND'
  | 'ERR_H248_UNKNOWN_DESCRIPTOR'
  | 'ERR_H248_DESCRIPTOR_TWICE'
  | 'ERR_H248_LIMIT'
  | 'ERR_H248_BINARY'
  | 'ERR_H248_INVALID_MODEL';

export interface CodecErrorPosition {
  /** 1-based line of the offending character (0 when there is no position, e.g. binary input). */
  readonly line: number;
  /** 1-based column of the offending character. */
  readonly column: number;
  /** 0-based character offset into the decoded text. */
  readonly offset: number;
}

export class H248CodecError extends TrgwdError {
  declare readonly code: CodecErrorCode;
  /** H.248 error code to answer with (from the table in daemon/control/errors.ts). */
  readonly h248: number;
  /** What was wrong, without the position prefix: "expected '{' after Add". */
  readonly reason: string;
  /** What the parser expected there, when the error is of that kind ("'{'", "TransactionID"). */
  readonly expected: string | undefined;
  readonly line: number;
  readonly column: number;
  readonly offset: number;
  /** Name of the limit exceeded, for ERR_H248_LIMIT. */
  readonly limit: string | undefined;

  constructor(
    code: CodecErrorCode,
    reason: string,
    pos?: CodecErrorPosition,
    extra?: { expected?: string; limit?: string },
  ) {
    const h248 = H248_ERRORS[code].h248;
    const where = pos !== undefined && pos.line > 0 ? `line ${pos.line} col ${pos.column}: ` : '';
    super(code, `${where}${reason} (H.248 ${h248})`);
    this.h248 = h248;
    this.reason = reason;
    this.expected = extra?.expected;
    this.limit = extra?.limit;
    this.line = pos?.line ?? 0;
    this.column = pos?.column ?? 0;
    this.offset = pos?.offset ?? -1;
  }
}

export function isH248CodecError(e: unknown): e is H248CodecError {
  return e instanceof H248CodecError;
}
