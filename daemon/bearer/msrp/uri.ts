/**
 * MSRP URIs (RFC 4975 §9) and their comparison (§6.1), plus the URI the gateway uses on one leg.
 *
 *   MSRP-URI  = msrp-scheme "://" authority ["/" session-id] ";" transport *( ";" URI-parameter )
 *   authority = [ userinfo "@" ] host [ ":" port ]
 *   session-id = 1*( unreserved / "+" / "=" / "/" )
 */
import { randomBytes } from 'node:crypto';

export interface MsrpUri {
  readonly scheme: 'msrp' | 'msrps';
  readonly userinfo: string | undefined;
  /** Lower-cased; IPv6 without brackets. */
  readonly host: string;
  readonly port: number | undefined;
  /** Case kept (compared case-sensitively). */
  readonly sessionId: string | undefined;
  /** Lower-cased (`tcp`). */
  readonly transport: string;
  /** URI parameters after the transport, as written. */
  readonly params: readonly string[];
}

/** Parses one MSRP URI; undefined when it is not one. */
export function parseMsrpUri(text: string): MsrpUri | undefined {
  const sep = text.indexOf('://');
  if (sep < 0) return undefined;
  const scheme = text.slice(0, sep).toLowerCase();
  if (scheme !== 'msrp' && scheme !== 'msrps') return undefined;
  const rest = text.slice(sep + 3);
  const semi = rest.indexOf(';');
  if (semi < 0) return undefined;
  const params = rest.slice(semi + 1).split(';');
  const transport = (params.shift() ?? '').toLowerCase();
  if (transport.length === 0 || !/^[a-z0-9]+$/.test(transport)) return undefined;
  const hostPart = rest.slice(0, semi);
  const slash = hostPart.indexOf('/');
  const authority = slash < 0 ? hostPart : hostPart.slice(0, slash);
  const sessionId = slash < 0 ? undefined : hostPart.slice(slash + 1);
  if (sessionId !== undefined && !/^[A-Za-z0-9\-._~+=/%]+$/.test(sessionId)) return undefined;
  const at = authority.lastIndexOf('@');
  const userinfo = at < 0 ? undefined : authority.slice(0, at);
  const hp = authority.slice(at + 1);
  let host: string;
  let portText: string | undefined;
  if (hp.startsWith('[')) {
    const close = hp.indexOf(']');
    if (close < 0) return undefined;
    host = hp.slice(1, close);
    const after = hp.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) return undefined;
    portText = after === '' ? undefined : after.slice(1);
  } else {
    const colon = hp.lastIndexOf(':');
    host = colon < 0 ? hp : hp.slice(0, colon);
    portText = colon < 0 ? undefined : hp.slice(colon + 1);
  }
  if (host.length === 0 || !/^[A-Za-z0-9\-._:%]+$/.test(host)) return undefined;
  let port: number | undefined;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText)) return undefined;
    port = Number(portText);
    if (port > 65535) return undefined;
  }
  return { scheme, userinfo, host: host.toLowerCase(), port, sessionId, transport, params };
}

export function formatMsrpUri(u: MsrpUri): string {
  const host = u.host.includes(':') ? `[${u.host}]` : u.host;
  const user = u.userinfo !== undefined ? `${u.userinfo}@` : '';
  const port = u.port !== undefined ? `:${u.port}` : '';
  const sess = u.sessionId !== undefined ? `/${u.sessionId}` : '';
  const params = u.params.length > 0 ? `;${u.params.join(';')}` : '';
  return `${u.scheme}://${user}${host}${port}${sess};${u.transport}${params}`;
}

/**
 * RFC 4975 §6.1: scheme, host and transport case-insensitively, port exactly (present in both or in
 * neither), session-id case-sensitively; userinfo and URI parameters are not compared.
 */
export function sameMsrpUri(a: MsrpUri, b: MsrpUri): boolean {
  return (
    a.scheme === b.scheme &&
    a.host === b.host &&
    a.port === b.port &&
    a.sessionId === b.sessionId &&
    a.transport === b.transport
  );
}

/** The URIs of a path header or `a=path` value (space-separated). Undefined if one is not a URI. */
export function parsePath(value: string): MsrpUri[] | undefined {
  const out: MsrpUri[] = [];
  for (const t of value.split(/[ \t]+/)) {
    if (t === '') continue;
    const u = parseMsrpUri(t);
    if (u === undefined) return undefined;
    out.push(u);
  }
  return out.length > 0 ? out : undefined;
}

/** The first URI of a path header value, as written; '' when empty. */
export function firstPathUri(value: string): string {
  const v = value.trimStart();
  const sp = v.search(/[ \t]/);
  return sp < 0 ? v : v.slice(0, sp);
}

/**
 * A fresh session id: 96 random bits in base64url, i.e. unreserved characters only (RFC 4975 §14.1:
 * the session-id must be hard to guess, at least 80 bits of randomness).
 */
export function newSessionId(): string {
  return randomBytes(12).toString('base64url');
}

/** The gateway's URI on one leg: `msrp[s]://<address>:<port>/<session-id>;tcp`. */
export function gatewayUri(options: { tls: boolean; address: string; port: number; sessionId: string }): string {
  const host = options.address.includes(':') ? `[${options.address}]` : options.address;
  return `${options.tls ? 'msrps' : 'msrp'}://${host}:${options.port}/${options.sessionId};tcp`;
}
