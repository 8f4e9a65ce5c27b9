// `npx mock-rest-api` and `npx mock-rest-api init DIR`, as installed from the packed tarball: each
// test starts its own server on a free port of 127.0.0.1 and stops it by its PID.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.join(here, 'node_modules', '.bin', 'mock-rest-api');
const packageDir = path.join(here, 'node_modules', 'mock-rest-api');
const fixtures = path.join(here, 'fixtures.json');
/** The environment without any setting the caller may have set. */
const cleanEnv = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(PORT|HOST|RUN_LOCAL|FIXTURES|WATCH|RULES|DATA_FILE|OPENAPI|SEED|OPENAPI_SEED_ITEMS|MAX_NAMESPACES|MAX_CONNECTIONS|IDLE_TIMEOUT_SECS|HEADER_TIMEOUT_SECS|BODY_TIMEOUT_SECS|MAX_RULES|MAX_STORE_BYTES|APP_NAME|APP_VERSION|API_TOKEN|AUTH_SCOPE|CORS_ORIGINS|DELAY_MS|JOURNAL_SIZE|MAX_BODY_BYTES|MAX_ITEMS|MAX_TYPES|MAX_URI_BYTES|MAX_SUBSCRIBERS|JSON_SERVER|ID_FIELD|API_PREFIX|CREATE_STATUS)$/.test(k)),
);

function scratch() {
    return fs.mkdtempSync(path.join(os.tmpdir(), 'mock-rest-node-test-'));
}

/** Starts the command; resolves once it logs `listening on URL`, with {child, base, log()}. */
function start(args, env = {}) {
    const child = spawn(bin, ['--host', '127.0.0.1', '--port', '0', ...args], {
        env: { ...cleanEnv, ...env },
        stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    const waiters = [];
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text) => {
        log += text;
        for (const w of [...waiters]) w();
    });
    const server = {
        child,
        log: () => log,
        /**
         * Resolves once the log matches `re`; rejects if the process exits first, or if nothing
         * matches within 20 s (a bound on a hang, not a timing check: the lines come in milliseconds).
         */
        waitFor(re) {
            return new Promise((resolve, reject) => {
                const timer = setTimeout(() => {
                    waiters.splice(waiters.indexOf(check), 1);
                    reject(new Error(`nothing matched ${re} within 20 s; log:\n${log}`));
                }, 20000);
                const check = () => {
                    const m = re.exec(log);
                    if (m) {
                        clearTimeout(timer);
                        waiters.splice(waiters.indexOf(check), 1);
                        resolve(m);
                    }
                };
                waiters.push(check);
                child.once('exit', (code) => {
                    clearTimeout(timer);
                    reject(new Error(`exited (${code}) before logging ${re}; log:\n${log}`));
                });
                check();
            });
        },
        async stop() {
            if (child.exitCode === null) {
                const exited = new Promise((resolve) => child.once('exit', resolve));
                process.kill(child.pid, 'SIGTERM');
                return exited;
            }
            return child.exitCode;
        },
    };
    return server.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/).then((m) => ({ ...server, base: m[1] }));
}

/** Runs the command to its end (for starts that must fail). */
function run(args, env = {}) {
    return spawnSync(bin, args, { env: { ...cleanEnv, ...env }, encoding: 'utf8', timeout: 30000 });
}

test('a positional FILE is the read-only seed, and the start log says so', async () => {
    const dir = scratch();
    const file = path.join(dir, 'db.json');
    fs.copyFileSync(fixtures, file);
    const before = fs.readFileSync(file, 'utf8');
    const server = await start([file], { APP_NAME: 'books-mock' });
    try {
        assert.match(server.log(), new RegExp(`fixtures: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, read only: it will not be written`));
        assert.match(server.log(), /books-mock \S+ listening on/);
        const books = await (await fetch(`${server.base}/api/books`)).json();
        assert.deepEqual(books.map((b) => b._id), ['b1', 'b2']);
        const posted = await fetch(`${server.base}/api/books`, { method: 'POST', body: '{"title":"Ubik"}' });
        assert.equal(posted.status, 200);
        assert.equal((await (await fetch(`${server.base}/api/books`)).json()).length, 3);
    } finally {
        assert.equal(await server.stop(), 0);
    }
    assert.equal(fs.readFileSync(file, 'utf8'), before);
});

test('a rule with fault "reset" drops the connection with no answer, and the next request is answered', async () => {
    const dir = scratch();
    const rules = path.join(dir, 'rules.json');
    fs.writeFileSync(rules, JSON.stringify([{ match: { path: '/api/payments' }, respond: { fault: 'reset' }, times: 1 }]));
    const server = await start(['--rules', rules]);
    try {
        // fetch rejects when the connection closes before any answer (undici: "fetch failed", "other side closed").
        await assert.rejects(fetch(`${server.base}/api/payments`), TypeError);
        const next = await fetch(`${server.base}/api/payments`);
        assert.equal(next.status, 200, 'times: 1 is used up');
        await server.waitFor(/GET \/api\/payments dropped/);
    } finally {
        await server.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

test('settings by flag and environment; a bad one stops the start naming it', async () => {
    const server = await start(['--app-name', 'by-flag', '--cors-origins=http://a.test'], { APP_VERSION: '9.9.9' });
    try {
        const health = await fetch(`${server.base}/health`);
        const text = await health.text();
        assert.match(text, /by-flag/);
        assert.match(text, /9\.9\.9/);
        const cors = await fetch(`${server.base}/api/x`, { headers: { origin: 'http://a.test' } });
        assert.equal(cors.headers.get('access-control-allow-origin'), 'http://a.test');
    } finally {
        await server.stop();
    }
    for (const [args, env, re] of [
        [['--delay-ms', 'soon'], {}, /DELAY_MS=soon: not a whole number/],
        [[], { MAX_ITEMS: '-1' }, /MAX_ITEMS=-1: not a whole number/],
        [['--port', '70000'], {}, /PORT=70000/],
        [['--host', 'example'], {}, /HOST=example/],
        [['--max-namespaces', '0'], {}, /MAX_NAMESPACES=0/],
        [['--nope'], {}, /unknown option `--nope`/],
        [['--fixtures', '/nonexistent/db.json'], {}, /FIXTURES=\/nonexistent\/db\.json: cannot be read/],
        [['--watch'], {}, /--watch\) needs a fixtures file/],
        [['--openapi', '/nonexistent/api.yaml'], {}, /OPENAPI=\/nonexistent\/api\.yaml: cannot be read/],
        [['--seed', '-1'], {}, /SEED=-1: not a whole number/],
    ]) {
        const result = run(args, env);
        assert.equal(result.status, 2, `${args} ${JSON.stringify(env)}: ${result.stderr}`);
        assert.match(result.stderr, re);
    }
    const badSeed = path.join(scratch(), 'bad.json');
    fs.writeFileSync(badSeed, '{"books": 1}');
    const result = run([badSeed]);
    assert.equal(result.status, 2);
    assert.match(result.stderr, new RegExp(`FIXTURES=${badSeed.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: The seed is not valid`));
    const badDocument = path.join(scratch(), 'api.yaml');
    fs.writeFileSync(badDocument, 'openapi: 3.0.3\ninfo: {title: t, version: "1"}\npaths:\n  /a:\n    get:\n      responses:\n        "200": {$ref: "#/nowhere"}\n');
    const refused = run(['--openapi', badDocument]);
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, new RegExp(`OPENAPI=${badDocument.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: The OpenAPI document cannot be used: #/paths/~1a/get/responses/200`));
    const help = run(['--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--max-uri-bytes MAX_URI_BYTES \[MAX_URI_BYTES\]/);
    assert.match(help.stdout, /--watch/);
});

test('--openapi FILE serves the document\'s paths, with state', async () => {
    const file = path.join(scratch(), 'pets.json');
    fs.writeFileSync(file, JSON.stringify({
        swagger: '2.0',
        info: { title: 'pets', version: '1' },
        paths: {
            '/pets': {
                get: { responses: { 200: { description: 'pets', schema: { type: 'array', items: { $ref: '#/definitions/Pet' } } } } },
                post: { parameters: [{ name: 'pet', in: 'body', required: true, schema: { $ref: '#/definitions/Pet' } }], responses: { 201: { description: 'created', schema: { $ref: '#/definitions/Pet' } } } },
            },
        },
        definitions: { Pet: { type: 'object', required: ['name'], properties: { id: { type: 'integer' }, name: { type: 'string' } } } },
    }));
    const server = await start(['--openapi', file, '--openapi-seed-items', '0']);
    try {
        assert.match(server.log(), new RegExp(`openapi: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, its paths are served`));
        const created = await fetch(`${server.base}/pets`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"Rex"}' });
        assert.equal(created.status, 201);
        assert.deepEqual(await created.json(), { name: 'Rex', id: 1 });
        assert.deepEqual(await (await fetch(`${server.base}/pets`)).json(), [{ name: 'Rex', id: 1 }]);
        const invalid = await fetch(`${server.base}/pets`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":5}' });
        assert.equal(invalid.status, 422);
        assert.deepEqual((await invalid.json()).validation.map((v) => v.location), [['body', 'name']]);
        const text = await fetch(`${server.base}/pets`, { method: 'POST', body: '{"name":"Rex"}' });
        assert.equal(text.status, 415, 'fetch sends a string as text/plain, which the operation does not take');
        const document = await (await fetch(`${server.base}/openapi.json`)).json();
        assert.equal(document.swagger, '2.0');
    } finally {
        await server.stop();
    }
});

test('--watch loads a changed file whole, and keeps the running store on a bad one', async () => {
    const dir = scratch();
    const file = path.join(dir, 'db.json');
    fs.copyFileSync(fixtures, file);
    const server = await start(['--watch', file]);
    try {
        await server.waitFor(/watching/);
        const titles = async () => (await (await fetch(`${server.base}/api/books`)).json()).map((b) => b.title);
        assert.deepEqual(await titles(), ['Dune', 'Solaris']);
        fs.writeFileSync(file, JSON.stringify({ books: [{ _id: 'b9', title: 'Ubik' }] }));
        await server.waitFor(/--watch: loaded/);
        assert.deepEqual(await titles(), ['Ubik']);
        fs.writeFileSync(file, '{"books": [');
        await server.waitFor(/--watch: \S+ is not loaded: .*the running store is kept/);
        assert.deepEqual(await titles(), ['Ubik']);
    } finally {
        await server.stop();
    }
});

/** `text` as a regular expression that matches it literally. */
const literally = (text) => new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));

test('files past twice MAX_STORE_BYTES are not read, on start and on --watch', async () => {
    const dir = scratch();
    // 3 MiB of zeros (sparse: it costs no disk), past twice a MAX_STORE_BYTES of 1 MiB.
    const big = path.join(dir, 'big.json');
    fs.writeFileSync(big, '');
    fs.truncateSync(big, 3 << 20);
    const bound = 'larger than 2097152 bytes (twice MAX_STORE_BYTES), so it was not read; raise MAX_STORE_BYTES to read it';
    const env = { MAX_STORE_BYTES: '1048576' };
    for (const [args, named] of [
        // A file that never ends stops at the bound (one byte past it is read).
        [['--rules', '/dev/zero'], 'RULES=/dev/zero'],
        [['--fixtures', big], `FIXTURES=${big}`],
        [['--rules', big], `RULES=${big}`],
        [['--data', big], `DATA_FILE=${big}`],
    ]) {
        const result = run(args, env);
        assert.equal(result.status, 2, `${args}: ${result.stderr}`);
        assert.ok(result.stderr.includes(`${named}: ${bound}`), result.stderr);
    }
    const file = path.join(dir, 'db.json');
    fs.copyFileSync(fixtures, file);
    const server = await start(['--watch', file], env);
    try {
        await server.waitFor(/watching/);
        fs.truncateSync(file, 3 << 20);
        await server.waitFor(literally(`--watch: ${file} is ${bound}; the running store is kept`));
        const titles = (await (await fetch(`${server.base}/api/books`)).json()).map((b) => b.title);
        assert.deepEqual(titles, ['Dune', 'Solaris']);
    } finally {
        await server.stop();
    }
});

test('an access_token in a URL is not logged, and an anonymous homepage shows no request', async () => {
    const server = await start([], { API_TOKEN: 'tok-SECRET-123' });
    try {
        const statuses = [];
        for (const [method, target] of [
            ['GET', '/?access_token=tok-SECRET-123'],
            ['GET', '/api/secret-path?x=1&access%5Ftoken=tok-SECRET-123'],
            ['HEAD', '/__admin/events?access_token=tok-SECRET-123'],
        ]) {
            statuses.push((await fetch(server.base + target, { method })).status);
        }
        assert.deepEqual(statuses, [200, 401, 200]);
        await server.waitFor(/HEAD \/__admin\/events\?access_token=REDACTED 200 /);
        assert.match(server.log(), literally('GET /?access_token=REDACTED 200 '));
        assert.match(server.log(), literally('GET /api/secret-path?x=1&access%5Ftoken=REDACTED 401 '));
        assert.ok(!server.log().includes('tok-SECRET-123'), server.log());
        const page = await (await fetch(`${server.base}/`)).text();
        assert.ok(!page.includes('secret-path') && !page.includes('tok-SECRET-123'), page);
        assert.ok(page.includes('Shown only with the token'), page);
    } finally {
        await server.stop();
    }
});

test('namespaces: isolated stores, a bad name is 400, past MAX_NAMESPACES is 507', async () => {
    const server = await start([fixtures], { MAX_NAMESPACES: '2' });
    try {
        const post = (ns) => fetch(`${server.base}/api/books`, { method: 'POST', headers: { 'x-mock-namespace': ns }, body: '{"title":"x"}' });
        assert.equal((await post('a')).status, 200);
        const count = async (ns) => (await (await fetch(`${server.base}/api/books`, { headers: { 'x-mock-namespace': ns } })).json()).length;
        assert.equal(await count('a'), 3);
        assert.equal(await count(''), 2);
        const bad = await post('a/b');
        assert.equal(bad.status, 400);
        assert.match((await bad.json()).message, /X-Mock-Namespace/);
        const full = await post('c');
        assert.equal(full.status, 507);
        assert.equal(full.headers.get('access-control-allow-origin'), '*');
    } finally {
        await server.stop();
    }
});

test('--data is native-only: read once as the seed, never written, and the log says so', async () => {
    const dir = scratch();
    const file = path.join(dir, 'data.json');
    fs.copyFileSync(fixtures, file);
    const before = fs.readFileSync(file, 'utf8');
    const server = await start(['--data', file]);
    try {
        assert.match(server.log(), /durable data is native-only/);
        await fetch(`${server.base}/api/books`, { method: 'POST', body: '{"title":"x"}' });
        assert.equal((await (await fetch(`${server.base}/api/books`)).json()).length, 3);
    } finally {
        await server.stop();
    }
    assert.equal(fs.readFileSync(file, 'utf8'), before);
});

test('a request node:http cannot parse still gets a JSON 400', async () => {
    const net = await import('node:net');
    const server = await start([]);
    try {
        const { port } = new URL(server.base);
        const answer = await new Promise((resolve, reject) => {
            const socket = net.connect(Number(port), '127.0.0.1', () => socket.write('NOT A REQUEST\r\n\r\n'));
            let text = '';
            socket.on('data', (d) => (text += d));
            socket.on('end', () => resolve(text));
            socket.on('error', reject);
        });
        assert.match(answer, /^HTTP\/1\.1 400/);
        assert.match(answer, /content-type: application\/json/);
        assert.match(answer, /\{"message":"The request could not be parsed/);
    } finally {
        await server.stop();
    }
});

test('init DIR copies the service worker and its wasm', () => {
    const dir = path.join(scratch(), 'public');
    const result = run(['init', dir]);
    assert.equal(result.status, 0, result.stderr);
    for (const file of ['mock-sw.js', 'mock.js', 'mock_rest_web.js', 'mock_rest_web_bg.wasm']) {
        const copied = fs.readFileSync(path.join(dir, file));
        assert.ok(copied.length > 0, file);
        assert.deepEqual(copied, fs.readFileSync(path.join(packageDir, 'dist', 'browser', file)), file);
    }
    const wasm = fs.readFileSync(path.join(dir, 'mock_rest_web_bg.wasm'));
    assert.deepEqual([...wasm.subarray(0, 4)], [0, 0x61, 0x73, 0x6d]);
    assert.equal(run(['init']).status, 2);
});

/** json-server's README db.json. */
const DB = {
    posts: [{ id: 1, title: 'json-server', author: 'typicode' }],
    comments: [{ id: 1, body: 'some comment', postId: 1 }],
    profile: { name: 'typicode' },
};

test('--json-server writes the file back as json-server does, and -w loads an edit but not its own write', async () => {
    const dir = scratch();
    const file = path.join(dir, 'db.json');
    fs.writeFileSync(file, JSON.stringify(DB, null, 2));
    // json-server's own flags: -w, -d (milliseconds), -i.
    const server = await start(['--json-server', '-w', '-d', '0', '-i', 'id', file]);
    try {
        await server.waitFor(/every change of the data is written back into it/);
        await server.waitFor(/--watch: watching/);
        const created = await fetch(`${server.base}/posts`, { method: 'POST', body: 'title=second', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
        assert.equal(created.status, 201);
        assert.deepEqual(await created.json(), { title: 'second', id: 2 });
        // The answer comes after the file is written, indented as JSON.stringify(db, null, 2).
        const expected = { ...DB, posts: [{ title: 'json-server', author: 'typicode', id: 1 }, { title: 'second', id: 2 }], comments: [{ body: 'some comment', postId: 1, id: 1 }] };
        assert.equal(fs.readFileSync(file, 'utf8'), JSON.stringify(expected, null, 2));
        const deleted = await fetch(`${server.base}/posts/1`, { method: 'DELETE' });
        assert.deepEqual([deleted.status, await deleted.json()], [200, {}]);
        assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), { posts: [{ title: 'second', id: 2 }], profile: { name: 'typicode' }, comments: [] });
        // Several polls of the file pass; its own writes are not loaded back as an edit.
        await new Promise((resolve) => setTimeout(resolve, 600));
        assert.doesNotMatch(server.log(), /--watch: loaded/);
        fs.writeFileSync(file, JSON.stringify({ posts: [{ id: 7, title: 'edited' }] }));
        await server.waitFor(/--watch: loaded/);
        assert.equal((await fetch(`${server.base}/posts/7`)).status, 200);
    } finally {
        await server.stop();
    }
});

test('--json-server binds 127.0.0.1 unless told otherwise; a db.json without it gets one hint', async () => {
    const dir = scratch();
    const file = path.join(dir, 'db.json');
    fs.writeFileSync(file, JSON.stringify(DB));
    // No --host: the preset binds loopback, as json-server does. -p is json-server's --port.
    const child = spawn(bin, ['--json-server', '-p', '0', file], { env: cleanEnv, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr.setEncoding('utf8');
    try {
        await new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`no listening line within 20 s:\n${log}`)), 20000);
            child.stderr.on('data', (text) => {
                log += text;
                if (/listening on http:\/\//.test(log)) {
                    clearTimeout(timer);
                    resolve();
                }
            });
            child.once('exit', (code) => reject(new Error(`exited (${code}):\n${log}`)));
        });
        assert.match(log, /listening on http:\/\/127\.0\.0\.1:\d+/);
    } finally {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        process.kill(child.pid, 'SIGTERM');
        await exited;
    }
    const server = await start([file]);
    try {
        assert.equal(server.log().match(/--json-server \(JSON_SERVER=1\) serves it as json-server does/g)?.length, 1, server.log());
        assert.equal((await fetch(`${server.base}/api/posts`)).status, 200);
    } finally {
        await server.stop();
    }
    assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), DB, 'never written without the preset');
});
