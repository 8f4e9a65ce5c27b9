// createMock's fetch as fetch behaves when a test gives up on a request: an AbortSignal rejects it
// with the signal's reason, while it waits (a delay, the proxy's target) and before it starts, and
// delays wait on the global setTimeout, so fake timers release them.
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { createMock } from 'mock-rest-api';

/** The longest delay the mock takes (30 s), longer than any of these tests may run. */
const LONG_MS = 30_000;

test('an abort during a delay rejects at once with the AbortError, and the write already happened stays', async () => {
    const mock = createMock();
    try {
        const controller = new AbortController();
        const pending = mock.fetch(`/api/orders?_delay=${LONG_MS}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ total: 3 }),
            signal: controller.signal,
        });
        setTimeout(() => controller.abort(), 20);
        await assert.rejects(pending, { name: 'AbortError' });
        // The server took the write before its delay, as a real one would.
        assert.equal(mock.snapshot().orders.length, 1);
    } finally {
        await mock.close();
    }
});

test('an already-aborted signal rejects with its reason, and the mock never sees the request', async () => {
    const mock = createMock();
    try {
        const reason = new Error('the test gave up');
        const pending = mock.fetch('/api/orders', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: '{"total": 3}',
            signal: AbortSignal.abort(reason),
        });
        await assert.rejects(pending, (err) => err === reason);
        assert.deepEqual(mock.snapshot(), {});
    } finally {
        await mock.close();
    }
});

test('AbortSignal.timeout rejects a delayed request with the TimeoutError', async () => {
    const mock = createMock({ delayMs: LONG_MS });
    try {
        await assert.rejects(mock.fetch('/api/orders', { signal: AbortSignal.timeout(50) }), { name: 'TimeoutError' });
    } finally {
        await mock.close();
    }
});

test('intercepted fetch honours the signal too', async () => {
    const mock = createMock().intercept('https://erp.example.com');
    try {
        const pending = fetch(`https://erp.example.com/api/orders?_delay=${LONG_MS}`, { signal: AbortSignal.timeout(50) });
        await assert.rejects(pending, { name: 'TimeoutError' });
    } finally {
        await mock.close();
    }
});

test('an abort while the proxy waits for its target rejects, and cuts the exchange with the target', async () => {
    // A target that takes the request and never answers.
    let targetSaw = null;
    const closed = new Promise((resolve) => {
        targetSaw = resolve;
    });
    const target = http.createServer((req) => {
        req.socket.on('close', () => targetSaw(req.url));
    });
    await new Promise((resolve) => target.listen(0, '127.0.0.1', resolve));
    const mock = createMock({ proxyTarget: `http://127.0.0.1:${target.address().port}`, proxyTimeoutMs: LONG_MS });
    try {
        await assert.rejects(mock.fetch('/api/slow', { signal: AbortSignal.timeout(100) }), { name: 'TimeoutError' });
        assert.equal(await closed, '/api/slow');
        // The mock answers the next request as ever.
        const health = await mock.fetch('/health');
        assert.equal(health.status, 200);
    } finally {
        await mock.close();
        target.closeAllConnections();
        await new Promise((resolve) => target.close(resolve));
    }
});

test('an abort while an event stream is read errors the body', async () => {
    const mock = createMock();
    try {
        const controller = new AbortController();
        const response = await mock.fetch('/__admin/events', { signal: controller.signal });
        assert.equal(response.status, 200);
        const reader = response.body.getReader();
        const read = reader.read().then(() => reader.read());
        controller.abort();
        await assert.rejects(read, { name: 'AbortError' });
    } finally {
        await mock.close();
    }
});

test("a delay waits on the global setTimeout, so a test's fake timers release it", async (t) => {
    const mock = createMock();
    try {
        t.mock.timers.enable({ apis: ['setTimeout'] });
        let settled = false;
        const pending = mock.fetch(`/api/orders?_delay=${LONG_MS}`).then((response) => {
            settled = true;
            return response;
        });
        // Lets the request reach its delay (setImmediate is not faked).
        await new Promise((resolve) => setImmediate(resolve));
        t.mock.timers.tick(LONG_MS - 1);
        await new Promise((resolve) => setImmediate(resolve));
        assert.equal(settled, false, 'answered before its delay was over');
        t.mock.timers.tick(1);
        const response = await pending;
        assert.equal(response.status, 200);
    } finally {
        t.mock.timers.reset();
        await mock.close();
    }
});
