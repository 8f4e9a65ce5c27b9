// Runs json-server 0.17 (pinned in bench/package-lock.json) and this mock on the same db.json (json-server's
// README example, tests/cases/fixtures/json-server-db.json), sends both the same requests in the same order,
// and compares their answers: the status, the body as JSON values (key order and whitespace aside) and the
// Location header's path. A request whose answers differ must be listed below with the phrase of the
// migration guide (docs/json-server.md) that names the difference, and the guide must hold that phrase;
// a listed request whose answers agree fails too, so that the list stays true.
//
//   node tests/json-server/compare.mjs MOCK_BINARY JSON_SERVER_BIN
//
// Both servers bind free ports of 127.0.0.1 and are stopped by their PIDs.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const [mockBin, jsonServerBin] = process.argv.slice(2);
if (!mockBin || !jsonServerBin) {
    console.error('usage: node tests/json-server/compare.mjs MOCK_BINARY JSON_SERVER_BIN');
    process.exit(2);
}
const guide = readFileSync(join(root, 'docs', 'json-server.md'), 'utf8');

// [method, path, body, the guide's phrase for a difference (or none)]
const REQUESTS = [
    ['GET', '/posts'],
    ['GET', '/posts/1'],
    ['GET', '/comments'],
    ['GET', '/profile'],
    ['GET', '/posts/1/comments'],
    ['GET', '/posts?_embed=comments'],
    ['GET', '/posts/1?_embed=comments'],
    ['GET', '/comments?_expand=post'],
    ['GET', '/comments/1?_expand=post'],
    ['GET', '/posts?title=json-server'],
    ['GET', '/posts?q=typicode'],
    ['GET', '/posts?title_like=SERV'],
    ['GET', '/comments?postId=1'],
    ['POST', '/posts', { title: 'second', author: 'me' }],
    ['POST', '/posts', { id: 10, title: 'tenth' }],
    ['POST', '/posts', { title: 'eleventh' }],
    ['POST', '/posts/10/comments', { body: 'nested' }, '`POST /posts/1/comments` stores `"postId": "1"`'],
    ['GET', '/posts?_sort=title&_order=desc'],
    ['GET', '/posts?id_gte=10'],
    ['GET', '/posts?_page=2&_limit=2'],
    ['GET', '/posts?_start=1&_end=3'],
    ['PUT', '/posts/2', { id: 99, title: 'replaced' }],
    ['PATCH', '/posts/2', { author: 'patched' }],
    ['GET', '/posts/2'],
    ['PUT', '/profile', { name: 'someone' }],
    ['PATCH', '/profile', { age: 3 }],
    ['GET', '/profile'],
    ['GET', '/posts/99', undefined, 'Errors are `{}` (`404`)'],
    ['PUT', '/posts/99', { title: 'x' }, 'Errors are `{}` (`404`)'],
    ['POST', '/posts', { id: 2, title: 'again' }, 'A POST of an id that exists is `500`'],
    ['GET', '/posts?_foo=1', undefined, 'An unknown `_` parameter (`?_foo=1`) is ignored.'],
    ['POST', '/profile', { name: 'posted' }, '`POST /profile` replaces the singular resource (`201`)'],
    ['DELETE', '/profile', undefined, '`DELETE /profile` is `404`'],
    ['POST', '/fresh', { a: 1 }, 'A POST to a type that is not in the file is `404`.'],
    ['DELETE', '/posts/10', undefined, '`DELETE /posts/1` answers `{}` and also deletes the comments'],
    ['GET', '/comments', undefined, '`DELETE /posts/1` answers `{}` and also deletes the comments'],
    ['GET', '/posts'],
    ['DELETE', '/posts', undefined, '`DELETE /posts` is `404`.'],
];

function freePort() {
    return new Promise((resolve, reject) => {
        const server = createServer();
        server.unref();
        server.on('error', reject);
        server.listen(0, '127.0.0.1', () => {
            const { port } = server.address();
            server.close(() => resolve(port));
        });
    });
}

async function waitFor(url) {
    for (let tries = 0; tries < 200; tries++) {
        try {
            await fetch(url);
            return;
        } catch {
            await new Promise((done) => setTimeout(done, 50));
        }
    }
    throw new Error(`${url} did not answer`);
}

function start(command, args, env, stderr) {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', stderr] });
    child.exited = new Promise((done) => child.on('exit', done));
    return child;
}

async function send(base, [method, path, body]) {
    const init = { method, headers: {} };
    if (body !== undefined) {
        init.body = JSON.stringify(body);
        init.headers['content-type'] = 'application/json';
    }
    const response = await fetch(base + path, init);
    const text = await response.text();
    let json;
    try {
        json = text === '' ? null : JSON.parse(text);
    } catch {
        json = `(not JSON) ${text.slice(0, 60)}`;
    }
    const location = response.headers.get('location');
    return { status: response.status, json, location: location && new URL(location, base).pathname };
}

/** JSON values compared with objects' keys in any order (the guide's first difference). */
function same(a, b) {
    if (Array.isArray(a) || Array.isArray(b)) {
        return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, n) => same(x, b[n]));
    }
    if (a && b && typeof a === 'object' && typeof b === 'object') {
        const keys = Object.keys(a);
        return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && same(a[k], b[k]));
    }
    return a === b;
}

const dir = mkdtempSync(join(tmpdir(), 'json-server-compare-'));
const children = [];
let failures = 0;
try {
    const fixture = join(root, 'tests', 'cases', 'fixtures', 'json-server-db.json');
    // Each server gets its own copy: json-server writes its file back.
    copyFileSync(fixture, join(dir, 'theirs.json'));
    copyFileSync(fixture, join(dir, 'ours.json'));
    const [theirPort, ourPort] = [await freePort(), await freePort()];
    // json-server prints a stack trace for its 500s; this script prints what differs instead.
    children.push(
        start(jsonServerBin, ['--port', String(theirPort), '--host', '127.0.0.1', join(dir, 'theirs.json')], {}, 'ignore'),
    );
    children.push(
        start(mockBin, ['--host', '127.0.0.1', '--port', String(ourPort)], {
            ID_FIELD: 'id',
            API_PREFIX: '/',
            CREATE_STATUS: '201',
            DATA_FILE: join(dir, 'ours.json'),
            RUST_LOG: 'warn',
        }, 'inherit'),
    );
    const theirs = `http://127.0.0.1:${theirPort}`;
    const ours = `http://127.0.0.1:${ourPort}`;
    await Promise.all([waitFor(`${theirs}/db`), waitFor(`${ours}/health`)]);
    for (const request of REQUESTS) {
        const [method, path, , listed] = request;
        const [a, b] = [await send(theirs, request), await send(ours, request)];
        const agree = a.status === b.status && same(a.json, b.json) && a.location === b.location;
        const shown = `${method} ${path}: json-server ${a.status} ${JSON.stringify(a.json)} ${a.location ?? ''}` +
            ` | mock ${b.status} ${JSON.stringify(b.json)} ${b.location ?? ''}`;
        if (listed && !guide.includes(listed)) {
            failures++;
            console.log(`FAIL ${method} ${path}: docs/json-server.md does not say "${listed}"`);
        } else if (agree && listed) {
            failures++;
            console.log(`FAIL (listed as a difference, but the answers agree) ${shown}`);
        } else if (!agree && !listed) {
            failures++;
            console.log(`FAIL (a difference the guide does not list) ${shown}`);
        } else {
            console.log(`ok   ${listed ? `differs as the guide says ("${listed}"): ` : ''}${shown}`);
        }
    }
} finally {
    for (const child of children) child.kill();
    // The mock compacts its data file as it stops: the folder goes once both have exited.
    await Promise.all(children.map((child) => (child.exitCode === null ? child.exited : null)));
    rmSync(dir, { recursive: true, force: true });
}
console.log(failures === 0 ? `json-server comparison: all ${REQUESTS.length} requests as the guide says` : `json-server comparison: ${failures} failures`);
process.exit(failures === 0 ? 0 : 1);
