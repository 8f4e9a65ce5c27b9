// The JavaScript side of the wire between the endpoint (wasm) and its hosts: reads an answer of the
// endpoint's effects out of the wasm memory. Its layout is web-engine/src/wire.rs's; the tags come
// from `wireLayout()`, never written here. One file for every JavaScript host: the service worker
// loads it with importScripts, the Node package with require.
'use strict';

(function (root) {
    /** A DataView of the wasm memory, made again only when the memory was replaced (it grew). */
    let view = null;

    function viewOf(bytes) {
        if (view === null || view.buffer !== bytes.buffer || view.byteOffset !== bytes.byteOffset || view.byteLength !== bytes.byteLength) {
            view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        }
        return view;
    }

    const NO_HEADERS = Object.freeze([]);
    const EMPTY = new Uint8Array(0);

    /**
     * The answer at `start` in `bytes` (the wasm memory as a Uint8Array or Buffer), as one outcome:
     * `{status, headers (names and values alternating), body, delay, fault, stream, ticket, held,
     * publish, wake, opened, forgotten, persist}`. `tags` is `wireLayout().tags`; `text(from, to)`
     * decodes UTF-8 bytes of `bytes`. What it keeps is copied out, since the endpoint writes its next
     * answer in the same place.
     */
    function decode(bytes, start, tags, text) {
        const data = viewOf(bytes);
        const outcome = {
            status: 0,
            headers: NO_HEADERS,
            body: EMPTY,
            delay: 0,
            fault: undefined,
            subscriber: null,
            forward: null,
            stream: null,
            ticket: 0,
            held: 0,
            publish: null,
            wake: null,
            opened: null,
            forgotten: null,
            persist: null,
        };
        const u32 = (at) => data.getUint32(at, true);
        const name = (at) => {
            const length = u32(at);
            return [text(at + 4, at + 4 + length), at + 4 + length];
        };
        const response = (at) => {
            outcome.status = data.getUint16(at, true);
            at += 2;
            // The headers: their lengths, then one text holding them all.
            const headers = new Array(u32(at) * 2);
            at += 4;
            const lengths = at;
            at += headers.length * 4;
            const size = u32(at);
            at += 4;
            const all = text(at, at + size);
            at += size;
            let from = 0;
            for (let i = 0; i < headers.length; i++) {
                const to = from + u32(lengths + i * 4);
                headers[i] = all.slice(from, to);
                from = to;
            }
            outcome.headers = headers;
            const length = u32(at);
            at += 4;
            if (length > 0) {
                outcome.body = Uint8Array.prototype.slice.call(bytes, at, at + length);
            }
            return at + length;
        };
        let at = start + 8;
        const count = u32(start + 4);
        for (let n = 0; n < count; n++) {
            const tag = bytes[at++];
            if (tag === tags.respond) {
                at = response(at);
            } else if (tag === tags.wait) {
                outcome.delay += u32(at);
                at += 4;
            } else if (tag === tags.publish) {
                (outcome.publish ??= []).push(u32(at));
                at += 4;
            } else if (tag === tags.wake) {
                const streams = u32(at);
                at += 4;
                outcome.wake ??= [];
                for (let i = 0; i < streams; i++, at += 8) outcome.wake.push(data.getFloat64(at, true));
            } else if (tag === tags.stream) {
                outcome.stream = data.getFloat64(at, true);
                at = response(at + 8);
            } else if (tag === tags.forward) {
                outcome.ticket = data.getFloat64(at, true);
                outcome.held = u32(at + 8);
                at += 12;
            } else if (tag === tags.drop) {
                outcome.fault = 'reset';
            } else if (tag === tags.open || tag === tags.forget) {
                const [namespace, next] = name(at);
                at = next;
                const list = tag === tags.open ? (outcome.opened ??= []) : (outcome.forgotten ??= []);
                list.push(namespace);
            } else if (tag === tags.persist) {
                const [namespace, next] = name(at);
                (outcome.persist ??= []).push({ namespace, held: u32(next) });
                at = next + 4;
            } else {
                throw new Error(`mock-rest-api: the wire holds an effect of unknown tag ${tag}`);
            }
        }
        return outcome;
    }

    const wire = { decode };
    if (typeof module === 'object' && module.exports) {
        module.exports = wire;
    } else {
        root.mockWire = wire;
    }
})(typeof self !== 'undefined' ? self : globalThis);
