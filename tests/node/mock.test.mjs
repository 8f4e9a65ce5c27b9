// createMock, as a test suite uses it: run by scripts/node.sh inside a project that installed the
// packed tarball, so `mock-rest-api` is the package as users get it.
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { createMock, SETTINGS } from 'mock-rest-api';

const seed = JSON.parse(readFileSync(new URL('./fixtures.json', import.meta.url), 'utf8'));

/** A plain node:http request (no fetch), resolving to {status, headers, body}. */
function request(base, method, path, body) {
    return new Promise((resolve, reject) => {
        const req = http.request(new URL(path, base), { method, agent: false, headers: body ? { 'content-type': 'application/json' } : {} }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        });
        req.on('error', reject);
        req.end(body);
    });
}

test('the settings table comes from the engine', () => {
    const delay = SETTINGS.find((s) => s.name === 'DELAY_MS');
    assert.deepEqual({ flag: delay.flag, jsName: delay.jsName, default: delay.default }, { flag: 'delay-ms', jsName: 'delayMs', default: '0' });
    assert.equal(SETTINGS.find((s) => s.name === 'API_TOKEN').secret, true);
});

test("every setting is in the package's declarations and its README", () => {
    const installed = new URL('./node_modules/mock-rest-api/', import.meta.url);
    const declarations = readFileSync(new URL('index.d.ts', installed), 'utf8');
    const readme = readFileSync(new URL('README.md', installed), 'utf8');
    for (const setting of SETTINGS) {
        assert.match(declarations, new RegExp(`\\b${setting.jsName}\\?:`), `index.d.ts lacks ${setting.jsName}`);
        assert.ok(readme.includes(`| \`--${setting.flag}\` | \`${setting.name}\` | \`${setting.jsName}\` |`), `README.md lacks the row of ${setting.name}`);
    }
});

/** A small OpenAPI document, as YAML text. */
const PETS = `openapi: 3.0.3
info: {title: pets, version: "1"}
paths:
  /pets:
    get:
      responses:
        "200":
          description: pets
          content:
            application/json:
              schema: {type: array, items: {$ref: "#/components/schemas/Pet"}}
    post:
      requestBody:
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Pet"}
      responses:
        "201":
          description: created
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Pet"}
  /pets/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        "200":
          description: a pet
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Pet"}
components:
  schemas:
    Pet:
      type: object
      required: [name]
      properties:
        id: {type: integer, readOnly: true}
        name: {type: string}
`;

test('createMock({ openapi }) answers the document\'s paths, from YAML text or an object, with the same data for the same seed', async () => {
    const bodies = [];
    for (const openapi of [PETS, { openapi: '3.1.0', info: { title: 'pets', version: '1' }, paths: { '/pets': { get: { responses: { 200: { description: 'pets', content: { 'application/json': { schema: { type: 'array', items: { type: 'object', properties: { id: { type: 'integer' }, name: { type: 'string' } } } } } } } } } } } }]) {
        const mock = createMock({ openapi, openapiSeedItems: 2, openapiSeed: 5 });
        const list = await mock.fetch('/pets');
        assert.equal(list.status, 200);
        assert.equal(list.headers.get('x-total-count'), '2');
        const pets = await list.json();
        assert.deepEqual(pets.map((p) => p.id), [1, 2]);
        bodies.push(JSON.stringify(pets));
        assert.equal((await mock.fetch('/api/pets')).status, 404, 'only the document\'s paths are served');
        await mock.close();
    }
    const again = createMock({ openapi: PETS, openapiSeedItems: 2, openapiSeed: 5 });
    assert.equal(JSON.stringify(await (await again.fetch('/pets')).json()), bodies[0], 'the same seed, the same data');
    const created = await again.fetch('/pets', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"Rex"}' });
    assert.equal(created.status, 201);
    assert.equal(created.headers.get('location'), '/pets/3');
    assert.deepEqual(await created.json(), { name: 'Rex', id: 3 });
    const invalid = await again.fetch('/pets', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":5}' });
    assert.equal(invalid.status, 422);
    assert.equal(invalid.headers.get('content-type'), 'application/problem+json');
    assert.deepEqual((await invalid.json()).validation.map((v) => v.location), [['body', 'name']]);
    assert.deepEqual(again.snapshot().pets.at(-1), { name: 'Rex', id: 3 });
    again.reset();
    assert.equal(again.snapshot().pets.length, 2, 'reset returns to the seeded items');
    await again.close();
    assert.throws(
        () => createMock({ openapi: PETS.replace('#/components/schemas/Pet"}}', '#/components/schemas/Pett"}}') }),
        (err) => err.part === 'openapi' && /#\/paths\/~1pets\/get\/responses\/200\/content\/application~1json\/schema\/items\/\$ref: .*Pett/.test(err.message),
    );
});

test("startMock's prefixes for a document: the first segment of each of its paths, from YAML text, JSON text or an object", async () => {
    const { documentPrefixes } = await import(new URL('./node_modules/mock-rest-api/dist/browser/mock.js', import.meta.url));
    assert.deepEqual(documentPrefixes(PETS), ['/pets']);
    const paths = { '/v1/orders/{id}': {}, '/v1/users': {}, '/{tenant}/x': {}, '/health-check': {} };
    assert.deepEqual(documentPrefixes({ openapi: '3.1.0', paths }), ['/v1', '/health-check']);
    assert.deepEqual(documentPrefixes(JSON.stringify({ swagger: '2.0', paths })), ['/v1', '/health-check']);
    const yaml = 'openapi: 3.1.0\npaths:\n  "/a/{id}":\n    get:\n      responses: {}\n  /b:\n    description: "/not/a/path: here"\ncomponents:\n  /c: {}\n';
    assert.deepEqual(documentPrefixes(yaml), ['/a', '/b']);
});

test('rules given to createMock answer, and reset brings them back; a bad rule is refused naming its field', async () => {
    const rules = [{ id: 'down', match: { method: 'GET', path: '/api/orders' }, respond: { status: 503, json: { message: 'down' } }, times: 1 }];
    const mock = createMock({ rules });
    assert.equal((await mock.fetch('/api/orders')).status, 503);
    assert.equal((await mock.fetch('/api/orders')).status, 200, 'times: 1 is used up');
    mock.reset();
    assert.equal((await mock.fetch('/api/orders')).status, 503, 'reset brings the rule back');
    await mock.close();
    assert.throws(() => createMock({ rules: [{ match: { path: '/x' }, respond: { status: 99 } }] }), /status/);
});

test('a rule with fault "reset" makes mock.fetch reject as a network failure, and changes nothing', async () => {
    const rules = [{ match: { method: 'POST', path: '/api/payments' }, respond: { fault: 'reset' }, times: 1 }];
    const mock = createMock({ rules });
    await assert.rejects(mock.fetch('/api/payments', { method: 'POST', body: '{"n":1}' }), TypeError);
    assert.deepEqual(await (await mock.fetch('/api/payments')).json(), [], 'nothing was stored');
    assert.equal((await mock.fetch('/api/payments', { method: 'POST', body: '{"n":2}' })).status, 200, 'times: 1 is used up');
    await mock.close();
});

test('mock.fetch answers with a real Response from a real store', async () => {
    const mock = createMock({ appName: 'shop' });
    const created = await mock.fetch('http://api.test/api/products', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Tea', price: 3.5 }),
    });
    assert.ok(created instanceof Response);
    assert.equal(created.status, 200);
    const item = await created.json();
    assert.equal(item.name, 'Tea');
    assert.match(item._id, /^[0-9a-f-]{36}$/);
    const read = await mock.fetch(`/api/products/${item._id}`);
    assert.deepEqual(await read.json(), item);
    assert.equal(read.headers.get('content-type'), 'application/json');
    const missing = await mock.fetch(new Request('http://api.test/api/products/nope'));
    assert.equal(missing.status, 404);
    assert.match((await missing.json()).message, /nope/);
    const health = await (await mock.fetch('/health')).json();
    assert.ok(JSON.stringify(health).includes('shop'));
    await mock.close();
});

test('a bad body is a 400 and changes nothing; HEAD and a forced 204 have no body', async () => {
    const mock = createMock();
    const bad = await mock.fetch('/api/x', { method: 'POST', body: '{"a":' });
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).message, /Invalid JSON/);
    assert.deepEqual(mock.snapshot(), {});
    await mock.fetch('/api/x', { method: 'POST', body: '{"a":1}' });
    const head = await mock.fetch('/api/x', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
    const forced = await mock.fetch('/api/x', { headers: { 'x-mock-status': '204' } });
    assert.equal(forced.status, 204);
    assert.equal(await forced.text(), '');
    await mock.close();
});

test('a body over maxBodyBytes is a 413 and stores nothing; a delay waits', async () => {
    const mock = createMock({ maxBodyBytes: 16 });
    const big = await mock.fetch('/api/x', { method: 'POST', body: JSON.stringify({ text: 'more than sixteen bytes' }) });
    assert.equal(big.status, 413);
    assert.match((await big.json()).message, /16 bytes/);
    assert.deepEqual(mock.snapshot(), {});
    const small = await mock.fetch('/api/x', { method: 'POST', body: '{"a":1}' });
    assert.equal(small.status, 200);
    // A lower bound only: the answer comes after the delay the request asked for, never before.
    const started = performance.now();
    const delayed = await mock.fetch('/api/x?_delay=50');
    assert.equal(delayed.status, 200);
    assert.ok(performance.now() - started >= 45, `answered after ${performance.now() - started} ms`);
    await mock.close();
});

test('seed, snapshot and reset', async () => {
    const mock = createMock({ seed });
    assert.deepEqual(mock.snapshot(), seed);
    const res = await mock.fetch('/api/books/b1', { method: 'DELETE' });
    assert.ok(res.status < 300, `DELETE answered ${res.status}`);
    assert.deepEqual(mock.snapshot().books.map((b) => b._id), ['b2']);
    mock.reset();
    assert.deepEqual(mock.snapshot(), seed);
    await mock.close();
    assert.throws(() => mock.snapshot(), /closed/);
});

test('namespaces are isolated, a bad name is 400, and MAX_NAMESPACES bounds them', async () => {
    const mock = createMock({ maxNamespaces: 2 });
    const post = (ns, body) =>
        mock.fetch('/api/notes', { method: 'POST', headers: ns ? { 'x-mock-namespace': ns } : {}, body: JSON.stringify(body) });
    assert.equal((await post('team-a', { n: 1 })).status, 200);
    assert.equal((await post(null, { n: 2 })).status, 200);
    assert.deepEqual(mock.snapshot('team-a').notes.map((n) => n.n), [1]);
    assert.deepEqual(mock.snapshot().notes.map((n) => n.n), [2]);
    const bad = await post('no spaces', { n: 3 });
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).message, /X-Mock-Namespace/);
    const full = await post('team-c', { n: 4 });
    assert.equal(full.status, 507);
    assert.match((await full.json()).message, /MAX_NAMESPACES/);
    await mock.close();
});

test('intercept answers the global fetch for its origins until restore', async () => {
    const original = globalThis.fetch;
    const mock = createMock({ seed });
    mock.intercept(['https://api.example.test']);
    assert.notEqual(globalThis.fetch, original);
    const books = await (await fetch('https://api.example.test/api/books?_sort=year')).json();
    assert.deepEqual(books.map((b) => b.title), ['Solaris', 'Dune']);
    // Another origin goes to the real fetch: a port of 127.0.0.1 that this test serves.
    const other = http.createServer((req, res) => res.end('real'));
    await new Promise((resolve) => other.listen(0, '127.0.0.1', resolve));
    try {
        const real = await fetch(`http://127.0.0.1:${other.address().port}/api/books`);
        assert.equal(await real.text(), 'real');
    } finally {
        await new Promise((resolve) => other.close(resolve));
    }
    mock.restore();
    assert.equal(globalThis.fetch, original);
    await mock.close();
});

test('listen serves the same store to a plain http client, close stops it', async () => {
    const mock = createMock({ seed });
    const base = await mock.listen();
    assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(await mock.listen(), base);
    const created = await request(base, 'POST', '/api/books', JSON.stringify({ title: 'Ubik' }));
    assert.equal(created.status, 200);
    const id = JSON.parse(created.body)._id;
    const inProcess = await (await mock.fetch(`/api/books/${id}`)).json();
    assert.equal(inProcess.title, 'Ubik');
    const list = await request(base, 'GET', '/api/books');
    assert.equal(JSON.parse(list.body).length, 3);
    await mock.close();
    await assert.rejects(request(base, 'GET', '/api/books'), /ECONNREFUSED/);
});

test('a bad setting or seed is rejected, naming it', () => {
    assert.throws(() => createMock({ delayMs: 'soon' }), /delayMs=soon: not a whole number/);
    assert.throws(() => createMock({ DELAY_MS: 30001 }), /DELAY_MS=30001: at most 30000/);
    // An unknown option is named with the closest JavaScript name, not the variables' names.
    assert.throws(() => createMock({ delay: 5 }), /`delay` is not an option of createMock; did you mean `delayMs`\? The options are seed, rules, openapi, onUnhandledRequest, /);
    assert.throws(() => createMock({ seeds: {} }), /`seeds` is not an option of createMock; did you mean `seed`\?/);
    assert.throws(() => createMock({ frobnicate: true }), /`frobnicate` is not an option of createMock\. The options are/);
    assert.throws(() => createMock({ seed: '{"books": 3}' }), /seed is not valid/);
    assert.throws(() => createMock({ maxNamespaces: 0 }), /maxNamespaces=0: at least 1/);
});

test('a host listening beyond loopback gets the homepage warning when no token guards the data', async () => {
    // The command's engine holder (lib/engine.js), as `npx mock-rest-api` uses it for 0.0.0.0; the tests
    // themselves only ever listen on 127.0.0.1.
    const engineJs = new URL('./node_modules/mock-rest-api/lib/engine.js', import.meta.url);
    const { Namespaces } = await import(engineJs.href);
    const home = async (namespaces) => {
        const answer = await namespaces.handle('GET', '/', ['host', 'mock.test'], new Uint8Array(0));
        return new TextDecoder().decode(answer.body);
    };
    const open = new Namespaces({}, { publiclyReachable: true });
    const guarded = new Namespaces({ apiToken: 't' }, { publiclyReachable: true });
    const local = new Namespaces({}, { publiclyReachable: false });
    assert.match(await home(open), /can be reached from other machines/);
    assert.doesNotMatch(await home(guarded), /can be reached from other machines/);
    assert.doesNotMatch(await home(local), /can be reached from other machines/);
    [open, guarded, local].forEach((n) => n.free());
});

test('mock.fetch answers the change feed as a stream: the events of later writes, until the reader cancels', async () => {
    const mock = createMock();
    try {
        const feed = await mock.fetch('http://mock.test/__admin/events?type=notes');
        assert.equal(feed.status, 200);
        assert.equal(feed.headers.get('content-type'), 'text/event-stream');
        const reader = feed.body.getReader();
        await mock.fetch('http://mock.test/api/other', { method: 'POST', body: '{}' });
        const created = await (await mock.fetch('http://mock.test/api/notes', { method: 'POST', body: '{"text":"hi"}' })).json();
        const { value } = await reader.read();
        const text = new TextDecoder().decode(value);
        assert.equal(text, `id: 2\nevent: created\ndata: {"type":"notes","id":"${created._id}","item":{"text":"hi","_id":"${created._id}"}}\n\n`);
        await reader.cancel();
    } finally {
        await mock.close();
    }
});

test('a feed subscriber of the Node server that reads nothing gets event: overflow and is closed; writers go on', async () => {
    const net = await import('node:net');
    const mock = createMock();
    try {
        const base = await mock.listen();
        const { hostname, port } = new URL(base);
        const socket = net.connect(Number(port), hostname);
        await new Promise((resolve) => socket.once('connect', resolve));
        socket.write('GET /__admin/events HTTP/1.1\r\nHost: x\r\n\r\n');
        socket.pause();
        // 20 MiB of events for a reader that takes none: more than the socket buffers and the 1 MiB bound.
        const item = JSON.stringify({ pad: 'x'.repeat(200 * 1024) });
        for (let n = 0; n < 100; n++) {
            const answer = await request(base, 'POST', '/api/big', item);
            assert.equal(answer.status, 200);
        }
        const received = [];
        socket.on('data', (chunk) => received.push(chunk));
        socket.resume();
        await new Promise((resolve) => socket.once('close', resolve));
        const text = Buffer.concat(received).toString('latin1');
        assert.match(text, /^HTTP\/1\.1 200/);
        // The last chunk of the chunked answer is the overflow event, then the answer's end.
        assert.ok(text.endsWith('event: overflow\ndata: {}\n\n\r\n0\r\n\r\n'), `the stream ends with: ${JSON.stringify(text.slice(-80))}`);
        assert.ok(text.length < 20 * 1024 * 1024, 'not every event was kept for it');
    } finally {
        await mock.close();
    }
});

test('createMock({ jsonServer: 1 }) answers as json-server: resources at /, 201 and integer ids, {} for a 404 and a DELETE', async () => {
    const mock = createMock({ jsonServer: 1, seed: { posts: [{ id: 1, title: 'a' }], comments: [{ id: 1, postId: 1 }] } });
    try {
        const created = await mock.fetch('http://localhost/posts', { method: 'POST', body: JSON.stringify({ title: 'b' }) });
        assert.deepEqual([created.status, await created.json()], [201, { title: 'b', id: 2 }]);
        const missing = await mock.fetch('http://localhost/posts/9');
        assert.deepEqual([missing.status, await missing.json()], [404, {}]);
        const deleted = await mock.fetch('http://localhost/posts/1', { method: 'DELETE' });
        assert.deepEqual([deleted.status, await deleted.json()], [200, {}]);
        assert.deepEqual(mock.snapshot(), { posts: [{ title: 'b', id: 2 }] });
    } finally {
        mock.close();
    }
});
