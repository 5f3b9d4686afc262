//! Logging: tracing to a daily-rotated file in the data dir and to an in-memory ring buffer that
//! the Log view shows. Our own crate logs at info and up, dependencies at warn and up;
//! `RDS_EXPLORER_LOG` (an `EnvFilter` string) overrides the file's filter.
//!
//! Secrets never reach the log: they are held in [`crate::secret::Secret`], which prints `***`.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer};

/// Environment variable with an `EnvFilter` for the log file (e.g. `rds_explorer=debug`).
pub const LOG_FILTER_ENV: &str = "RDS_EXPLORER_LOG";

const DEFAULT_FILTER: &str = "warn,rds_explorer=info";

/// How serious a log line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Something failed.
    Error,
    /// Something looks wrong but work goes on.
    Warn,
    /// Normal progress worth knowing.
    Info,
}

/// One line in the Log view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// Local wall-clock time, `HH:MM:SS`.
    pub time: String,
    /// Severity.
    pub level: LogLevel,
    /// The module that logged it.
    pub target: String,
    /// The message followed by its fields as `key=value`.
    pub text: String,
}

type Waker = Arc<dyn Fn() + Send + Sync>;

/// A bounded, shared buffer of recent log lines for the Log view.
#[derive(Clone)]
pub struct LogBuffer {
    inner: Arc<Mutex<BufferInner>>,
}

struct BufferInner {
    lines: VecDeque<LogLine>,
    capacity: usize,
    /// Counts every line ever pushed, so a view can tell that something new arrived.
    pushed: u64,
    waker: Option<Waker>,
}

impl LogBuffer {
    /// A buffer keeping the newest `capacity` lines.
    pub fn new(capacity: usize) -> Self {
        let inner = BufferInner {
            lines: VecDeque::with_capacity(capacity),
            capacity,
            pushed: 0,
            waker: None,
        };
        Self {
            inner: Arc::new(Mutex::new(inner)),
        }
    }

    /// Called after each new line (the UI passes `request_repaint`).
    pub fn set_waker(&self, waker: impl Fn() + Send + Sync + 'static) {
        self.lock().waker = Some(Arc::new(waker));
    }

    /// Adds a line, dropping the oldest when full.
    pub fn push(&self, line: LogLine) {
        let waker = {
            let mut inner = self.lock();
            if inner.lines.len() == inner.capacity {
                inner.lines.pop_front();
            }
            inner.lines.push_back(line);
            inner.pushed += 1;
            inner.waker.clone()
        };
        if let Some(wake) = waker {
            wake();
        }
    }

    /// A copy of the buffered lines, oldest first, and the total count ever pushed.
    pub fn snapshot(&self) -> (Vec<LogLine>, u64) {
        let inner = self.lock();
        (inner.lines.iter().cloned().collect(), inner.pushed)
    }

    /// How many lines were ever pushed (cheap; lets a view skip copying when nothing changed).
    pub fn pushed(&self) -> u64 {
        self.lock().pushed
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BufferInner> {
        // Each operation leaves the buffer consistent, so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Keeps the background log writer alive; drop it last so buffered lines reach the file.
pub struct LogGuard {
    _file_writer: Option<tracing_appender::non_blocking::WorkerGuard>,
}

/// Installs the global subscriber: the rotating file in `log_dir` (if given and creatable) and the
/// buffer. Returns the guard and, if the file could not be set up, why (the app runs on without it).
pub fn init(log_dir: Option<&Path>, buffer: LogBuffer) -> (LogGuard, Option<String>) {
    let buffer_layer = BufferLayer { buffer }.with_filter(EnvFilter::new(DEFAULT_FILTER));
    let mut file_problem = None;
    let (file_layer, guard) = match log_dir.map(file_writer) {
        Some(Ok((writer, guard))) => {
            let filter = std::env::var(LOG_FILTER_ENV)
                .ok()
                .and_then(|spec| EnvFilter::try_new(spec).ok())
                .unwrap_or_else(|| EnvFilter::new(DEFAULT_FILTER));
            let layer = tracing_subscriber::fmt::layer()
                .with_writer(writer)
                .with_ansi(false)
                .with_filter(filter);
            (Some(layer), Some(guard))
        }
        Some(Err(error)) => {
            file_problem = Some(error);
            (None, None)
        }
        None => (None, None),
    };
    // A second init (tests building several apps) keeps the first subscriber; that is fine.
    let _ = tracing_subscriber::registry()
        .with(buffer_layer)
        .with(file_layer)
        .try_init();
    (
        LogGuard {
            _file_writer: guard,
        },
        file_problem,
    )
}

fn file_writer(
    dir: &Path,
) -> Result<
    (
        tracing_appender::non_blocking::NonBlocking,
        tracing_appender::non_blocking::WorkerGuard,
    ),
    String,
> {
    // The appender prunes old files at start and complains on stderr if the directory is missing.
    std::fs::create_dir_all(dir).map_err(|error| {
        format!(
            "could not create the log directory {}: {error}",
            dir.display()
        )
    })?;
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("rds-explorer")
        .filename_suffix("log")
        .max_log_files(7)
        .build(dir)
        .map_err(|error| {
            format!(
                "could not open the log directory {}: {error}",
                dir.display()
            )
        })?;
    Ok(tracing_appender::non_blocking(appender))
}

/// Copies events into a [`LogBuffer`].
struct BufferLayer {
    buffer: LogBuffer,
}

impl<S: tracing::Subscriber> Layer<S> for BufferLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let metadata = event.metadata();
        let level = match *metadata.level() {
            tracing::Level::ERROR => LogLevel::Error,
            tracing::Level::WARN => LogLevel::Warn,
            tracing::Level::INFO => LogLevel::Info,
            _ => return,
        };
        let mut visitor = TextVisitor::default();
        event.record(&mut visitor);
        self.buffer.push(LogLine {
            time: clock_time(),
            level,
            target: metadata.target().to_owned(),
            text: visitor.text,
        });
    }
}

/// Renders an event as `message key=value key=value`.
#[derive(Default)]
struct TextVisitor {
    text: String,
}

impl Visit for TextVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.text.insert_str(0, value);
        } else {
            let _ = write!(self.text, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.text.insert_str(0, &format!("{value:?}"));
        } else {
            let _ = write!(self.text, " {}={value:?}", field.name());
        }
    }
}

fn clock_time() -> String {
    let now = time::OffsetDateTime::now_local().unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    now.format(time::macros::format_description!(
        "[hour]:[minute]:[second]"
    ))
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffer_keeps_the_newest_lines_and_wakes() {
        let buffer = LogBuffer::new(2);
        let woken = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = Arc::clone(&woken);
        buffer.set_waker(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        });
        for n in 0..3 {
            buffer.push(LogLine {
                time: String::new(),
                level: LogLevel::Info,
                target: "t".into(),
                text: n.to_string(),
            });
        }
        let (lines, pushed) = buffer.snapshot();
        assert_eq!(pushed, 3);
        assert_eq!(
            lines.iter().map(|l| l.text.as_str()).collect::<Vec<_>>(),
            ["1", "2"]
        );
        assert_eq!(woken.load(std::sync::atomic::Ordering::Relaxed), 3);
    }

    #[test]
    fn layer_formats_message_and_fields() {
        let buffer = LogBuffer::new(10);
        let subscriber = tracing_subscriber::registry().with(BufferLayer {
            buffer: buffer.clone(),
        });
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(profile = "dev", count = 3, "inventory partly failed");
            tracing::debug!("not kept");
        });
        let (lines, _) = buffer.snapshot();
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].level, LogLevel::Warn);
        assert_eq!(lines[0].text, "inventory partly failed profile=dev count=3");
    }
}
