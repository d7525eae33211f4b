// Diagnostics on stderr in fence-agents' format ("YYYY-MM-DD HH:MM:SS,mmm LEVEL: message"), optionally
// copied to a debug file. Every secret registered with the logger is redacted from every line it writes,
// whatever path the text took to get there (an error message, a device transcript, a command line).
import { appendFileSync } from 'node:fs';

export type LogLevel = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  /** Register a value that must never be printed. Short values are still redacted: a secret is a secret. */
  addSecret(value: string | undefined): void;
  redact(text: string): string;
  readonly verbosity: number;
}

export const REDACTED = '[redacted]';

export interface LoggerOptions {
  verbosity?: number; // 0: warnings and errors; >= 1: debug
  quiet?: boolean; // nothing on stderr
  debugFile?: string; // every line, at debug level, also goes here
  write?: (line: string) => void; // stderr by default
}

function timestamp(d = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())},${p(d.getMilliseconds(), 3)}`;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const secrets = new Set<string>();
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  const verbosity = opts.verbosity ?? 0;

  const redact = (text: string): string => {
    let out = text;
    // Longest first, so a secret that contains another is replaced whole.
    for (const s of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join(REDACTED);
    return out;
  };

  const emit = (level: LogLevel, msg: string) => {
    const line = `${timestamp()} ${level}: ${redact(msg)}\n`;
    if (opts.debugFile) {
      try {
        appendFileSync(opts.debugFile, line, { mode: 0o600 });
      } catch {
        // A broken debug file must not break fencing.
      }
    }
    if (opts.quiet) return;
    if (level === 'DEBUG' && verbosity < 1) return;
    if (level === 'INFO' && verbosity < 1) return;
    write(line);
  };

  return {
    debug: (m) => emit('DEBUG', m),
    info: (m) => emit('INFO', m),
    warn: (m) => emit('WARNING', m),
    error: (m) => emit('ERROR', m),
    addSecret: (v) => {
      if (v !== undefined && v !== '') secrets.add(v);
    },
    redact,
    verbosity,
  };
}

/** A logger that drops everything: for library code called without one. */
export const silentLogger: Logger = createLogger({ quiet: true });
