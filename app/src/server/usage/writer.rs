//! The bounded queue between requests and the database. A full queue drops the event and
//! counts it (never blocks a request); shutdown drains what is queued before returning.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use tokio::sync::{mpsc, oneshot};

use super::UsageEvent;
use crate::server::{Db, db};

/// Events written per transaction at most.
const BATCH: usize = 512;

/// How long a batch waits for more events once it has one. Under load this turns hundreds of
/// small transactions a second (each with its locks, WAL frames and wake-ups of the database
/// thread) into a few large ones; when idle it only delays the usage pages by as much.
const LINGER: Duration = Duration::from_millis(100);

/// Hands events to the writer; cheap to clone.
#[derive(Debug, Clone)]
pub struct UsageRecorder {
    tx: mpsc::Sender<UsageEvent>,
    dropped: Arc<AtomicU64>,
}

impl UsageRecorder {
    /// Queues an event; if the queue is full the event is dropped and counted.
    pub fn record(&self, event: UsageEvent) {
        if self.tx.try_send(event).is_err() {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(dropped = n, "usage queue full: events dropped");
            }
        }
    }

    /// Events dropped because the queue was full, since start.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Events waiting to be written.
    pub fn queued(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }
}

impl UsageRecorder {
    /// A recorder whose queue nobody reads, for tests of what happens when it is full.
    #[cfg(feature = "testing")]
    pub fn detached(capacity: usize) -> (Self, mpsc::Receiver<UsageEvent>) {
        let (tx, rx) = mpsc::channel(capacity);
        (
            Self {
                tx,
                dropped: Arc::default(),
            },
            rx,
        )
    }
}

/// The background task; [`UsageWriter::shutdown`] drains the queue and stops it.
#[derive(Debug)]
pub struct UsageWriter {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl UsageWriter {
    pub fn spawn(db: Db, capacity: usize) -> (UsageRecorder, Self) {
        let (tx, mut rx) = mpsc::channel(capacity);
        let (stop, mut stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            loop {
                tokio::select! {
                    n = rx.recv_many(&mut batch, BATCH) => {
                        if n == 0 {
                            break;
                        }
                        gather(&mut rx, &mut batch).await;
                        write(&db, &mut batch).await;
                    }
                    _ = &mut stopped => {
                        // Drain: whatever was queued before shutdown is written.
                        while let Ok(ev) = rx.try_recv() {
                            batch.push(ev);
                            if batch.len() == BATCH {
                                write(&db, &mut batch).await;
                            }
                        }
                        write(&db, &mut batch).await;
                        break;
                    }
                }
            }
        });
        (
            UsageRecorder {
                tx,
                dropped: Arc::default(),
            },
            Self { stop, task },
        )
    }

    /// Writes everything queued, then stops.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "usage writer failed");
        }
    }
}

/// Adds what arrives within [`LINGER`] to `batch`, up to a full batch.
async fn gather(rx: &mut mpsc::Receiver<UsageEvent>, batch: &mut Vec<UsageEvent>) {
    let deadline = tokio::time::Instant::now() + LINGER;
    while batch.len() < BATCH {
        let more = rx.recv_many(batch, BATCH - batch.len());
        match tokio::time::timeout_at(deadline, more).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

async fn write(db: &Db, batch: &mut Vec<UsageEvent>) {
    if batch.is_empty() {
        return;
    }
    // One retry: a busy database is worth a second try before events are lost.
    for attempt in 0..2 {
        match db::usage::insert_batch(db, batch).await {
            Ok(()) => break,
            Err(e) if attempt == 0 => {
                tracing::warn!(error = %e, "usage batch not written; retrying")
            }
            Err(e) => tracing::error!(error = %e, events = batch.len(), "usage batch lost"),
        }
    }
    batch.clear();
}
