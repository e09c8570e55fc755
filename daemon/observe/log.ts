/**
 * Structured JSON logs (pino) on stdout. Every part logs through a child logger tagged with
 * `part` (control, mg, bearer, ...) and, where it has them, `ctx` (context id) and `term`
 * (termination id). Never log on the packet path: count instead.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { name: 'trgwd' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return destination ? pino(options, destination) : pino(options, pino.destination({ fd: 1, sync: false }));
}

/** A logger that writes nothing: for library use and tests that don't look at logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
