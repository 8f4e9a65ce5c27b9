// PROXY_TARGET and RECORD in the Node host, as installed from the packed tarball: a record and
// replay session through a second mock process, the target's failures (a closed port, silence,
// 100 MiB, a redirect, a 5xx, a 101), targets that are not paths, the mock's own token, and the
// bytes and headers that cross as they came. Each test starts its own servers on 127.0.0.1 and
// stops them by PID.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.join(here, 'node_modules', '.bin', 'mock-rest-api');
const cleanEnv = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(PORT|HOST|RUN_LOCAL|FIXTURES|WATCH|RULES|DATA_FILE|PROXY_TARGET|PROXY_TIMEOUT_MS|RECORD|MAX_BODY_BYTES|API_TOKEN|DELAY_MS)$/.test(k)),
);

/** Starts the command; resolves once it logs `listening on URL`, with {child, base, stop()}. */
function start(args, env = {}) {
    const child = spawn(bin, ['--host', '127.0.0.1', '--port', '0', ...args], {
        env: { ...cleanEnv, ...env },
        stdio: ['ignore', 'ignore', 'pipe'],
    });
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
            const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(log);
            if (m) {
                clearTimeout(timer);
                resolve({
                    child,
                    base: m[1],
                    async stop() {
                        if (child.exitCode !== null) return;
                        const exited = new Promise((r) => child.once('exit', r));
                        process.kill(child.pid, 'SIGTERM');
                        await exited;
                    },
                });
            }
        });
    });
}

const auth = { authorization: 'Bearer upstream-secret' };

async function call(base, method, target, body) {
    const response = await fetch(base + target, { method, headers: auth, body, redirect: 'manual' });
    return { status: response.status, headers: response.headers, text: await response.text() };
}

test('a recorded session replays offline from the exports', async () => {
    const upstream = await start([]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mock-rest-node-proxy-'));
    let recorder;
    let offline;
    try {
        const created = await call(upstream.base, 'POST', '/api/orders', '[{"item":"pen","qty":2},{"item":"ink","qty":1.50}]');
        assert.equal(created.status, 200);
        const [first, second] = JSON.parse(created.text);
        recorder = await start([], { PROXY_TARGET: upstream.base, RECORD: '1' });
        const session = [
            ['GET', '/api/orders'],
            ['GET', `/api/orders/${first._id}`],
            ['POST', '/api/customers', '{"name":"Ada"}'],
            ['GET', '/api/nothing/here'],
        ];
        const recorded = [];
        for (const [method, target, body] of session) {
            const live = await call(recorder.base, method, target, body);
            assert.ok(live.headers.get('x-mock-recorded'), `${method} ${target}: ${live.headers.get('x-mock-not-recorded')}`);
            recorded.push(live);
        }
        assert.equal(recorded[3].status, 404, "the target's 404 comes back as it is");
        const customers = JSON.parse((await call(upstream.base, 'GET', '/api/customers')).text);
        assert.equal(customers.length, 1, 'the target answered the POST');
        const journal = (await call(recorder.base, 'GET', '/__admin/requests')).text;
        assert.ok(journal.includes(`"proxied":"${upstream.base}"`), journal);
        const rules = (await call(recorder.base, 'GET', '/__admin/rules')).text;
        const snapshot = (await call(recorder.base, 'GET', '/__admin/snapshot')).text;
        assert.ok(!rules.includes('upstream-secret') && !journal.includes('upstream-secret'));

        await upstream.stop();
        const gone = await call(recorder.base, 'GET', '/api/orders/elsewhere');
        assert.equal(gone.status, 502);
        assert.match(JSON.parse(gone.text).message, new RegExp(`^The proxy target ${upstream.base} cannot be reached: `));
        await recorder.stop();

        fs.writeFileSync(path.join(dir, 'rules.json'), rules);
        fs.writeFileSync(path.join(dir, 'snapshot.json'), snapshot);
        offline = await start(['--fixtures', path.join(dir, 'snapshot.json'), '--rules', path.join(dir, 'rules.json')]);
        for (const [n, [method, target, body]] of session.entries()) {
            const replayed = await call(offline.base, method, target, body);
            assert.deepEqual([replayed.status, replayed.text], [recorded[n].status, recorded[n].text], `${method} ${target}`);
        }
        const item = await call(offline.base, 'GET', `/api/orders/${second._id}`);
        assert.equal(item.status, 200, 'the list put its items into the store');
        assert.match(item.text, /"qty":1.50/);
    } finally {
        await upstream.stop();
        await recorder?.stop();
        await offline?.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

/** The peak resident memory of a process, in KiB (VmHWM). */
function peakKib(pid) {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+) kB/.exec(status)[1]);
}

test("the target's failures are defined answers", async () => {
    const target = http.createServer((req, res) => {
        res.on('error', () => {});
        if (req.url === '/slow') return; // never answers
        if (req.url === '/big') {
            res.writeHead(200, { 'content-type': 'text/plain' });
            const chunk = Buffer.alloc(64 * 1024, 'x');
            let left = 1600; // 100 MiB, or until the mock hangs up
            const pump = () => {
                while (left > 0 && !res.destroyed) {
                    left--;
                    if (!res.write(chunk)) return res.once('drain', pump);
                }
                res.end();
            };
            return pump();
        }
        if (req.url === '/redirect') {
            res.writeHead(302, { location: '/elsewhere' });
            return res.end();
        }
        res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '7' });
        res.end('{"down":true}');
    });
    await new Promise((r) => target.listen(0, '127.0.0.1', r));
    const targetBase = `http://127.0.0.1:${target.address().port}`;
    const mock = await start([], { PROXY_TARGET: targetBase, PROXY_TIMEOUT_MS: '300' });
    try {
        const slow = await call(mock.base, 'GET', '/slow');
        assert.equal(slow.status, 504);
        assert.ok(JSON.parse(slow.text).message.includes(`${targetBase} did not answer within 300 ms`), slow.text);

        const before = peakKib(mock.child.pid);
        const big = await call(mock.base, 'GET', '/big');
        assert.equal(big.status, 502);
        assert.ok(JSON.parse(big.text).message.includes('over 1048576 bytes (MAX_BODY_BYTES)'), big.text);
        const after = peakKib(mock.child.pid);
        assert.ok(after < before + 64 * 1024, `100 MiB from the target raised the peak from ${before} KiB to ${after} KiB`);

        const redirect = await call(mock.base, 'GET', '/redirect');
        assert.deepEqual([redirect.status, redirect.headers.get('location')], [302, '/elsewhere'], 'passed back, not followed');
        const down = await call(mock.base, 'GET', '/down');
        assert.deepEqual([down.status, down.text, down.headers.get('retry-after')], [503, '{"down":true}', '7']);
        assert.equal((await call(mock.base, 'GET', '/health')).status, 200, 'the mock’s own paths stay local');
    } finally {
        await mock.stop();
        target.closeAllConnections();
        target.close();
    }
});

test('a closed port is 502 naming the target; a target that is not an http URL stops the start', async () => {
    const closed = await new Promise((resolve) => {
        const probe = net.createServer().listen(0, '127.0.0.1', () => {
            const { port } = probe.address();
            probe.close(() => resolve(`http://127.0.0.1:${port}`));
        });
    });
    const mock = await start([], { PROXY_TARGET: closed });
    try {
        const answer = await call(mock.base, 'POST', '/api/orders', '{}');
        assert.equal(answer.status, 502);
        assert.match(JSON.parse(answer.text).message, new RegExp(`^The proxy target ${closed} cannot be reached: `));
    } finally {
        await mock.stop();
    }
    await assert.rejects(start([], { PROXY_TARGET: 'localhost:8080' }), /PROXY_TARGET=localhost:8080: not an absolute URL/);
});

/**
 * A raw target on 127.0.0.1 that keeps the head of each request and answers by path: `/gzip` with
 * a gzip body (and its Content-Encoding), `/socket` with a 101 it was never asked for (the
 * connection then stays open), anything else with the head it got, as JSON.
 */
async function recordingTarget() {
    const heads = [];
    const server = net.createServer((socket) => {
        let pending = Buffer.alloc(0);
        socket.on('error', () => {});
        socket.on('data', (data) => {
            pending = Buffer.concat([pending, data]);
            for (;;) {
                const end = pending.indexOf('\r\n\r\n');
                if (end < 0) return;
                const head = pending.subarray(0, end + 2).toString('latin1');
                const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
                if (pending.length < end + 4 + length) return;
                pending = pending.subarray(end + 4 + length);
                heads.push(head);
                const target = head.split(' ')[1];
                if (target === '/gzip') {
                    const body = zlib.gzipSync('{"a":1}');
                    socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: ${body.length}\r\n\r\n`);
                    socket.write(body);
                } else if (target === '/socket') {
                    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
                } else {
                    const body = JSON.stringify({ head });
                    socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
                }
            }
        });
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    return { base: `http://127.0.0.1:${server.address().port}`, heads, close: () => server.close() };
}

/** Sends raw bytes to the mock on a new connection; resolves to all it sent until it closed. */
function raw(base, bytes) {
    return new Promise((resolve, reject) => {
        const url = new URL(base);
        const socket = net.connect(Number(url.port), url.hostname);
        const chunks = [];
        const timer = setTimeout(() => {
            socket.destroy();
            resolve(Buffer.concat(chunks));
        }, 10000);
        socket.on('data', (data) => chunks.push(data));
        socket.on('close', () => {
            clearTimeout(timer);
            resolve(Buffer.concat(chunks));
        });
        socket.on('error', reject);
        socket.write(bytes);
    });
}

test("the target stays the target, gets no mock token and no header the client did not send; its bytes and its 101 are handled", async () => {
    const target = await recordingTarget();
    const mock = await start([], { PROXY_TARGET: target.base, API_TOKEN: 'mock-token', AUTH_SCOPE: 'writes' });
    try {
        // `*` is not a path: 400, and nothing is sent anywhere.
        const star = (await raw(mock.base, 'GET * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toString('latin1');
        assert.match(star, /^HTTP\/1\.1 400 /);
        assert.ok(star.endsWith('{"message":"The request target `*` is not a path: send a path that starts with `/`, such as /api/persons."}'), star);
        // An absolute URI goes to the target, as its path.
        const absolute = (await raw(mock.base, 'GET http://127.0.0.1:1/v1/x?y=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toString('latin1');
        assert.match(absolute, /^HTTP\/1\.1 200 /);
        assert.equal(target.heads.length, 1, target.heads.join('\n'));
        assert.match(target.heads[0], /^GET \/v1\/x\?y=1 HTTP\/1\.1\r\n/);

        // The mock's own token is not sent on; the client's headers are, and nothing else.
        const write = await raw(
            mock.base,
            'POST /orders?access_token=mock-token&x=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer mock-token\r\nX-Mine: 1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}',
        );
        assert.match(write.toString('latin1'), /^HTTP\/1\.1 200 /);
        const read = await raw(mock.base, 'GET /orders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer theirs\r\nConnection: close\r\n\r\n');
        assert.match(read.toString('latin1'), /^HTTP\/1\.1 200 /);
        const [posted, got] = target.heads.slice(1);
        assert.match(posted, /^POST \/orders\?x=1 HTTP\/1\.1\r\n/);
        assert.ok(!posted.includes('mock-token'), posted);
        const names = (head) =>
            head
                .split('\r\n')
                .slice(1, -1)
                .map((line) => line.split(':')[0].toLowerCase())
                .sort();
        assert.deepEqual(names(posted), ['connection', 'content-length', 'host', 'x-mine']);
        assert.deepEqual(names(got), ['authorization', 'connection', 'host']);
        assert.match(got, /\r\nauthorization: Bearer theirs\r\n/i);

        // A gzip body comes back as the target sent it, with its Content-Encoding.
        const gzip = await raw(mock.base, 'GET /gzip HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
        const split = gzip.indexOf('\r\n\r\n');
        assert.match(gzip.subarray(0, split).toString('latin1'), /\r\ncontent-encoding: gzip\r\n/i);
        assert.equal(zlib.gunzipSync(gzip.subarray(split + 4)).toString(), '{"a":1}');

        // A 101 no one asked for is 502 naming the target, and the next pipelined request is answered.
        const pipelined = (
            await raw(mock.base, 'GET /socket HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        ).toString('latin1');
        assert.match(pipelined, /^HTTP\/1\.1 502 /);
        assert.ok(
            pipelined.includes(`The proxy target ${target.base} answered 101 Switching Protocols, an interim answer the request did not ask for; it was not passed on.`),
            pipelined,
        );
        assert.match(pipelined, /\r\n\r\n\{"message":[^}]*\}HTTP\/1\.1 200 OK\r\n/);
    } finally {
        await mock.stop();
        target.close();
    }
});
