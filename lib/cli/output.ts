// What the commands print on stdout, written so that a failed write (a full disk, a closed pipe)
// fails the command: console.log ignores write errors, and `rank > /dev/full` would exit 0.
import { CommandError } from './args.js';

// The write's callback reports the error; without a listener it would also crash the process.
process.stdout.on('error', () => {});

/** Writes `text` and a newline to stdout; rejects with a CommandError when the write fails. */
export function printOut(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(`${text}\n`, (err) => (err ? reject(new CommandError(`cannot write to stdout: ${err.message}`)) : resolve()));
  });
}

// C0 and C1 controls (ESC starts a terminal escape sequence, CSI is its one-byte form), DEL, and the
// bidirectional overrides and isolates that reorder what a terminal shows.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Text for a terminal: every control character written as a visible escape, e.g. `\x1b`. */
export function escapeControls(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
