// The last lines of a stream, in a ring of fixed size: a child process's stderr, kept to say why it died.
export class LineTail {
  private readonly lines: string[] = [];
  private next = 0;
  private partial = '';

  /** Lines longer than maxLineLength keep their start and an ellipsis. */
  constructor(private readonly size: number, private readonly maxLineLength = 1000) {}

  write(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = this.cap(parts.pop()!);
    for (const line of parts) if (line.trim() !== '') this.push(this.cap(line));
  }

  /** The last lines, oldest first, the unfinished one included. */
  text(): string {
    const ordered = [...this.lines.slice(this.next), ...this.lines.slice(0, this.next)];
    if (this.partial.trim() !== '') ordered.push(this.partial);
    return ordered.slice(-this.size).map((l) => (l.length > this.maxLineLength ? `${l.slice(0, this.maxLineLength)}…` : l)).join('\n');
  }

  /** One character past the limit marks a cut line. */
  private cap(line: string): string {
    return line.length > this.maxLineLength ? line.slice(0, this.maxLineLength + 1) : line;
  }

  private push(line: string): void {
    if (this.lines.length < this.size) this.lines.push(line);
    else this.lines[this.next] = line;
    this.next = (this.next + 1) % this.size;
  }
}
