// Shared by `npm start` and `npm test`: make sure a Debian package's program is there (redis-server; Chromium for
// the browser tests). When it is missing, install it from Debian's packages if we are root (or have passwordless
// sudo); otherwise return one line saying how.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

export const hasRedisServer = () => spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;

/** Installs Debian packages with apt-get as root or with passwordless sudo; false when that is not possible or fails. */
function aptInstall(packages) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const sudo = !isRoot && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
  if (!isRoot && !sudo) return false;
  const apt = (args) =>
    spawnSync(isRoot ? 'apt-get' : 'sudo', isRoot ? args : ['-n', 'apt-get', ...args], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  return apt(['update']).status === 0 && apt(['install', '-y', ...packages]).status === 0;
}

/** Returns undefined when redis-server is (now) installed, else one line for the user. */
export function ensureRedisServer() {
  if (hasRedisServer()) return undefined;
  console.error('redis-server not found: installing it with apt-get ...');
  if (!aptInstall(['redis-server']) || !hasRedisServer()) {
    return 'redis-server not found and not installable here: run `sudo apt-get install -y redis-server` or set REDIS_URL to a running Redis';
  }
  return undefined;
}

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Returns undefined when Chromium is (now) installed, else one line for the user (the browser tests then skip). */
export function ensureChromium() {
  if (existsSync(CHROMIUM_PATH)) return undefined;
  console.error(`${CHROMIUM_PATH} not found: installing Debian's chromium for the browser tests ...`);
  if (!aptInstall(['chromium']) || !existsSync(CHROMIUM_PATH)) {
    return `Chromium not found at ${CHROMIUM_PATH}: the browser tests are skipped; install it with \`sudo apt-get install -y chromium\` or set CHROMIUM_PATH`;
  }
  return undefined;
}
