// createMock's per-test controls, as MSW's users write them: mock.use(...rules) for one test and
// mock.resetRules() after it, and onUnhandledRequest for requests to origins not intercepted.
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { createMock } from 'mock-rest-api';

const PAYMENTS_DOWN = { match: { method: 'POST', path: '/api/payments' }, respond: { status: 503, json: { message: 'down' } } };

test('use adds rules that win until resetRules, which keeps the rules the mock started with', async () => {
    const mock = createMock({ rules: [{ match: { path: '/api/status' }, respond: { status: 200, json: { ok: true } } }] });
    try {
        mock.use(PAYMENTS_DOWN, { match: { path: '/api/status' }, respond: { status: 500, json: { ok: false } } });
        assert.equal((await mock.fetch('/api/payments', { method: 'POST', body: '{}' })).status, 503);
        assert.deepEqual(await (await mock.fetch('/api/status')).json(), { ok: false });
        mock.resetRules();
        assert.equal((await mock.fetch('/api/payments', { method: 'POST', body: '{}' })).status, 200);
        assert.deepEqual(await (await mock.fetch('/api/status')).json(), { ok: true });
        // A rule whose times ran out is gone already: resetRules does not mind.
        mock.use({ ...PAYMENTS_DOWN, times: 1 });
        assert.equal((await mock.fetch('/api/payments', { method: 'POST', body: '{}' })).status, 503);
        mock.resetRules();
        assert.equal((await mock.fetch('/api/payments', { method: 'POST', body: '{}' })).status, 200);
    } finally {
        await mock.close();
    }
});

test('a bad rule given to use throws naming its field, and adds none of the rules', async () => {
    const mock = createMock();
    try {
        assert.throws(() => mock.use(PAYMENTS_DOWN, { match: { path: 'payments' }, respond: { status: 200 } }), /Rule field `match.path`/);
        assert.equal((await mock.fetch('/api/payments', { method: 'POST', body: '{}' })).status, 200);
        mock.use(PAYMENTS_DOWN);
        mock.reset();
        assert.equal((await mock.fetch('/api/payments', { method: 'POST', body: '{}' })).status, 200);
    } finally {
        await mock.close();
    }
});

/** A server on 127.0.0.1 that answers every request `200 real`, standing for the network. */
async function realServer() {
    const server = http.createServer((req, res) => res.end('real'));
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { server, origin: `http://127.0.0.1:${server.address().port}` };
}

test("onUnhandledRequest: 'warn' (the default) warns and lets the request through, 'bypass' is silent, 'error' rejects", async (t) => {
    const { server, origin } = await realServer();
    const warned = [];
    t.mock.method(console, 'warn', (line) => warned.push(line));
    try {
        for (const [option, expected] of [[undefined, 'warn'], ['warn', 'warn'], ['bypass', 'bypass'], ['error', 'error']]) {
            warned.length = 0;
            const mock = createMock(option ? { onUnhandledRequest: option } : {}).intercept('https://erp.example.com');
            try {
                assert.equal((await fetch('https://erp.example.com/api/orders')).status, 200, 'the intercepted origin is the mock');
                const real = fetch(`${origin}/elsewhere`, { method: 'post', body: 'x' });
                if (expected === 'error') {
                    await assert.rejects(real, (err) => err instanceof TypeError && err.message.includes(`unhandled request POST ${origin}/elsewhere`));
                } else {
                    assert.equal(await (await real).text(), 'real');
                }
                assert.equal(warned.length, expected === 'warn' ? 1 : 0, `${option}: ${warned}`);
                if (expected === 'warn') {
                    assert.match(warned[0], new RegExp(`unhandled request POST ${origin}/elsewhere: the mock intercepts https://erp.example.com`));
                }
                // The mock's own port is the mock, never an unhandled request.
                const base = await mock.listen();
                assert.equal((await fetch(`${base}/health`)).status, 200);
                assert.equal(warned.length, expected === 'warn' ? 1 : 0);
            } finally {
                await mock.close();
            }
        }
    } finally {
        server.close();
    }
});
