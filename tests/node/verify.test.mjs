// createMock's verification, as a test asserts on the calls its code made: mock.calls(match) and
// mock.verify(match, { times | atLeast | atMost }), over the journal's POST /__admin/requests/find.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMock } from 'mock-rest-api';

/** Posts JSON through the mock, as the code under test would. */
async function post(mock, path, json, init = {}) {
    const response = await mock.fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', ...init.headers }, body: JSON.stringify(json) });
    assert.equal(response.status, 200);
}

test('calls lists the matching requests, oldest first, and verify counts them', async () => {
    const mock = createMock();
    try {
        await post(mock, '/api/orders?channel=web', { total: 3 });
        await post(mock, '/api/orders', { total: 4 });
        await mock.fetch('/api/orders');
        const posts = mock.calls({ method: 'POST', path: '/api/orders' });
        assert.deepEqual(posts.map((entry) => [entry.query, JSON.parse(entry.body).total]), [['channel=web', 3], ['', 4]]);
        assert.equal(mock.calls({ body: { total: 4 } }).length, 1);
        assert.equal(mock.calls().length, 3);
        mock.verify({ method: 'POST', path: '/api/orders' }, { times: 2 });
        mock.verify({ path: '/api/*' }, { atLeast: 3, atMost: 3 });
        mock.verify({ method: 'GET' });
        mock.verify({ method: 'DELETE' }, { times: 0 });
        assert.throws(() => mock.verify({ method: 'DELETE' }, { times: -1 }), TypeError);
    } finally {
        await mock.close();
    }
});

test('a failed verify says what was expected and shows the closest requests with what they missed', async () => {
    const mock = createMock();
    try {
        await post(mock, '/api/orders', { total: 4 });
        await mock.fetch('/api/orders/1');
        assert.throws(
            () => mock.verify({ method: 'POST', path: '/api/orders', body: { total: 3 } }),
            (err) => {
                assert.match(err.message, /expected at least 1 request\(s\) matching \{"method":"POST","path":"\/api\/orders","body":\{"total":3\}\}, got 0\./);
                assert.match(err.message, /POST \/api\/orders \{"total":4\}  \(missed: body\)/);
                assert.match(err.message, /GET \/api\/orders\/1  \(missed: method, path, body\)/);
                return true;
            },
        );
        assert.throws(() => mock.verify({ method: 'POST' }, { atMost: 0 }), /expected at most 0 request\(s\) matching \{"method":"POST"\}, got 1\./);
    } finally {
        await mock.close();
    }
});

test('verification is per namespace, works under API_TOKEN, and a bad matcher throws naming its field', async () => {
    const mock = createMock({ apiToken: 'secret-token' });
    try {
        const auth = { authorization: 'Bearer secret-token' };
        await post(mock, '/api/orders', { total: 1 }, { headers: { ...auth, 'x-mock-namespace': 'tenant-a' } });
        assert.equal(mock.calls({ path: '/api/orders' }, { namespace: 'tenant-a' }).length, 1);
        assert.equal(mock.calls({ path: '/api/orders' }).length, 0);
        assert.throws(() => mock.calls({ headers: { 'x-tenant': 'a' } }), /Request matcher field `headers`: the journal does not keep request headers/);
        assert.throws(() => mock.calls({ verb: 'GET' }), /Request matcher field `verb`/);
    } finally {
        await mock.close();
    }
});
