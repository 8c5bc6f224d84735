//! Files and folders the services create: readable by their owner only, files 0600 and
//! folders 0700, whatever the process umask. The data directory holds databases, keys,
//! tokens and unsent mail; nobody else on the machine has a reason to read any of it.

use std::fs::{DirBuilder, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

pub const FILE_MODE: u32 = 0o600;
pub const DIR_MODE: u32 = 0o700;

/// Creates `dir` and its missing parents 0700, and narrows `dir` itself if it exists with
/// a wider mode.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir)?;
    narrow(dir)
}

/// Takes the group and other bits off `path`. A symlink is left alone: its target may be
/// anything, and is not ours to change.
pub fn narrow(path: &Path) -> io::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    if meta.file_type().is_symlink() {
        return Ok(());
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        std::fs::set_permissions(path, Permissions::from_mode(mode & 0o700))?;
    }
    Ok(())
}

/// Narrows `root` and everything beneath it: a data directory made by an older build (or
/// under a loose umask) holds files others could read.
pub fn narrow_tree(root: &Path) -> io::Result<()> {
    narrow(root)?;
    if !std::fs::symlink_metadata(root)?.is_dir() {
        return Ok(());
    }
    for entry in std::fs::read_dir(root)? {
        let path = entry?.path();
        match narrow_tree(&path) {
            // Deleted meanwhile (a mail handed over, a temporary renamed): nothing to narrow.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            other => other?,
        }
    }
    Ok(())
}

/// Creates a new file 0600; fails if it exists.
pub fn create_new(path: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).mode(FILE_MODE).open(path)
}

/// Makes sure `path` exists as a 0600 file without touching its content: a file another
/// program opens later (SQLite) inherits its mode from it.
pub fn ensure_file(path: &Path) -> io::Result<()> {
    OpenOptions::new().write(true).create(true).truncate(false).mode(FILE_MODE).open(path)?;
    narrow(path)
}

/// Writes `bytes` to `path` so that a reader sees either nothing or the whole file: a
/// 0600 temporary beside it, synced, then renamed over `path`. The temporary's name starts
/// with a dot, which pickup directories skip.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let temp = dir.join(format!(".{}.{}.tmp", name.to_string_lossy(), crate::ids::random_hex128()));
    let written = (|| {
        let mut file = create_new(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn what_is_created_is_owner_only_whatever_the_umask_allows() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a").join("b");
        create_dir(&dir).unwrap();
        assert_eq!((mode(&root.path().join("a")), mode(&dir)), (DIR_MODE, DIR_MODE));
        let file = dir.join("secret");
        write_atomic(&file, b"one").unwrap();
        write_atomic(&file, b"two").unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"two");
        assert_eq!(mode(&file), FILE_MODE);
        // Nothing but the file is left: the temporaries were renamed.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        let db = dir.join("x.db");
        ensure_file(&db).unwrap();
        assert_eq!(mode(&db), FILE_MODE);
        assert!(create_new(&db).is_err(), "an existing file is never replaced");
    }

    #[test]
    fn a_tree_made_with_wide_modes_is_narrowed_and_content_kept() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("keys");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(root.path(), Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&dir, Permissions::from_mode(0o775)).unwrap();
        let file = dir.join("k.pk8");
        std::fs::write(&file, b"key").unwrap();
        std::fs::set_permissions(&file, Permissions::from_mode(0o644)).unwrap();
        let outside = tempfile::NamedTempFile::new().unwrap();
        std::fs::set_permissions(outside.path(), Permissions::from_mode(0o644)).unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("link")).unwrap();

        narrow_tree(root.path()).unwrap();
        assert_eq!((mode(root.path()), mode(&dir), mode(&file)), (0o700, 0o700, 0o600));
        assert_eq!(std::fs::read(&file).unwrap(), b"key");
        assert_eq!(mode(outside.path()), 0o644, "a symlink's target is not followed");
        // Creating an existing folder narrows it too.
        std::fs::set_permissions(&dir, Permissions::from_mode(0o755)).unwrap();
        create_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
    }
}
