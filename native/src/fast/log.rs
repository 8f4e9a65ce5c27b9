//! The log's writer: each event's text is appended to a bounded buffer that
//! a thread of its own writes to stderr, so a request never waits on stderr
//! (a slow terminal, a full pipe, a busy disk) and many lines cost one write.
//!
//! - The thread sleeps until a line arrives in an empty buffer, then lets
//!   [`BATCH`] pass to gather more and writes them all at once: a line reaches
//!   stderr within about [`BATCH`], and a busy server makes one write and one
//!   wake-up per batch, not per request.
//! - When stderr falls so far behind that [`BUFFER_BYTES`] wait, new lines
//!   are dropped, not waited for, and counted; the next write says how many
//!   were dropped.
//! - [`LogGuard`], when dropped (at the end of `main`), writes every line
//!   buffered so far and flushes before the process exits.
//! - [`Timestamps`] writes each line's time as `tracing_subscriber`'s default
//!   does, making the date and time up to the second once a second.
//! - [`request_line`] writes the one line per request straight into the
//!   buffer, in the text `tracing_subscriber`'s default format gives it,
//!   without going through `tracing`'s event and field machinery (about
//!   0.4 µs of CPU a request); [`write_request_lines`] turns it on, when the
//!   log is that format without colours, as the binary's is.

use std::cell::RefCell;
use std::fmt;
use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::MakeWriter;

/// The most bytes of log lines waiting to be written; past it, lines are dropped.
pub const BUFFER_BYTES: usize = 4 * 1024 * 1024;

/// How long the log thread gathers lines before it writes them.
pub const BATCH: Duration = Duration::from_millis(5);

#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    dropped: u64,
    stop: bool,
}

#[derive(Default)]
struct Shared {
    pending: Mutex<Pending>,
    arrived: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A `MakeWriter` for `tracing_subscriber::fmt` that buffers each event's
/// text for the log thread.
#[derive(Clone)]
pub struct LogWriter(Arc<Shared>);

/// Stops the log thread when dropped, after it has written every line buffered.
pub struct LogGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// Starts the log thread over `out` (stderr in the binary); the writer to
/// give `tracing_subscriber`, and the guard to keep until the end of `main`.
pub fn non_blocking(out: impl Write + Send + 'static) -> io::Result<(LogWriter, LogGuard)> {
    let shared = Arc::new(Shared::default());
    let theirs = Arc::clone(&shared);
    let thread = std::thread::Builder::new()
        .name("log".to_owned())
        .spawn(move || write_lines(&theirs, out))?;
    Ok((
        LogWriter(Arc::clone(&shared)),
        LogGuard {
            shared,
            thread: Some(thread),
        },
    ))
}

fn write_lines(shared: &Shared, out: impl Write) {
    let mut out = out;
    let mut spare = Vec::new();
    let mut pending = shared.lock();
    loop {
        while pending.bytes.is_empty() && !pending.stop {
            pending = shared
                .arrived
                .wait(pending)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if !pending.stop {
            drop(pending);
            std::thread::sleep(BATCH);
            pending = shared.lock();
        }
        std::mem::swap(&mut pending.bytes, &mut spare);
        let dropped = std::mem::take(&mut pending.dropped);
        let stop = pending.stop;
        drop(pending);
        // Write errors are ignored: there is nowhere left to report them.
        let _ = out.write_all(&spare);
        if dropped > 0 {
            let _ = writeln!(
                out,
                "mock-rest-api: {dropped} log lines dropped: the log could not keep up"
            );
        }
        let _ = out.flush();
        spare.clear();
        if stop {
            return;
        }
        pending = shared.lock();
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.arrived.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One event's text, buffered when the event is written whole (on drop).
pub struct Line<'a> {
    text: Vec<u8>,
    writer: &'a LogWriter,
}

impl Write for Line<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.text.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Line<'_> {
    fn drop(&mut self) {
        if self.text.is_empty() {
            return;
        }
        let shared = &self.writer.0;
        let mut pending = shared.lock();
        let was_empty = pending.bytes.is_empty();
        if pending.bytes.len() + self.text.len() > BUFFER_BYTES {
            pending.dropped += 1;
        } else {
            pending.bytes.extend_from_slice(&self.text);
        }
        drop(pending);
        // One wake-up per batch: the thread is asleep only while the buffer is empty.
        if was_empty {
            shared.arrived.notify_one();
        }
    }
}

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Line<'a> {
        Line {
            text: Vec::with_capacity(160),
            writer: self,
        }
    }
}

/// Each line's time, in UTC to the microsecond, as `tracing_subscriber`'s
/// default timer writes it (`2026-11-30T08:04:08.123456Z`), with the text up
/// to the second made once a second per thread: most lines write only their
/// microseconds.
#[derive(Debug, Default, Clone, Copy)]
pub struct Timestamps;

thread_local! {
    /// The second last written on this thread, and its text without the `Z`.
    static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

impl FormatTime for Timestamps {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        write_now(w)
    }
}

/// Writes the time now as [`Timestamps`] does.
fn write_now(w: &mut impl fmt::Write) -> fmt::Result {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let (secs, micros) = (since.as_secs(), since.subsec_micros());
    SECOND.with(|second| {
        let mut second = second.borrow_mut();
        if second.0 != secs {
            let time = UNIX_EPOCH + Duration::from_secs(secs);
            let text = humantime::format_rfc3339_seconds(time).to_string();
            *second = (secs, text.trim_end_matches('Z').to_owned());
        }
        let mut fraction = *b".000000Z";
        let mut rest = micros;
        for digit in fraction[1..7].iter_mut().rev() {
            *digit = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        w.write_str(&second.1)?;
        w.write_str(std::str::from_utf8(&fraction).unwrap_or(".000000Z"))
    })
}

/// The writer [`request_line`] appends to, once [`write_request_lines`] set it.
static REQUEST_LINES: OnceLock<LogWriter> = OnceLock::new();

/// Lets [`request_line`] write request lines straight to `writer`'s buffer.
/// Call it only when the log's subscriber is `tracing_subscriber::fmt` with
/// its default (full) format, [`Timestamps`], no ANSI colours, and `writer`,
/// as in the binary: the lines are then the same as the subscriber's. A
/// second call changes nothing.
pub fn write_request_lines(writer: &LogWriter) {
    let _ = REQUEST_LINES.set(writer.clone());
}

/// The target a request line is logged under: the handler's module, as
/// `tracing::info!` there names it (and `RUST_LOG` filters it).
pub const REQUEST_TARGET: &str = "mock_rest_api::api";

/// Appends one request line, `message` at `INFO` under [`REQUEST_TARGET`],
/// to the log's buffer in the text the subscriber would write (time, level,
/// target, the message with ANSI and C1 controls escaped as it escapes them).
/// `false`, writing nothing, when [`write_request_lines`] was not called: then
/// log it through `tracing`. The caller checks the filter first
/// (`tracing::enabled!`).
pub fn request_line(message: fmt::Arguments<'_>) -> bool {
    let Some(writer) = REQUEST_LINES.get() else {
        return false;
    };
    let shared = &writer.0;
    let mut pending = shared.lock();
    let was_empty = pending.bytes.is_empty();
    let start = pending.bytes.len();
    // Writing to a vector fails only if a `Display` fails; the line is then cut.
    let written = append_line(&mut pending.bytes, message);
    if written.is_err() || pending.bytes.len() > BUFFER_BYTES {
        pending.bytes.truncate(start);
        if written.is_ok() {
            pending.dropped += 1;
        }
    }
    let wake = was_empty && !pending.bytes.is_empty();
    drop(pending);
    if wake {
        shared.arrived.notify_one();
    }
    true
}

/// Appends a request line, its newline included, to `bytes`.
fn append_line(bytes: &mut Vec<u8>, message: fmt::Arguments<'_>) -> fmt::Result {
    let mut out = Escaping {
        bytes,
        escape: false,
    };
    write_now(&mut out)?;
    fmt::Write::write_str(&mut out, "  INFO ")?;
    fmt::Write::write_str(&mut out, REQUEST_TARGET)?;
    fmt::Write::write_str(&mut out, ": ")?;
    out.escape = true;
    fmt::write(&mut out, message)?;
    out.bytes.push(b'\n');
    Ok(())
}

/// Appends text to a line; with `escape`, writes the characters
/// `tracing_subscriber` escapes in a message (ESC, BEL, BS, FF, DEL and the
/// C1 controls) as it writes them.
struct Escaping<'a> {
    bytes: &'a mut Vec<u8>,
    escape: bool,
}

impl fmt::Write for Escaping<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let plain = |b: &u8| !matches!(b, 0x1b | 0x07 | 0x08 | 0x0c | 0x7f | 0xc2);
        if !self.escape || text.as_bytes().iter().all(plain) {
            self.bytes.extend_from_slice(text.as_bytes());
            return Ok(());
        }
        for ch in text.chars() {
            match ch {
                '\x1b' => self.bytes.extend_from_slice(b"\\x1b"),
                '\x07' => self.bytes.extend_from_slice(b"\\x07"),
                '\x08' => self.bytes.extend_from_slice(b"\\x08"),
                '\x0c' => self.bytes.extend_from_slice(b"\\x0c"),
                '\x7f' => self.bytes.extend_from_slice(b"\\x7f"),
                '\u{80}'..='\u{9f}' => {
                    use std::io::Write as _;
                    let _ = write!(self.bytes, "\\u{{{:x}}}", ch as u32);
                }
                _ => {
                    let mut utf8 = [0; 4];
                    self.bytes
                        .extend_from_slice(ch.encode_utf8(&mut utf8).as_bytes());
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A writer whose bytes the test can read after the log thread stops.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn timestamps_read_as_the_default_timer_writes_them() {
        let format = |timer: &dyn FormatTime| {
            let mut text = String::new();
            timer.format_time(&mut Writer::new(&mut text)).unwrap();
            text
        };
        for _ in 0..3 {
            let theirs = format(&tracing_subscriber::fmt::time::SystemTime);
            let ours = format(&Timestamps);
            let again = format(&tracing_subscriber::fmt::time::SystemTime);
            // Both are `YYYY-MM-DDTHH:MM:SS.ffffffZ`; ours lies between the two.
            assert_eq!(ours.len(), theirs.len(), "{ours} {theirs}");
            assert!(theirs <= ours && ours <= again, "{theirs} {ours} {again}");
        }
        let mut text = String::new();
        for _ in 0..2 {
            Timestamps.format_time(&mut Writer::new(&mut text)).unwrap();
        }
        assert_eq!(text.matches('Z').count(), 2, "{text}");
    }

    #[test]
    fn request_lines_read_as_the_subscriber_writes_them() {
        let messages = [
            "POST /api/posted 200 0.1ms",
            "GET /api/people?q=%1b 404 12.3ms",
            // Every character the subscriber escapes, and some it does not.
            "X \u{1b}[31m \u{7} \u{8} \u{c} \u{7f} \u{80} \u{85} \u{9f} \u{a0} é \t end",
        ];
        let theirs = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer({
                let theirs = theirs.clone();
                move || theirs.clone()
            })
            .with_timer(Timestamps)
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            for message in messages {
                tracing::info!(target: REQUEST_TARGET, "{}", message);
            }
        });
        let theirs = String::from_utf8(theirs.0.lock().unwrap().clone()).unwrap();
        let mut ours = Vec::new();
        for message in messages {
            append_line(&mut ours, format_args!("{}", message)).unwrap();
        }
        let ours = String::from_utf8(ours).unwrap();
        // The same lines but for their times, which are 27 bytes each in both.
        let untimed = |text: &str| -> Vec<String> {
            text.lines()
                .map(|line| {
                    assert_eq!(line.as_bytes()[26], b'Z', "{line}");
                    line[27..].to_owned()
                })
                .collect()
        };
        assert_eq!(untimed(&ours), untimed(&theirs));
        assert_eq!(untimed(&ours).len(), messages.len());
        assert!(
            ours.contains("\\x1b[31m") && ours.contains("\\u{85}"),
            "{ours}"
        );
        assert!(ours.ends_with(" \\u{9f} \u{a0} é \t end\n"), "{ours}");
    }

    #[test]
    fn request_lines_go_through_the_buffer_and_are_dropped_past_its_bound() {
        let out = Captured::default();
        let (writer, guard) = non_blocking(out.clone()).unwrap();
        // The only test in this process that sets it.
        write_request_lines(&writer);
        assert!(request_line(format_args!("GET /a {} 0.1ms", 200)));
        let big = "x".repeat(BUFFER_BYTES);
        assert!(request_line(format_args!("{big}")));
        assert!(request_line(format_args!("GET /b 404 0.2ms")));
        drop(guard);
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        // The count follows the batch the drop fell in, which the log thread may have
        // taken before /b arrived: it comes after /a, before or after /b.
        let (notices, lines): (Vec<&str>, Vec<&str>) = text
            .lines()
            .partition(|line| line.starts_with("mock-rest-api: "));
        assert_eq!(
            notices,
            ["mock-rest-api: 1 log lines dropped: the log could not keep up"],
            "{text}"
        );
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].ends_with("Z  INFO mock_rest_api::api: GET /a 200 0.1ms"));
        assert!(lines[1].ends_with("Z  INFO mock_rest_api::api: GET /b 404 0.2ms"));
        assert!(text.find("GET /a").unwrap() < text.find("mock-rest-api: ").unwrap());
    }

    #[test]
    fn every_line_is_written_by_the_time_the_guard_is_dropped() {
        let out = Captured::default();
        let (writer, guard) = non_blocking(out.clone()).unwrap();
        for n in 0..1000 {
            let mut line = writer.make_writer();
            write!(line, "line {n}").unwrap();
            writeln!(line).unwrap();
        }
        // Past the bound, lines are dropped and counted.
        let big = vec![b'x'; BUFFER_BYTES + 1];
        writer.make_writer().write_all(&big).unwrap();
        drop(guard);
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let expected: String = (0..1000).map(|n| format!("line {n}\n")).collect();
        let dropped = "mock-rest-api: 1 log lines dropped: the log could not keep up\n";
        assert_eq!(text, format!("{expected}{dropped}"));
    }
}
