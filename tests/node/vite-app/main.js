// A web app that mocks its API in development: the mock starts before the first request, so that
// request is answered by the service worker (from `npx mock-rest-api init public/`). Only the dev
// server starts it: `import.meta.env.DEV` is false in `vite build`, which then drops the import, and
// vite.config.js leaves the mock's files out of the build.
async function main() {
    if (import.meta.env.DEV) {
        const { startMock } = await import('mock-rest-api/browser');
        await startMock({ namespace: 'vite-app', appName: 'vite-app', seed: { books: [{ _id: 'b1', title: 'Solaris' }] } });
    }
    const res = await fetch('/api/books');
    const books = await res.json();
    document.getElementById('books').replaceChildren(
        ...books.map((book) => Object.assign(document.createElement('li'), { textContent: book.title })),
    );
    return { status: res.status, titles: books.map((book) => book.title), controlled: navigator.serviceWorker.controller !== null };
}

window.app = main().catch((err) => ({ error: err.message }));
