// Shared by `npm start` and `npm test`: make sure a `redis-server` binary is there. When it is missing, install it
// from Debian's packages if we are root (or have passwordless sudo); otherwise return one line saying how.
import { spawnSync } from 'node:child_process';

export const hasRedisServer = () => spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;

/** Returns undefined when redis-server is (now) installed, else one line for the user. */
export function ensureRedisServer() {
  if (hasRedisServer()) return undefined;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const sudo = !isRoot && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
  if (!isRoot && !sudo) {
    return 'redis-server not found: install it with `sudo apt-get install -y redis-server` or set REDIS_URL to a running Redis';
  }
  const apt = (args) =>
    spawnSync(isRoot ? 'apt-get' : 'sudo', isRoot ? args : ['-n', 'apt-get', ...args], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  console.error('redis-server not found: installing it with apt-get ...');
  if (apt(['update']).status !== 0 || apt(['install', '-y', 'redis-server']).status !== 0 || !hasRedisServer()) {
    return 'Installing redis-server failed: run `apt-get install -y redis-server` yourself or set REDIS_URL';
  }
  return undefined;
}
