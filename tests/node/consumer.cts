// A TypeScript consumer that loads the package with `require` (CommonJS), checked by `tsc --noEmit`
// beside consumer.ts (scripts/node.sh): the `require` entry has the same declarations.
import mockRestApi = require('mock-rest-api');

export function inJestDefaultMode(): mockRestApi.Mock {
    const mock: mockRestApi.Mock = mockRestApi.createMock({ delayMs: 0, onUnhandledRequest: 'error' });
    mock.use({ match: { path: '/api/payments' }, respond: { status: 503 } });
    mock.verify({ method: 'GET' }, { atLeast: 0 });
    // @ts-expect-error: not an option.
    mockRestApi.createMock({ delay: 5 });
    return mock;
}
