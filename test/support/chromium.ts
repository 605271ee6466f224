/**
 * Where the browser tests find Debian's Chromium (`CHROMIUM_PATH`, default /usr/bin/chromium). `npm test` installs
 * it when missing and permitted; when it is still missing the browser tests skip, unless REQUIRE_BROWSER=1 (CI),
 * where they fail.
 */
import { existsSync } from 'node:fs';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const skipBrowser = !existsSync(CHROMIUM) && process.env.REQUIRE_BROWSER !== '1';
