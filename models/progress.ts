// A download progress bar on stderr: redrawn in place on a terminal, a line every 10% elsewhere
// (logs and CI output must not fill up with carriage-return frames).

export interface Progress {
  update(received: number, total: number | undefined): void;
  done(): void;
}

const mb = (n: number) => (n / 1e6).toFixed(1);

export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  const started = Date.now();
  let lastDraw = 0;
  let lastDecile = -1;
  let drawn = false;
  const line = (received: number, total: number | undefined) => {
    const seconds = Math.max((Date.now() - started) / 1000, 0.001);
    const rate = `${mb(received / seconds)} MB/s`;
    if (!total) return `${label} ${mb(received)} MB ${rate}`;
    const frac = Math.min(received / total, 1);
    const bar = '#'.repeat(Math.round(frac * 30)).padEnd(30, '.');
    return `${label} [${bar}] ${(frac * 100).toFixed(0).padStart(3)}% ${mb(received)}/${mb(total)} MB ${rate}`;
  };
  return {
    update(received, total) {
      if (stream.isTTY) {
        const now = Date.now();
        if (now - lastDraw < 100 && received !== total) return;
        lastDraw = now;
        drawn = true;
        stream.write(`\r${line(received, total)}\x1b[K`);
        return;
      }
      const decile = total ? Math.floor((received / total) * 10) : Math.floor(received / 100e6);
      if (decile === lastDecile) return;
      lastDecile = decile;
      stream.write(`${line(received, total)}\n`);
    },
    done() {
      if (drawn) stream.write('\n');
    },
  };
}
