/**
 * `trgwd h248 decode [--to pretty|compact|json] [FILE|-]` and `trgwd h248 encode [--to pretty|compact]
 * [FILE|-]`: the codec as a tool, for people reading captures and writing scripts.
 * Bad input: `error: line L col C: <reason> (H.248 <code>)` on stderr, exit 1.
 */
import { readFileSync } from 'node:fs';
import { decodeMessage, encodeMessage, messageFromJSON, messageToJSON } from '../control/codec/index.js';
import { H248_ERRORS, type H248ErrorRow } from '../control/errors.js';
import { TrgwdError, errorMessage } from '../errors.js';

export type DecodeTarget = 'pretty' | 'compact' | 'json';

function readInput(file: string | undefined): Buffer {
  // yargs hands `-` over as an empty positional.
  return readFileSync(file === undefined || file === '-' || file === '' ? 0 : file);
}

/** `line L col C: reason (H.248 code)` for codec errors; the plain message for others. */
export function describeCodecError(e: unknown): string {
  if (e instanceof TrgwdError) {
    const row = (H248_ERRORS as Record<string, H248ErrorRow>)[e.code];
    const err = e as TrgwdError & { line?: number; column?: number; reason?: string };
    const where = err.line !== undefined ? `line ${err.line} col ${err.column ?? 0}: ` : '';
    const reason = err.reason ?? e.message.replace(/^line \d+ col \d+: /, '').replace(/ \(H\.248 \d+\)$/, '');
    return `${where}${reason}${row ? ` (H.248 ${row.h248})` : ''}`;
  }
  return errorMessage(e);
}

export function runDecode(file: string | undefined, to: DecodeTarget): number {
  let input: Buffer;
  try {
    input = readInput(file);
  } catch (e) {
    process.stderr.write(`error: cannot read ${file ?? 'stdin'}: ${errorMessage(e)}\n`);
    return 1;
  }
  try {
    const msg = decodeMessage(input);
    const out = to === 'json' ? JSON.stringify(messageToJSON(msg), null, 2) : encodeMessage(msg, { style: to });
    process.stdout.write(out.endsWith('\n') ? out : `${out}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`error: ${describeCodecError(e)}\n`);
    return 1;
  }
}

export function runEncode(file: string | undefined, to: 'pretty' | 'compact'): number {
  let json: unknown;
  try {
    json = JSON.parse(readInput(file).toString('utf8'));
  } catch (e) {
    process.stderr.write(`error: input is not JSON: ${errorMessage(e)}\n`);
    return 1;
  }
  try {
    const out = encodeMessage(messageFromJSON(json), { style: to });
    process.stdout.write(out.endsWith('\n') ? out : `${out}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`error: ${describeCodecError(e)}\n`);
    return 1;
  }
}
