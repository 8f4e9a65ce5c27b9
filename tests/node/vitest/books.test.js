// vitest with createMock: intercept for fetch-based code, listen for axios. Run by scripts/node.sh in
// a project that installed the packed package.
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createMock } from 'mock-rest-api';
import { API, addBook, titles } from './books.js';
import { booksClient } from './books-axios.js';

const mock = createMock({ seed: { books: [{ _id: 'b1', title: 'Solaris' }] } });

beforeAll(() => mock.intercept(API));
afterEach(() => mock.reset());
afterAll(() => mock.close());

describe('a fetch client, through mock.intercept', () => {
    test('reads the seed', async () => {
        expect(await titles()).toEqual(['Solaris']);
    });

    test('writes to a real store', async () => {
        const book = await addBook('Dune');
        expect(book).toMatchObject({ title: 'Dune', _id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
        expect(await titles()).toEqual(['Dune', 'Solaris']);
        expect(mock.snapshot().books).toHaveLength(2);
    });

    test('each test starts from the seed again', async () => {
        expect(await titles()).toEqual(['Solaris']);
    });
});

describe('an axios client, through mock.listen', () => {
    test('the same store over a port of 127.0.0.1', async () => {
        const base = await mock.listen();
        expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
        const client = booksClient(base);
        const book = await client.add('Ubik');
        expect(await client.titles()).toEqual(['Solaris', 'Ubik']);
        expect(await titles()).toEqual(['Solaris', 'Ubik']);
        expect(await client.remove(book._id)).toMatchObject({ title: 'Ubik' });
        await expect(client.remove(book._id)).rejects.toMatchObject({ response: { status: 404 } });
    });
});
