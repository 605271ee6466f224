/**
 * The printable SIP as PDF (`GET /fhir/CarePlan/<id>/$print?_format=pdf` or `Accept: application/pdf`), drawn with
 * pdfkit (maintained, pure JavaScript). Its standard Helvetica is encoded as WinAnsi, which has å ä ö Å Ä Ö é, so
 * Swedish text renders without embedding a font file; characters outside WinAnsi are replaced by `?` by pdfkit.
 * The content is the same as the HTML (`printedPlan`): organisations named, no address, each party's services,
 * contacts and signature, the named care contact, the meeting and the follow-up.
 */
import PDFDocument from 'pdfkit';
import type { PrintedPlan } from './print-plan';

export interface PdfOptions {
  /** Compress the page streams (default true; tests turn it off to read the text). */
  compress?: boolean;
  /** Creation date written in the PDF's info (default: now). */
  createdAt?: Date;
}

export function planPdf(p: PrintedPlan, opts: PdfOptions = {}): Promise<Buffer> {
  const doc = new PDFDocument({
    size: 'A4',
    margin: 56,
    compress: opts.compress ?? true,
    lang: 'sv-SE',
    info: {
      Title: 'Samordnad individuell plan (SIP)',
      Producer: 'svu-gateway',
      CreationDate: opts.createdAt ?? new Date(),
    },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const heading = (text: string) => {
    doc.moveDown(0.8).font('Helvetica-Bold').fontSize(13).text(text);
    doc.moveDown(0.2).font('Helvetica').fontSize(11);
  };
  doc.font('Helvetica-Bold').fontSize(18).text('Samordnad individuell plan (SIP)');
  doc.font('Helvetica').fontSize(10).fillColor('#444').text(p.status).fillColor('#000');
  doc.fontSize(11);
  if (p.patientName) doc.moveDown(0.5).text(`Plan för: ${p.patientName}`);
  heading('Din fasta vårdkontakt');
  doc.text(p.fvk);
  heading('Möte');
  doc.text(p.meeting);
  heading('Vem gör vad');
  for (const party of p.parties) {
    doc.moveDown(0.3).font('Helvetica-Bold').text(party.name);
    doc.font('Helvetica');
    if (party.services.length === 0) doc.text('Insatser: ej ifyllda ännu');
    for (const s of party.services) doc.text(`Insats: ${s}`, { indent: 12 });
    for (const c of party.contacts) doc.text(`Kontakt: ${c}`, { indent: 12 });
    doc.fillColor('#444').text(party.signed, { indent: 12 }).fillColor('#000');
  }
  doc.moveDown(0.5).text(p.approval);
  heading('Uppföljning');
  doc.text(p.followUp);
  doc.moveDown(0.8).fontSize(10).fillColor('#444').text(p.times).fillColor('#000');
  doc.end();
  return done;
}
