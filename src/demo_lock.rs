//! One demo loader at a time per data directory. `marketplace demo` run while `up --demo`
//! is still loading would otherwise create every union, store and account twice, or fail
//! half way on the other's duplicates. The lock is an advisory `flock` on a 0600 file in
//! the data dir: the kernel drops it when its holder exits, even by a crash, so a lock is
//! never left stale. The `demo-loaded` marker, written only after a complete load, makes
//! a second load a no-op.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

pub const MARKER: &str = "demo-loaded";
pub const LOCK: &str = "demo-loading.lock";

/// What a loader may do once it has asked for the lock.
pub enum Claim {
    /// Someone loaded the demo completely, before or while we waited.
    Loaded,
    /// Ours to load; the lock holds until this is dropped.
    Ours(Held),
}

pub struct Held {
    _file: File,
    marker: PathBuf,
}

impl Held {
    /// Records a complete load, while the lock is still held so no waiter loads again.
    pub fn mark_loaded(self) -> std::io::Result<()> {
        shared::files::write_atomic(&self.marker, b"")
    }
}

/// Takes the load lock for `data_dir`, waiting while another loader holds it (`waiting`
/// is called once if so). A loader that failed releases the lock without the marker, and
/// the next one loads.
pub async fn claim(data_dir: &Path, waiting: impl FnOnce()) -> std::io::Result<Claim> {
    let marker = data_dir.join(MARKER);
    if marker.exists() {
        return Ok(Claim::Loaded);
    }
    let path = data_dir.join(LOCK);
    shared::files::ensure_file(&path)?;
    let file = File::options().write(true).open(&path)?;
    let file = match file.try_lock() {
        Ok(()) => file,
        Err(TryLockError::WouldBlock) => {
            waiting();
            tokio::task::spawn_blocking(move || file.lock().map(|()| file)).await.map_err(std::io::Error::other)??
        }
        Err(TryLockError::Error(e)) => return Err(e),
    };
    // The one we waited for may have finished the load.
    if marker.exists() {
        return Ok(Claim::Loaded);
    }
    Ok(Claim::Ours(Held { _file: file, marker }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_second_loader_waits_for_the_first_and_then_finds_the_demo_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let Claim::Ours(first) = claim(dir.path(), || panic!("nobody holds it yet")).await.unwrap() else {
            panic!("not loaded yet")
        };
        let path = dir.path().to_path_buf();
        let (waited, told) = tokio::sync::oneshot::channel();
        let second = tokio::spawn(async move { claim(&path, move || waited.send(()).unwrap()).await });
        told.await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!second.is_finished(), "the second waits while the first loads");
        first.mark_loaded().unwrap();
        assert!(matches!(second.await.unwrap().unwrap(), Claim::Loaded));
        assert!(matches!(claim(dir.path(), || panic!()).await.unwrap(), Claim::Loaded));
    }

    #[tokio::test]
    async fn a_failed_load_leaves_no_marker_and_the_next_loader_loads() {
        let dir = tempfile::tempdir().unwrap();
        let Claim::Ours(first) = claim(dir.path(), || {}).await.unwrap() else { panic!() };
        drop(first);
        assert!(matches!(claim(dir.path(), || panic!("released")).await.unwrap(), Claim::Ours(_)));
    }
}
