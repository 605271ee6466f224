import { inflateSync } from 'node:zlib';

/**
 * The text of a PDF as pdfkit writes it with its standard fonts: every content stream (inflated when
 * FlateDecode), every string shown with `Tj`/`TJ` (hex `<…>` or literal `(…)`), decoded as WinAnsi (Latin-1
 * for å ä ö), one line per text-showing operator. Enough to check what a printed plan says; not a general parser.
 */
export function pdfText(pdf: Buffer): string {
  const raw = pdf.toString('latin1');
  const lines: string[] = [];
  const re = /<<(.*?)>>\s*stream\r?\n/gs;
  for (let m = re.exec(raw); m; m = re.exec(raw)) {
    const start = m.index + m[0].length;
    const end = raw.indexOf('endstream', start);
    const bytes = pdf.subarray(start, end);
    let content: string;
    try {
      content = (m[1]?.includes('/FlateDecode') ? inflateSync(bytes) : bytes).toString('latin1');
    } catch {
      continue;
    }
    for (const op of content.matchAll(/\[(.*?)\]\s*TJ|(<[0-9a-fA-F]*>|\((?:\\.|[^\\)])*\))\s*Tj/gs)) {
      const body = op[1] ?? op[2] ?? '';
      let text = '';
      for (const s of body.matchAll(/<([0-9a-fA-F]*)>|\(((?:\\.|[^\\)])*)\)/g)) {
        if (s[1] !== undefined) text += Buffer.from(s[1], 'hex').toString('latin1');
        else text += (s[2] ?? '').replace(/\\(.)/g, '$1');
      }
      lines.push(text);
    }
  }
  return lines.join('\n');
}
