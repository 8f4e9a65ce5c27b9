// The same client with axios, which does not use fetch in Node (its http adapter opens a socket).
import axios from 'axios';

export function booksClient(baseURL) {
    const http = axios.create({ baseURL });
    return {
        add: async (title) => (await http.post('/api/books', { title })).data,
        titles: async () => (await http.get('/api/books', { params: { _sort: 'title' } })).data.map((b) => b.title),
        remove: async (id) => (await http.delete(`/api/books/${id}`)).data,
    };
}
