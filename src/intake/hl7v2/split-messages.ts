/**
 * Splits a text of HL7 v2 messages (a file or a paste) into messages: a new message starts at every `MSH`
 * at the beginning of a line; blank lines are ignored. Line ends (`\n`, `\r\n`, `\r`) become the HL7
 * segment separator `\r`.
 */
export function splitHl7Messages(text: string): string[] {
  const lines = text.split(/\r\n|\n|\r/).filter((l) => l.trim() !== '');
  const out: string[][] = [];
  for (const line of lines) {
    if (line.startsWith('MSH') || out.length === 0) out.push([line]);
    else out[out.length - 1]?.push(line);
  }
  return out.map((segs) => segs.join('\r'));
}
