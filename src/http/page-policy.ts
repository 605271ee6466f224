/**
 * Content-Security-Policy of the HTML pages the gateway serves. Each keeps the browser to the gateway's own origin
 * and forbids framing (clickjacking); a page shows other parties' free text (comments, plans, names), so a policy
 * is the second guard behind escaping: what slipped through could neither run nor load anything.
 */
import type { Response } from 'express';

/** A page with no script at all: the case overview and the printable SIP plan. */
export const PAGE_WITHOUT_SCRIPTS =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** Answers 200 with `html`, a page that needs no script (`PAGE_WITHOUT_SCRIPTS`). */
export function sendPageWithoutScripts(res: Response, html: string, status = 200): void {
  res.status(status).set('Content-Security-Policy', PAGE_WITHOUT_SCRIPTS).type('text/html; charset=utf-8').send(html);
}

/** The admin console's pages and its login: inline scripts and styles, data and forms from the gateway only. */
export const CONSOLE_PAGE =
  "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'";

/** The follow-up dashboard: its inline script and the chart library served by the gateway (`/…/assets`). */
export const DASHBOARD_PAGE_POLICY =
  "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'";

/**
 * Bull Board: its scripts and styles come from the gateway. Its page links a stylesheet on fonts.googleapis.com, a
 * request from the admin's workstation to a third party naming the board's address (Referer): src/admin/queues-board.ts
 * leaves the link out (no error in the browser's console), and this policy would refuse it; the board draws in the
 * browser's sans-serif font.
 */
export const QUEUES_BOARD =
  "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; frame-ancestors 'none'";
