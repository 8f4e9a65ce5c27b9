/**
 * @jest-environment jsdom
 */
// createMock under jest's jsdom environment, with no polyfill installed: the package loads (its
// engine takes TextDecoder from node:util), and a client reaches it on its port (jsdom has no fetch of
// its own, so this suite uses node:http; `mock.fetch` needs a global Request and Response).
const http = require('node:http');
const { createMock } = require('mock-rest-api');

function get(url) {
    return new Promise((resolve, reject) => {
        http.get(url, (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (chunk) => (text += chunk));
            res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(text) }));
        }).on('error', reject);
    });
}

test('the package loads in jsdom and serves its store on a port', async () => {
    expect(typeof window).toBe('object');
    const mock = createMock({ seed: { books: [{ _id: 'b1', title: 'Dune' }] } });
    try {
        const base = await mock.listen();
        expect(await get(`${base}/api/books/b1`)).toEqual({ status: 200, json: { title: 'Dune', _id: 'b1' } });
        expect(mock.calls({ path: '/api/books/*' })).toHaveLength(1);
    } finally {
        await mock.close();
    }
});
