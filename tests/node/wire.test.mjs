// The wire between the wasm endpoint and its JavaScript hosts, as the package ships it: a request
// written into the wasm memory, the endpoint's effects read back by dist/node/mock-wire.js (the
// service worker's own reader), and the held data (changes, a forward) converted by serde. Run by
// scripts/node.sh inside a project that installed the packed tarball.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';

const require = createRequire(import.meta.url);
const dist = new URL('./node_modules/mock-rest-api/dist/node/', import.meta.url);
const wasm = require(new URL('mock_rest_web.js', dist).pathname);
const { decode } = require(new URL('mock-wire.js', dist).pathname);
const tags = wasm.wireLayout().tags;

/** Sends a request on the wire and reads the answer, as lib/engine.js and mock-sw.js do. */
function send(endpoint, method, target, headers = [], body = '') {
    const head = Buffer.from(headers.length ? `${method}\n${target}\n${headers.join('\n')}` : `${method}\n${target}`);
    const bytes = Buffer.from(body);
    const at = wasm.wireRequest(head.length + bytes.length);
    let memory = Buffer.from(wasm.wireMemory().buffer);
    head.copy(memory, at);
    bytes.copy(memory, at + head.length);
    const answer = endpoint.handleWire(head.length + bytes.length, head.length);
    memory = Buffer.from(wasm.wireMemory().buffer);
    return decode(memory, answer, tags, (from, to) => memory.toString('utf8', from, to));
}

test('the layout names every effect once, by a tag of its own', () => {
    const names = Object.keys(tags).sort();
    assert.deepEqual(names, ['drop', 'forget', 'forward', 'open', 'persist', 'publish', 'respond', 'stream', 'wait', 'wake']);
    assert.equal(new Set(Object.values(tags)).size, names.length);
});

test('a write reads back as its namespace made, its changes held, its events and its answer', () => {
    const endpoint = new wasm.MockEndpoint({ delayMs: 3 }, undefined, undefined, undefined, true);
    try {
        const out = send(endpoint, 'POST', '/api/notes', ['x-mock-namespace', 'wire'], '{"text":"é"}');
        assert.deepEqual(out.opened, ['wire']);
        assert.equal(out.persist.length, 1);
        assert.equal(out.persist[0].namespace, 'wire');
        assert.equal(out.publish.length, 1);
        assert.equal(out.delay, 3);
        assert.equal(out.status, 200);
        const item = JSON.parse(Buffer.from(out.body).toString('utf8'));
        assert.equal(item.text, 'é');
        const changes = JSON.parse(endpoint.takeChanges(out.persist[0].held));
        assert.deepEqual(changes.map((c) => c.kind), ['createType', 'create']);
        assert.equal(changes[1].id, item._id);
        // The changes replay into another endpoint, as a host loads its storage.
        const copy = new wasm.MockEndpoint({}, undefined, undefined, undefined, true);
        try {
            send(copy, 'GET', '/health', ['x-mock-namespace', 'wire']);
            for (const change of changes) copy.apply('wire', JSON.stringify(change));
            assert.equal(copy.snapshot('wire'), endpoint.snapshot('wire'));
            assert.throws(() => copy.apply('wire', '{"kind":"explode"}'), /unknown kind/);
        } finally {
            copy.free();
        }
    } finally {
        endpoint.free();
    }
});

test('a stream, a forward and a dropped connection read back with what the host needs', () => {
    const endpoint = new wasm.MockEndpoint({ proxyTarget: 'http://127.0.0.1:9' }, undefined, undefined, undefined, false);
    try {
        const stream = send(endpoint, 'GET', '/__admin/events');
        assert.equal(typeof stream.stream, 'number');
        assert.equal(stream.status, 200);
        const forward = send(endpoint, 'PUT', '/orders/7?x=1', ['authorization', 'Bearer theirs'], '{"a":1}');
        assert.equal(forward.status, 0, 'no answer before the target answers');
        const held = endpoint.takeForward(forward.held);
        assert.equal(held.url, 'http://127.0.0.1:9/orders/7?x=1');
        assert.equal(held.method, 'PUT');
        assert.deepEqual(held.headers, [['authorization', 'Bearer theirs']]);
        assert.equal(Buffer.from(held.body).toString(), '{"a":1}');
        assert.equal(held.timeoutMs, 10000);
        const memory = () => Buffer.from(wasm.wireMemory().buffer);
        const at = endpoint.upstreamFailed(forward.ticket, 'timeout', '');
        const bytes = memory();
        const after = decode(bytes, at, tags, (from, to) => bytes.toString('utf8', from, to));
        assert.equal(after.status, 504);
    } finally {
        endpoint.free();
    }
    const rules = JSON.stringify([{ match: { path: '/api/gone' }, respond: { fault: 'reset' } }]);
    const dropping = new wasm.MockEndpoint({}, undefined, rules, undefined, false);
    try {
        assert.equal(send(dropping, 'GET', '/api/gone').fault, 'reset');
    } finally {
        dropping.free();
    }
});
