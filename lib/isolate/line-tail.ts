// The last lines of a stream, in a ring of fixed size: a child process's stderr, kept to say why it died.
export class LineTail {
  private readonly lines: string[] = [];
  private next = 0;
  private partial = '';

  constructor(private readonly size: number, private readonly maxLineLength = 1000) {}

  write(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop()!.slice(-this.maxLineLength);
    for (const line of parts) this.push(line);
  }

  /** The kept lines, oldest first, the unfinished last one included. */
  text(): string {
    const ordered = this.lines.length < this.size ? this.lines : [...this.lines.slice(this.next), ...this.lines.slice(0, this.next)];
    return [...ordered, ...(this.partial ? [this.partial] : [])].join('\n');
  }

  private push(line: string): void {
    if (line.trim() === '') return;
    const kept = line.length > this.maxLineLength ? `${line.slice(0, this.maxLineLength)}…` : line;
    if (this.lines.length < this.size) this.lines.push(kept);
    else this.lines[this.next] = kept;
    this.next = (this.next + 1) % this.size;
  }
}
