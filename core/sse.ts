// Server-Sent Events as a reader takes them (the live log stream's format): complete events out of
// the text received so far, and what is left for the next chunk. No Node imports: the console's
// bundle, the CLI and the tests use this one copy.

export interface ServerSentEvent {
  /** `event:` (default "message"). */
  type: string;
  /** The `data:` lines, joined by newlines. */
  data: string;
}

/** The complete events in `text` (each ends with a blank line), and the rest, not yet complete. */
export function takeEvents(text: string): { events: ServerSentEvent[]; rest: string } {
  const events: ServerSentEvent[] = [];
  let rest = text;
  let end: number;
  while ((end = rest.indexOf('\n\n')) >= 0) {
    const block = rest.slice(0, end);
    rest = rest.slice(end + 2);
    let type = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) type = line.slice(7);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    // Comments (": keepalive") carry no data and are no event.
    if (data.length > 0) events.push({ type, data: data.join('\n') });
  }
  return { events, rest };
}
