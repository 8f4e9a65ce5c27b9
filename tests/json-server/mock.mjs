// What compare.mjs and own-tests.mjs share: the mock started on port 0 of 127.0.0.1 (it logs the port
// it got), stopped by its PID, and JSON values compared as json-server's answers are (objects' keys in any
// order: Node's own deep equality, which ignores the order of keys but not of array elements).
import { spawn } from 'node:child_process';
import { isDeepStrictEqual } from 'node:util';

/** Two JSON values equal, objects' keys in any order. */
export const same = isDeepStrictEqual;

/**
 * Spawns the mock binary `bin` with `args` on port 0 of 127.0.0.1. Returns the child at once (so that the
 * caller can stop it whatever happens next) with `child.listening`, which resolves to its base URL from
 * its `listening on` line. Its warnings and errors are shown; `child.said()` is the last 8 KiB it wrote.
 */
export function spawnMock(bin, args) {
    // `info` for the `listening on` line, but not for each request's.
    const env = { ...process.env, RUST_LOG: 'warn,mock_rest_api=info,mock_rest_api::api=warn' };
    const child = spawn(bin, ['--host', '127.0.0.1', '--port', '0', ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let said = '';
    child.said = () => said;
    child.closed = new Promise((done) => child.on('close', done));
    child.listening = new Promise((resolve, reject) => {
        let text = '';
        child.stderr.on('data', (chunk) => {
            said = (said + chunk).slice(-8192);
            text += chunk;
            let end;
            while ((end = text.indexOf('\n')) >= 0) {
                const line = text.slice(0, end);
                text = text.slice(end + 1);
                const found = line.match(/listening on (http:\/\/127\.0\.0\.1:[1-9][0-9]*)/);
                if (found) resolve(found[1]);
                else if (!/\sINFO\s/.test(line)) process.stderr.write(`${line}\n`);
            }
        });
        child.on('close', () => reject(new Error(`mock-rest-api exited before it listened: ${said}`)));
        setTimeout(() => reject(new Error(`mock-rest-api did not listen within 30 s: ${said}`)), 30_000).unref();
    });
    return child;
}

/** Stops a child by its PID (when it still runs) and waits until its pipes are closed. */
export async function stop(child) {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGTERM');
    await child.closed;
}
