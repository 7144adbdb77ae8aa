//! Full loads build their index on one thread kept for the purpose, and the index they replace
//! is freed there too. glibc's allocator gives each thread its own arena and keeps freed memory
//! in the arena it came from: built on whichever runtime thread a load happened to run on, each
//! full load of 100,000 keys took fresh memory from another arena, and resident memory climbed
//! with each (55 MiB at start, 146 after five full loads, measured with `scripts/bench.sh
//! keys`). On one thread, fed through a bounded channel so that few rows are in flight, a load
//! reuses what the last one freed: 82 MiB after the first, 93 after the fifth.

use std::sync::{OnceLock, mpsc};

type Job = Box<dyn FnOnce() + Send>;

static THREAD: OnceLock<Option<mpsc::Sender<Job>>> = OnceLock::new();

/// Runs `job` on the load thread, or here if that thread cannot be had.
pub fn run(job: impl FnOnce() + Send + 'static) {
    let thread = THREAD.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        let spawned = std::thread::Builder::new()
            .name("key-cache-load".into())
            .spawn(move || {
                for job in rx {
                    job();
                }
            });
        match spawned {
            Ok(_) => Some(tx),
            Err(e) => {
                tracing::warn!(error = %e, "cannot start the key cache's load thread; loading in place");
                None
            }
        }
    });
    let job: Job = Box::new(job);
    match thread {
        Some(tx) => {
            if let Err(mpsc::SendError(job)) = tx.send(job) {
                // The thread is gone (a load panicked): load in place.
                job();
            }
        }
        None => job(),
    }
}
