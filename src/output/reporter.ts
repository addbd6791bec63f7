/**
 * Everything zdd prints goes through a Reporter, so one place decides what the user sees:
 * - tty:  an ora spinner per step, its duration when done, colours by chalk, a summary line;
 * - ci:   no spinner, no colour (unless FORCE_COLOR), one plain line per event with an ISO timestamp;
 * - json: the same plain lines on stderr; the command prints one JSON document on stdout at the end.
 * Values of `backend.env` are secrets: every line is scrubbed of them before it is written.
 */
import { Chalk, type ChalkInstance } from 'chalk';
import type { Ora, Options as OraOptions } from 'ora';

export type OutputMode = 'tty' | 'ci' | 'json';

export interface ReporterOptions {
  mode: OutputMode;
  verbose?: boolean;
  /** Where lines go; defaults to process.stdout (tty/ci) or process.stderr (json). */
  stream?: NodeJS.WritableStream;
  /** Colour on? Default: on for tty, off for ci/json unless FORCE_COLOR is set. */
  color?: boolean;
  /** Clock for timestamps (tests). */
  now?: () => Date;
  /** The spinner factory (ora) for tty mode; loaded by the CLI only when it is needed. */
  spinner?: (options: OraOptions) => Ora;
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export class Reporter {
  readonly mode: OutputMode;
  readonly verbose: boolean;
  private readonly stream: NodeJS.WritableStream;
  private readonly c: ChalkInstance;
  private readonly now: () => Date;
  private spinner: Ora | undefined;
  private readonly makeSpinner?: (options: OraOptions) => Ora;
  private secrets: string[] = [];
  /** `web1 │ ` on a host's own reporter (see forHost). */
  private prefix = '';

  constructor(opts: ReporterOptions) {
    this.mode = opts.mode;
    this.verbose = opts.verbose ?? false;
    this.stream = opts.stream ?? (opts.mode === 'json' ? process.stderr : process.stdout);
    const forced = process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== '0';
    const color = opts.color ?? (opts.mode === 'tty' || forced);
    this.c = new Chalk({ level: color ? 1 : 0 });
    this.now = opts.now ?? (() => new Date());
    this.makeSpinner = opts.spinner;
  }

  /**
   * A reporter for one of several hosts worked on at once: every line starts with the host's name,
   * never a spinner (they would fight), the same stream, colours and secrets.
   */
  forHost(name: string, width = name.length): Reporter {
    const r = new Reporter({ mode: this.mode, verbose: this.verbose, stream: this.stream, color: this.c.level > 0, now: this.now });
    r.secrets = this.secrets;
    r.prefix = `${name.padEnd(width)} │ `;
    return r;
  }

  get colors(): ChalkInstance {
    return this.c;
  }

  /** Values never to print (backend.env values). Short values are ignored: masking "1" would mask every digit. */
  addSecrets(values: Iterable<string>): void {
    for (const v of values) if (v.length >= 4 && !this.secrets.includes(v)) this.secrets.push(v);
    this.secrets.sort((a, b) => b.length - a.length);
  }

  scrub(text: string): string {
    let out = text;
    for (const s of this.secrets) out = out.split(s).join('***');
    return out;
  }

  private write(line: string): void {
    if (this.prefix) {
      // After the timestamp and kind of a plain line, or first on a terminal.
      const m = this.mode === 'tty' ? null : /^(\S+ \S+\s+)/.exec(line);
      line = m ? `${m[1]}${this.prefix}${line.slice(m[1].length)}` : `${this.prefix}${line}`;
    }
    this.stream.write(`${this.scrub(line)}\n`);
  }

  private plain(kind: string, text: string): void {
    this.write(`${this.now().toISOString()} ${kind.padEnd(5)} ${text}`);
  }

  private stopSpinner(): void {
    this.spinner?.stop();
    this.spinner = undefined;
  }

  stepStart(step: string, detail?: string): void {
    const text = detail ? `${step} — ${detail}` : step;
    if (this.mode === 'tty') {
      this.stopSpinner();
      this.spinner = this.makeSpinner?.({ text: this.scrub(text), stream: this.stream as NodeJS.WriteStream }).start();
      if (!this.spinner) this.write(`${this.c.dim('…')} ${this.scrub(text)}`);
    } else this.plain('start', text);
  }

  stepDone(step: string, ms: number, note?: string): void {
    const text = `${step} (${formatMs(ms)})${note ? ` — ${note}` : ''}`;
    if (this.mode === 'tty') {
      if (this.spinner) {
        this.spinner.succeed(this.scrub(`${step} ${this.c.dim(formatMs(ms))}${note ? this.c.dim(` — ${note}`) : ''}`));
        this.spinner = undefined;
      } else this.write(`${this.c.green('✔')} ${text}`);
    } else this.plain('done', text);
  }

  /** A running step's live figures: the spinner's text on a terminal, else a plain line (callers space them out). */
  stepProgress(step: string, text: string): void {
    if (this.mode === 'tty' && this.spinner) this.spinner.text = this.scrub(`${step} — ${text}`);
    else this.plain('info', `${step}: ${text}`);
  }

  stepSkipped(step: string, reason: string): void {
    if (this.mode === 'tty') {
      this.stopSpinner();
      this.write(`${this.c.dim('-')} ${step} ${this.c.dim(`skipped: ${reason}`)}`);
    } else this.plain('skip', `${step} — ${reason}`);
  }

  stepFailed(step: string, ms: number, message: string): void {
    const text = `${step} (${formatMs(ms)}) — ${message}`;
    if (this.mode === 'tty') {
      if (this.spinner) {
        this.spinner.fail(this.scrub(`${step} ${this.c.dim(formatMs(ms))} ${this.c.red(message)}`));
        this.spinner = undefined;
      } else this.write(`${this.c.red('✖')} ${text}`);
    } else this.plain('fail', text);
  }

  info(text: string): void {
    if (this.mode === 'tty') {
      this.spinner?.clear();
      this.write(`  ${text}`);
      this.spinner?.render();
    } else this.plain('info', text);
  }

  warn(text: string): void {
    if (this.mode === 'tty') {
      this.spinner?.clear();
      this.write(`${this.c.yellow('⚠')} ${this.c.yellow(text)}`);
      this.spinner?.render();
    } else this.plain('warn', text);
  }

  /** Only with --verbose. */
  debug(text: string): void {
    if (!this.verbose) return;
    if (this.mode === 'tty') {
      this.spinner?.clear();
      this.write(this.c.dim(`  ${text}`));
      this.spinner?.render();
    } else this.plain('debug', text);
  }

  /** Several lines of command output (a failure's tail), indented. */
  block(text: string): void {
    this.stopSpinner();
    const lines = text.replace(/\s+$/, '').split('\n');
    for (const l of lines) {
      if (this.mode === 'tty') this.write(this.c.dim(`  │ ${l}`));
      else this.plain('out', `| ${l}`);
    }
  }

  error(text: string, hint?: string): void {
    this.stopSpinner();
    if (this.mode === 'tty') {
      this.write(`${this.c.red('error')} ${text}`);
      if (hint) this.write(`${this.c.cyan('hint')}  ${hint}`);
    } else {
      this.plain('error', text);
      if (hint) this.plain('hint', hint);
    }
  }

  hint(text: string): void {
    this.stopSpinner();
    if (this.mode === 'tty') this.write(`${this.c.cyan('hint')}  ${text}`);
    else this.plain('hint', text);
  }

  summary(ok: boolean, text: string): void {
    this.stopSpinner();
    if (this.mode === 'tty') this.write(ok ? this.c.green.bold(text) : this.c.red.bold(text));
    else this.plain(ok ? 'ok' : 'fail', text);
  }

  /** Free-form output for read-only commands (tables). Goes to the log stream, unscrubbed of layout. */
  print(text: string): void {
    this.stopSpinner();
    this.write(text);
  }
}
