// The ceiling of any server on node:http here: reads the request's body and answers every request
// with one fixed person as JSON (201 to a POST), with no store and no engine. bench/bench.py runs it
// beside the npm package's server, pinned to the same CPU, for the same scenarios.
//
//   node bench/node-bare.mjs --host 127.0.0.1 --port N [other flags, ignored]
import http from 'node:http';

const args = process.argv.slice(2);
const value = (flag) => {
    const at = args.indexOf(flag);
    return at >= 0 ? args[at + 1] : undefined;
};
const port = Number(value('--port'));
if (!Number.isSafeInteger(port) || port < 0 || port > 65535) {
    console.error(`node-bare: --port ${value('--port')}: a port number is needed`);
    process.exit(2);
}
const body = Buffer.from('{"first_name":"Darth","last_name":"Vader7","age":27,"_id":"p0000007"}');
const server = http.createServer((req, res) => {
    req.on('data', () => {});
    req.on('end', () => {
        res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json', 'content-length': body.length });
        res.end(body);
    });
});
server.listen(port, value('--host') ?? '127.0.0.1');
