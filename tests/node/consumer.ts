// A TypeScript consumer of every entry point, checked by `tsc --noEmit` (scripts/node.sh): the
// declarations must accept what the README shows and refuse what is wrong.
import { createMock, SETTINGS, type JournalEntry, type Mock, type Rule, type Snapshot } from 'mock-rest-api';
import { startMock, DEFAULT_PREFIXES } from 'mock-rest-api/browser';

export async function inTests(): Promise<Snapshot> {
    const mock: Mock = createMock({ delayMs: 0, corsOrigins: ['http://localhost:3000'], seed: { books: [{ title: 'Dune' }] } });
    const res: Response = await mock.fetch('/api/books');
    const books: unknown = await res.json();
    mock.intercept('https://api.example.com').restore();
    const base: string = await mock.listen();
    const names: string[] = SETTINGS.map((s) => `${s.name} --${s.flag} ${s.jsName}`);
    // @ts-expect-error: authScope is `all` or `writes`.
    createMock({ authScope: 'reads' });
    // @ts-expect-error: not an option.
    createMock({ delay: 5 });
    createMock({ openapi: 'openapi: 3.1.0', openapiSeed: 7, openapiSeedItems: 3 });
    createMock({ openapi: { openapi: '3.1.0', paths: {} } });
    void books, base, names;
    const posts: JournalEntry[] = mock.calls({ method: 'POST', path: '/api/books/*', query: { draft: true }, body: { title: 'Dune' } });
    mock.verify({ path: '/api/**' }, { atLeast: 1, atMost: 3, namespace: 'default' }).verify({ method: 'GET' });
    // @ts-expect-error: the journal keeps no headers.
    mock.calls({ headers: { 'x-tenant': 'a' } });
    // @ts-expect-error: `times` is a number.
    mock.verify({}, { times: 'twice' });
    const down: Rule = { match: { method: 'POST', path: '/api/payments', headers: { 'x-tenant': 'a' } }, respond: { status: 503, json: { message: 'down' } }, times: 1 };
    mock.use(down, { respond: { fault: 'reset' } }).resetRules();
    mock.use({ scenario: 'order', whenState: 'Started', setState: 'paid', match: { method: 'POST' }, respond: { status: 202 } });
    // @ts-expect-error: a rule needs `respond`.
    mock.use({ match: { path: '/x' } });
    // @ts-expect-error: `fault` is `reset` or `malformed`.
    mock.use({ respond: { fault: 'drop' } });
    createMock({ onUnhandledRequest: 'error', rules: [down] });
    // @ts-expect-error: not a choice.
    createMock({ onUnhandledRequest: 'ignore' });
    interface Todo { title: string; done: boolean }
    const todos: Todo[] = mock.snapshot<{ todos: Todo[] }>().todos;
    void posts, todos;
    mock.reset();
    const snapshot = mock.snapshot('default');
    await mock.close();
    return snapshot;
}

export async function inTheBrowser(): Promise<string> {
    const { namespace, registration } = await startMock({ namespace: 'shop', prefixes: [...DEFAULT_PREFIXES, '/graphql'], appName: 'shop' });
    await startMock({ openapi: 'openapi: 3.0.3', openapiSeed: '1' });
    await startMock({ namespace: 'shop', seed: { products: [] }, reseed: true });
    void registration.scope;
    return namespace;
}
