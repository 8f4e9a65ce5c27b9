// The code under test: a small client of a books API, calling the global fetch as an app would.
export const API = 'https://books.example.test';

export async function addBook(title) {
    const res = await fetch(`${API}/api/books`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ title }),
    });
    if (!res.ok) {
        throw new Error(`addBook: ${res.status} ${(await res.json()).message}`);
    }
    return res.json();
}

export async function titles() {
    const res = await fetch(`${API}/api/books?_sort=title`);
    return (await res.json()).map((book) => book.title);
}
