// createMock under jest's default mode: CommonJS (`require`), the node environment, jest's globals.
const { createMock } = require('mock-rest-api');

const mock = createMock({ seed: { books: [{ _id: 'b1', title: 'Dune' }] } });

beforeAll(() => mock.intercept('https://api.example.com'));
afterEach(() => {
    mock.reset();
    mock.resetRules();
});
afterAll(() => mock.close());

test('mock.fetch reads the seed and writes the store', async () => {
    expect(await (await mock.fetch('/api/books/b1')).json()).toEqual({ title: 'Dune', _id: 'b1' });
    const created = await mock.fetch('/api/books', { method: 'POST', body: JSON.stringify({ title: 'Ubik' }) });
    expect(created.status).toBe(200);
    expect(mock.snapshot().books.map((book) => book.title)).toEqual(['Dune', 'Ubik']);
    mock.verify({ method: 'POST', path: '/api/books' }, { times: 1 });
});

test("the code under test's own fetch is answered for the intercepted origin", async () => {
    const response = await fetch('https://api.example.com/api/books?title=Dune');
    expect(await response.json()).toEqual([{ title: 'Dune', _id: 'b1' }]);
});

test('a per-test rule, and a delay that jest fake timers release', async () => {
    mock.use({ match: { path: '/api/books/b1' }, respond: { status: 503, json: { message: 'down' } } });
    expect((await mock.fetch('/api/books/b1')).status).toBe(503);
    jest.useFakeTimers();
    try {
        const pending = mock.fetch('/api/books?_delay=20000');
        await jest.advanceTimersByTimeAsync(20000);
        expect((await pending).status).toBe(200);
    } finally {
        jest.useRealTimers();
    }
});
