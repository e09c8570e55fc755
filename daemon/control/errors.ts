/**
 * The one table that maps our stable error codes to H.248 error codes (H.248.1 §14 / IANA registry).
 *
 * Every layer throws TrgwdError with a code from here (or its own code, added here as a row).
 * Commands answer the controller with `Error = <h248> { "<text>" }` from this table; nothing else
 * decides H.248 error numbers. Rows are append-only: codes are stable once released.
 */
import { TrgwdError } from '../errors.js';

export interface H248ErrorRow {
  /** H.248 error code sent to the controller. */
  readonly h248: number;
  /** Standard text of that code (IANA), used when the error has no better text. */
  readonly text: string;
}

export const H248_ERRORS = {
  // --- codec (text syntax): H.248.1 §8.2.2 says where each is reported
  ERR_H248_SYNTAX_MESSAGE: { h248: 400, text: 'Syntax error in message' },
  ERR_H248_PROTOCOL: { h248: 401, text: 'Protocol Error' },
  ERR_H248_SYNTAX_TRANSACTION: { h248: 403, text: 'Syntax error in transaction request' },
  ERR_H248_VERSION: { h248: 406, text: 'Version Not Supported' },
  ERR_H248_INCORRECT_ID: { h248: 410, text: 'Incorrect identifier' },
  ERR_H248_SYNTAX_ACTION: { h248: 422, text: 'Syntax Error in Action' },
  ERR_H248_SYNTAX_COMMAND: { h248: 442, text: 'Syntax Error in Command' },
  ERR_H248_UNKNOWN_COMMAND: { h248: 443, text: 'Unsupported or Unknown Command' },
  ERR_H248_UNKNOWN_DESCRIPTOR: { h248: 444, text: 'Unsupported or Unknown Descriptor' },
  ERR_H248_DESCRIPTOR_TWICE: { h248: 448, text: 'Descriptor appears twice' },
  ERR_H248_LIMIT: { h248: 400, text: 'Syntax error in message' },
  ERR_H248_BINARY: { h248: 400, text: 'Syntax error in message' },
  // a message model that cannot be encoded (our own reply, or a CLI's JSON): a bug or bad input, not the peer's fault
  ERR_H248_INVALID_MODEL: { h248: 500, text: 'Internal software failure' },
  // --- gateway model
  ERR_MG_UNKNOWN_CONTEXT: { h248: 411, text: 'The transaction refers to an unknown ContextId' },
  ERR_MG_NO_CONTEXT_IDS: { h248: 412, text: 'No ContextIDs available' },
  ERR_MG_ILLEGAL_ACTION: { h248: 421, text: 'Unknown action or illegal combination of actions' },
  ERR_MG_UNKNOWN_TERMINATION: { h248: 430, text: 'Unknown TerminationID' },
  ERR_MG_NO_WILDCARD_MATCH: { h248: 431, text: 'No TerminationID matched a wildcard' },
  ERR_MG_OUT_OF_TERMINATION_IDS: { h248: 432, text: 'Out of TerminationIDs or No TerminationID available' },
  ERR_MG_TERMINATION_IN_CONTEXT: { h248: 433, text: 'TerminationID is already in a Context' },
  ERR_MG_TOO_MANY_TERMINATIONS: { h248: 434, text: 'Max number of Terminations in a Context exceeded' },
  ERR_MG_TERMINATION_NOT_IN_CONTEXT: { h248: 435, text: 'Termination ID is not in specified Context' },
  ERR_MG_MISSING_LOCAL_REMOTE: { h248: 441, text: 'Missing Remote or Local Descriptor' },
  ERR_MG_DESCRIPTOR_ILLEGAL: { h248: 447, text: 'Descriptor not legal in this command' },
  ERR_MG_BAD_SDP: { h248: 474, text: 'Invalid SDP Syntax' },
  ERR_MG_SDP_LIMIT: { h248: 474, text: 'Invalid SDP Syntax' },
  ERR_MG_REQUIRED_INFO_MISSING: { h248: 472, text: 'Required Information Missing' },
  ERR_MG_CONFLICTING_VALUES: { h248: 473, text: 'Conflicting Property Values' },
  ERR_MG_UNSUPPORTED_MEDIA: { h248: 515, text: 'Unsupported or Unknown Media Type' },
  ERR_MG_UNSUPPORTED_MODE: { h248: 517, text: 'Unsupported or invalid mode' },
  ERR_MG_TOPOLOGY: { h248: 522, text: 'Functionality Requested in Topology Triple Not Supported' },
  ERR_MG_NOT_ALLOWED: { h248: 542, text: 'Command is not allowed on this termination' },
  ERR_MG_AUDIT_NOT_EXIST: { h248: 532, text: 'Audited Property, Statistic, Event or Signal does not exist' },
  ERR_MG_READ_ONLY: { h248: 534, text: 'Illegal write or read only property' },
  // --- packages (as data)
  ERR_PKG_UNKNOWN_PACKAGE: { h248: 440, text: 'Unsupported or unknown Package' },
  ERR_PKG_UNKNOWN_PROPERTY: { h248: 445, text: 'Unsupported or Unknown Property' },
  ERR_PKG_UNKNOWN_PARAMETER: { h248: 446, text: 'Unsupported or Unknown Parameter' },
  ERR_PKG_BAD_VALUE: { h248: 449, text: 'Unsupported or Unknown Parameter or Property Value' },
  ERR_PKG_NO_SUCH_PROPERTY: { h248: 450, text: 'No such property in this package' },
  ERR_PKG_NO_SUCH_EVENT: { h248: 451, text: 'No such event in this package' },
  ERR_PKG_NO_SUCH_SIGNAL: { h248: 452, text: 'No such signal in this package' },
  ERR_PKG_NO_SUCH_STATISTIC: { h248: 453, text: 'No such statistic in this package' },
  ERR_PKG_ILLEGAL_IN_DESCRIPTOR: { h248: 455, text: 'Property illegal in this Descriptor' },
  ERR_PKG_PROPERTY_TWICE: { h248: 456, text: 'Property appears twice' },
  ERR_PKG_MISSING_PARAMETER: { h248: 457, text: 'Missing parameter in signal or event' },
  ERR_PKG_UNKNOWN_PROFILE: { h248: 461, text: 'Unsupported or Unknown Profile' },
  // --- association / transactions
  ERR_CTRL_NOT_REGISTERED: { h248: 505, text: 'Transaction Request Received before a Service Change Reply has been received' },
  ERR_CTRL_UNAUTHORIZED: { h248: 504, text: 'Command Received from unauthorized entity' },
  ERR_CTRL_PENDING_LIMIT: { h248: 506, text: 'Number of Transaction Pendings Exceeded' },
  ERR_CTRL_RESPONSE_TOO_LARGE: { h248: 533, text: 'Response exceeds maximum transport PDU size' },
  ERR_CTRL_NOT_IMPLEMENTED: { h248: 501, text: 'Not Implemented' },
  // a HandOff MgcIdToTry we cannot use (MTP or device name, or a domain name that does not resolve)
  ERR_CTRL_MGCID: { h248: 449, text: 'Unsupported or Unknown Parameter or Property Value' },
  // --- resources (bearer, tls)
  ERR_PORTS_EXHAUSTED: { h248: 510, text: 'Insufficient resources' },
  ERR_RESOURCE_LIMIT: { h248: 510, text: 'Insufficient resources' },
  ERR_BEARER_BIND: { h248: 510, text: 'Insufficient resources' },
  ERR_PORTS_CLOSED: { h248: 510, text: 'Insufficient resources' },
  ERR_BEARER_UNSUPPORTED_TRANSPORT: { h248: 449, text: 'Unsupported or Unknown Parameter or Property Value' },
  ERR_INTERNAL: { h248: 500, text: 'Internal software failure' },
  // --- SRTP (native binding over libsrtp2)
  ERR_SRTP_CRYPTO_ATTR: { h248: 449, text: 'Unsupported or Unknown Parameter or Property Value' },
  ERR_SRTP_SUITE_UNSUPPORTED: { h248: 449, text: 'Unsupported or Unknown Parameter or Property Value' },
  ERR_SRTP_PARAM: { h248: 449, text: 'Unsupported or Unknown Parameter or Property Value' },
  ERR_SRTP_INIT: { h248: 500, text: 'Internal software failure' },
  ERR_SRTP_CLOSED: { h248: 500, text: 'Internal software failure' },
  ERR_SRTP_NO_STREAM: { h248: 500, text: 'Internal software failure' },
  ERR_NATIVE_MISSING: { h248: 500, text: 'Internal software failure' },
  ERR_NATIVE_MISMATCH: { h248: 500, text: 'Internal software failure' },
  // --- DTLS for UDPTL (daemon/tls/dtls/)
  // the native addon is not built or does not load: the transport is not available (PROFILE §3)
  ERR_DTLS_UNAVAILABLE: { h248: 449, text: 'Unsupported or Unknown Parameter or Property Value' },
  ERR_DTLS_CONFIG: { h248: 500, text: 'Internal software failure' },
  ERR_DTLS_INIT: { h248: 500, text: 'Internal software failure' },
  ERR_DTLS_PARAM: { h248: 500, text: 'Internal software failure' },
  ERR_DTLS_CLOSED: { h248: 500, text: 'Internal software failure' },
  // --- TLS for TCP media (daemon/tls/)
  ERR_TLS_LIMIT: { h248: 510, text: 'Insufficient resources' },
  ERR_TLS_NO_FINGERPRINT: { h248: 472, text: 'Required Information Missing' },
  ERR_TLS_FINGERPRINT_HASH: { h248: 449, text: 'Unsupported or Unknown Parameter or Property Value' },
  // our certificate or key files are unusable: a start-up error, never caused by a command
  ERR_TLS_CERT: { h248: 500, text: 'Internal software failure' },
} as const satisfies Record<string, H248ErrorRow>;

export type H248ErrorCode = keyof typeof H248_ERRORS;

/**
 * What to answer the controller for anything thrown while serving it. Unknown errors become 500 with
 * a generic text: never a stack trace on the wire.
 */
export function toH248Error(e: unknown): { code: number; text: string } {
  if (e instanceof TrgwdError) {
    const row = (H248_ERRORS as Record<string, H248ErrorRow>)[e.code];
    if (row !== undefined) return { code: row.h248, text: e.message || row.text };
  }
  return { code: 500, text: H248_ERRORS.ERR_INTERNAL.text };
}
