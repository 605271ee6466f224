import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A folder shipped beside package.json (agreements/, mappings/, profiles/), found from the calling module's
 * URL by walking up to the directory holding package.json. The same call works from the sources
 * (`src/mapping/profile.ts`), from the bundle (`dist/main.js`) and in the image (`/app/dist/main.js`).
 */
export function projectDir(name: string, moduleUrl: string): string {
  let dir = path.dirname(fileURLToPath(moduleUrl));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return path.join(dir, name);
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${fileURLToPath(moduleUrl)}: cannot find ${name}/`);
    dir = up;
  }
}
