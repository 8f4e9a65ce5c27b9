// The Node server's connections and request bodies over raw sockets, held to the native server's
// promises (native/tests/connections.rs, scripts/slow_clients.py): a request head that trickles in
// is cut, 1,100 trickling connections do not lock out a new client, an idle connection is closed,
// a body that stops arriving gets a JSON 408, and an endless body is cut with a 413. Each test
// starts its own server on a free port of 127.0.0.1 and stops it by its PID.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.join(here, 'node_modules', '.bin', 'mock-rest-api');
const cleanEnv = Object.fromEntries(
    Object.entries(process.env).filter(
        ([k]) => !/^(PORT|HOST|RUN_LOCAL|FIXTURES|WATCH|RULES|DATA_FILE|MAX_CONNECTIONS|IDLE_TIMEOUT_SECS|HEADER_TIMEOUT_SECS|BODY_TIMEOUT_SECS|MAX_BODY_BYTES|DELAY_MS|API_TOKEN|CORS_ORIGINS)$/.test(k),
    ),
);

/** Starts the command; resolves once it logs `listening on URL`, with {child, port, stop()}. */
function start(env = {}) {
    const child = spawn(bin, ['--host', '127.0.0.1', '--port', '0'], { env: { ...cleanEnv, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr.setEncoding('utf8');
    return new Promise((resolve, reject) => {
        // A bound on a hang, not a timing check.
        const timer = setTimeout(() => reject(new Error(`not listening within 20 s; log:\n${log}`)), 20000);
        child.once('exit', (code) => {
            clearTimeout(timer);
            reject(new Error(`exited (${code}); log:\n${log}`));
        });
        child.stderr.on('data', (text) => {
            log += text;
            const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(log);
            if (m) {
                clearTimeout(timer);
                resolve({
                    child,
                    port: Number(m[1]),
                    /** SIGTERM, and SIGKILL if it has not exited 5 s later (a test that failed may hold a connection open). */
                    async stop() {
                        if (child.exitCode !== null) return;
                        const exited = new Promise((r) => child.once('exit', r));
                        process.kill(child.pid, 'SIGTERM');
                        if ((await within(exited, 5000, 'running')) === 'running') {
                            process.kill(child.pid, 'SIGKILL');
                            await exited;
                        }
                    },
                });
            }
        });
    });
}

/**
 * A raw connection: `received()` is what the server sent so far, `closed` resolves (with the
 * milliseconds it was open) once the server closes it or it breaks.
 */
function connect(port) {
    return new Promise((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1');
        const opened = performance.now();
        let received = '';
        socket.setEncoding('latin1');
        socket.on('data', (text) => {
            received += text;
        });
        const closed = new Promise((done) => {
            socket.on('close', () => done(performance.now() - opened));
        });
        socket.on('error', () => {});
        socket.once('connect', () => resolve({ socket, closed, received: () => received }));
        socket.once('error', reject);
    });
}

/** Resolves to `promise`'s value, or to `fallback` after `ms`. */
function within(promise, ms, fallback = null) {
    return Promise.race([promise, sleep(ms).then(() => fallback)]);
}

/** `GET /health` on a new connection: its status line, or null when none came within `ms`. */
async function probe(port, ms = 3000) {
    const client = await connect(port);
    client.socket.write('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await within(client.closed, ms);
    client.socket.destroy();
    const line = client.received().split('\r\n')[0];
    return line === '' ? null : line;
}

test('a request head that trickles in is cut at HEADER_TIMEOUT_SECS, with no answer', async () => {
    const server = await start({ HEADER_TIMEOUT_SECS: '1' });
    const client = await connect(server.port);
    const head = 'GET /health HTTP/1.1\r\nX-Slow: ';
    let sent = 0;
    const trickle = setInterval(() => {
        if (!client.socket.destroyed) client.socket.write(head[sent++ % head.length]);
    }, 200);
    try {
        const held = await within(client.closed, 15000);
        assert.ok(held !== null, 'a 15 s request head was read on');
        assert.ok(held < 5000, `held ${held} ms`);
        assert.equal(client.received(), '', 'no answer');
    } finally {
        clearInterval(trickle);
        client.socket.destroy();
        await server.stop();
    }
});

test('1,100 trickling connections do not lock out a new client, and each is cut', async () => {
    const server = await start({ HEADER_TIMEOUT_SECS: '2', MAX_CONNECTIONS: '1000' });
    const slow = [];
    try {
        for (let n = 0; n < 1100; n++) {
            const client = await connect(server.port);
            client.socket.write('GET /health HTTP/1.1\r\nHost: soak\r\nX-Slow: ');
            slow.push(client);
        }
        const trickle = setInterval(() => {
            for (const { socket } of slow) if (!socket.destroyed) socket.write('a');
        }, 500);
        try {
            // Past MAX_CONNECTIONS the oldest that have no request in flight made room.
            await sleep(500);
            const closedEarly = (await Promise.all(slow.map((c) => within(c.closed, 0)))).filter((ms) => ms !== null);
            assert.ok(closedEarly.length >= 100, `${closedEarly.length} of 1,100 closed to keep 1,000`);
            // A new client is answered at once, again and again, while they trickle.
            for (let n = 0; n < 5; n++) {
                const started = performance.now();
                assert.equal(await probe(server.port), 'HTTP/1.1 200 OK', `probe ${n}`);
                assert.ok(performance.now() - started < 2000, `probe ${n} took ${performance.now() - started} ms`);
                await sleep(300);
            }
            // Each trickle is cut by the header timeout (2 s, checked every second), unanswered.
            const held = await within(Promise.all(slow.map((c) => c.closed)), 10000);
            assert.ok(held !== null, 'trickling connections still open 10 s after they started');
            assert.ok(slow.every((c) => c.received() === ''), 'a trickle got an answer');
        } finally {
            clearInterval(trickle);
        }
    } finally {
        for (const { socket } of slow) socket.destroy();
        await server.stop();
    }
});

test('an idle connection is closed at IDLE_TIMEOUT_SECS, a kept-alive one too', async () => {
    const server = await start({ IDLE_TIMEOUT_SECS: '1', HEADER_TIMEOUT_SECS: '30' });
    const clients = [];
    try {
        const silent = await connect(server.port);
        clients.push(silent);
        const held = await within(silent.closed, 15000);
        assert.ok(held !== null && held < 5000, `a silent connection held ${held} ms`);
        const kept = await connect(server.port);
        clients.push(kept);
        kept.socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
        const keptFor = await within(kept.closed, 15000);
        assert.match(kept.received(), /^HTTP\/1\.1 200 OK/);
        assert.ok(keptFor !== null && keptFor < 5000, `a kept-alive connection held ${keptFor} ms`);
    } finally {
        for (const { socket } of clients) socket.destroy();
        await server.stop();
    }
});

test('a body that stops arriving gets a JSON 408 at BODY_TIMEOUT_SECS and changes nothing', async () => {
    const server = await start({ BODY_TIMEOUT_SECS: '1', CORS_ORIGINS: 'http://localhost:3000' });
    const client = await connect(server.port);
    try {
        client.socket.write('POST /api/slow HTTP/1.1\r\nHost: x\r\nOrigin: http://localhost:3000\r\nContent-Length: 100\r\n\r\n{"a":');
        const held = await within(client.closed, 15000);
        assert.ok(held !== null && held < 5000, `held ${held} ms`);
        const answer = client.received();
        assert.match(answer, /^HTTP\/1\.1 408 /);
        assert.match(answer, /\r\naccess-control-allow-origin: http:\/\/localhost:3000\r\n/i);
        assert.ok(answer.endsWith('{"message":"The request took too long to arrive."}'), answer);
        const list = await fetch(`http://127.0.0.1:${server.port}/api/slow`);
        assert.equal(await list.text(), '[]');
    } finally {
        client.socket.destroy();
        await server.stop();
    }
});

test('an endless body is cut with a 413 past the drain bound, and its connection closed', async () => {
    const server = await start({});
    const clients = [];
    try {
        // Declared past the limit and the drain bound (1 MiB + 32 MiB): refused before it is read.
        const declared = await connect(server.port);
        clients.push(declared);
        declared.socket.write('POST /api/big HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n');
        assert.ok((await within(declared.closed, 15000)) !== null, 'still open');
        assert.match(declared.received(), /^HTTP\/1\.1 413 /);
        assert.ok(declared.received().endsWith('{"message":"The request body is larger than the limit of 1048576 bytes."}'));

        // Chunked and endless: read and dropped up to the drain bound, then cut.
        const endless = await connect(server.port);
        clients.push(endless);
        endless.socket.write('POST /api/big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
        const chunk = Buffer.concat([Buffer.from('10000\r\n'), Buffer.alloc(0x10000, 'x'), Buffer.from('\r\n')]);
        let sent = 0;
        let open = true;
        endless.closed.then(() => {
            open = false;
        });
        while (open && sent < 200 * 1024 * 1024) {
            if (!endless.socket.write(chunk)) {
                await within(new Promise((r) => endless.socket.once('drain', r)), 1000);
            }
            sent += chunk.length;
        }
        assert.ok((await within(endless.closed, 15000)) !== null, `still open after ${sent} bytes`);
        assert.ok(sent < 64 * 1024 * 1024, `the server read ${sent} bytes before it closed the connection`);
        assert.match(endless.received(), /^HTTP\/1\.1 413 /);
        assert.equal(await probe(server.port), 'HTTP/1.1 200 OK');
    } finally {
        for (const { socket } of clients) socket.destroy();
        await server.stop();
    }
});

test('connection settings that cannot work stop the start, naming them', async () => {
    for (const [env, words] of [
        [{ IDLE_TIMEOUT_SECS: '5', DELAY_MS: '5000' }, 'IDLE_TIMEOUT_SECS (5 s) must be longer than DELAY_MS (5000 ms)'],
        [{ HEADER_TIMEOUT_SECS: '0' }, 'HEADER_TIMEOUT_SECS=0: a whole number from 1 to 3600'],
        [{ MAX_CONNECTIONS: 'many' }, 'MAX_CONNECTIONS=many: a whole number'],
    ]) {
        await assert.rejects(start(env), (err) => err.message.includes(words) && err.message.includes('exited (2)'), JSON.stringify(env));
    }
});
