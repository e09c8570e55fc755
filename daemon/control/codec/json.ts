/**
 * The JSON form of a message, for the CLI (`trgwd h248 decode --to json`, `trgwd h248 encode`) and
 * for scripts. The model is plain JSON already, so `messageToJSON` only copies; `messageFromJSON`
 * checks untrusted JSON by running it through the codec: it is encoded (which rejects anything of the
 * wrong shape) and decoded again (which applies every syntax rule and limit), and the decoded model is
 * returned, so what comes back is exactly what the gateway would read from the wire.
 */
import { encodeMessage } from './encoder.js';
import { H248CodecError } from './errors.js';
import type { CodecLimits } from './limits.js';
import type { Message } from './model.js';
import { decodeMessage } from './parser.js';

/** A deep copy of `msg` as plain JSON data (no `undefined` values). */
export function messageToJSON(msg: Message): Message {
  return JSON.parse(JSON.stringify(msg)) as Message;
}

/**
 * A Message from untrusted JSON data (e.g. `JSON.parse` of a file). Throws H248CodecError
 * ERR_H248_INVALID_MODEL, with the reason, when it is not a valid message.
 */
export function messageFromJSON(json: unknown, limits?: Partial<CodecLimits>): Message {
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    invalid('a message must be a JSON object');
  const m = json as Partial<Message>;
  if (typeof m.version !== 'number') invalid('"version" must be a number');
  if (m.mId === null || typeof m.mId !== 'object') invalid('"mId" must be an object');
  if (!Array.isArray(m.transactions)) invalid('"transactions" must be an array');
  if (m.style !== undefined && m.style !== 'pretty' && m.style !== 'compact')
    invalid('"style" must be "pretty" or "compact"');
  const style = m.style ?? 'pretty';
  let text: string;
  try {
    text = encodeMessage(m as Message, { style });
  } catch (e) {
    if (e instanceof H248CodecError) throw e;
    invalid(`wrong shape (${e instanceof Error ? e.message : String(e)})`);
  }
  try {
    return decodeMessage(text, limits);
  } catch (e) {
    if (e instanceof H248CodecError) invalid(`it does not encode to a valid message: ${e.message}`);
    throw e;
  }
}

function invalid(reason: string): never {
  throw new H248CodecError('ERR_H248_INVALID_MODEL', `invalid message JSON: ${reason}`);
}
