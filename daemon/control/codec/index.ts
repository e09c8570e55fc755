/**
 * H.248.1 text codec (versions 1-3, pretty and compact): the public API. Pure: no I/O, no timers,
 * no global mutable state.
 *
 *   decodeMessage(input: string | Uint8Array, limits?: Partial<CodecLimits>): Message
 *     One message; throws H248CodecError (code ERR_H248_*, h248, line, column, reason). Bytes must be
 *     UTF-8; binary (ASN.1) input is ERR_H248_BINARY; beyond a limit is ERR_H248_LIMIT.
 *   decodeMessageLenient(input, limits?): { message: Message; invalid: InvalidTransaction[] }
 *     The header must parse; a transaction that does not is listed in `invalid` (index, id when
 *     readable, kind, error with code 403 transaction / 422 action / 442 command / 443 / 444 / 448 /
 *     ERR_H248_LIMIT) and decoding goes on, so each transaction can be answered.
 *   encodeMessage(msg: Message, { style?: 'pretty' | 'compact' }): string
 *     Default style: msg.style (set by the decoder), else pretty. decode(encode(m)) deep-equals m
 *     apart from `style`.
 *   replyStyleOf(request): 'pretty' | 'compact'     the style a reply to `request` must use.
 *   messageToJSON(msg) / messageFromJSON(json, limits?)   the CLI's JSON form (validated).
 *   DEFAULT_CODEC_LIMITS, resolveLimits(partial)    limits and their documented defaults.
 *   H248CodecError, isH248CodecError                the error type.
 *   unquote / quote / isQuoted                      helpers for VALUE texts (quoted strings keep their quotes in the model).
 *
 * The model (model.ts) is plain JSON data; see its header for conventions (names keep their case,
 * values are their text, Local/Remote are the SDP text with `\}` unescaped).
 *
 * Not here: SDP parsing (sdp.ts), package semantics (control/packages), transactions (control/transaction).
 */
export { decodeMessage, decodeMessageLenient } from './parser.js';
export type { InvalidTransaction, LenientDecodeResult } from './parser.js';
export { encodeMessage } from './encoder.js';
export type { EncodeOptions } from './encoder.js';
export { messageFromJSON, messageToJSON } from './json.js';
export { DEFAULT_CODEC_LIMITS, MAX_DEPTH_CAP, resolveLimits } from './limits.js';
export type { CodecLimits } from './limits.js';
export { H248CodecError, isH248CodecError } from './errors.js';
export type { CodecErrorCode, CodecErrorPosition } from './errors.js';
export { isQuoted, quote, replyStyleOf, sanitizeQuoted, unquote } from './model.js';
export type * from './model.js';
