//! Files and folders the services create: readable by their owner only, files 0600 and
//! folders 0700, whatever the process umask. The data directory holds databases, keys,
//! tokens and unsent mail; nobody else on the machine has a reason to read any of it.

use std::fs::{DirBuilder, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

pub const FILE_MODE: u32 = 0o600;
pub const DIR_MODE: u32 = 0o700;

/// Creates `dir` and its missing parents 0700. An existing folder is left as it is: the
/// parent of a configured database path may be anyone's (`/tmp`).
pub fn create_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir)
}

/// Creates a folder of the services' own (the data directory, `keys/`, `mail/`) and
/// narrows it if it exists with a wider mode.
pub fn create_own_dir(dir: &Path) -> io::Result<()> {
    create_dir(dir)?;
    narrow(dir)
}

/// Takes the group and other bits off `path`, keeping its own and the special bits. A
/// symlink is left alone: its target may be anything, and is not ours to change.
pub fn narrow(path: &Path) -> io::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    if meta.file_type().is_symlink() {
        return Ok(());
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        std::fs::set_permissions(path, Permissions::from_mode(mode & !0o077))?;
    }
    Ok(())
}

/// Narrows `root` and everything beneath it: a data directory made by an older build (or
/// under a loose umask) holds files others could read. A `root` that is a symlink (a data
/// directory on another volume) is followed once; links beneath it are not. One entry
/// that cannot be narrowed does not stop the rest: the walk goes on and the first error
/// is returned with the number of failures.
pub fn narrow_tree(root: &Path) -> io::Result<()> {
    let root = std::fs::canonicalize(root)?;
    let mut failures = Vec::new();
    walk(&root, &mut failures);
    match failures.len() {
        0 => Ok(()),
        n => {
            let first = failures.swap_remove(0);
            Err(io::Error::new(first.kind(), format!("{n} entries could not be narrowed, first: {first}")))
        }
    }
}

fn walk(path: &Path, failures: &mut Vec<io::Error>) {
    let result = (|| -> io::Result<()> {
        narrow(path)?;
        if !std::fs::symlink_metadata(path)?.is_dir() {
            return Ok(());
        }
        for entry in std::fs::read_dir(path)? {
            match entry {
                Ok(entry) => walk(&entry.path(), failures),
                Err(e) => failures.push(e),
            }
        }
        Ok(())
    })();
    match result {
        // Deleted meanwhile (a mail handed over, a temporary renamed): nothing to narrow.
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => failures.push(e),
        Ok(()) => {}
    }
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
        // Creating an existing folder of our own narrows it too.
        std::fs::set_permissions(&dir, Permissions::from_mode(0o755)).unwrap();
        create_own_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
    }

    #[test]
    fn a_folder_that_is_not_ours_keeps_its_mode_and_special_bits() {
        // A database configured under a shared folder such as /tmp (1777).
        let root = tempfile::tempdir().unwrap();
        let shared = root.path().join("tmp");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, Permissions::from_mode(0o1777)).unwrap();
        create_dir(&shared).unwrap();
        let full = |p: &Path| std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(full(&shared), 0o1777);
        // Narrowing one of ours keeps its sticky or setgid bit.
        let own = root.path().join("own");
        std::fs::create_dir(&own).unwrap();
        std::fs::set_permissions(&own, Permissions::from_mode(0o2775)).unwrap();
        narrow(&own).unwrap();
        assert_eq!(full(&own), 0o2700);
    }

    #[test]
    fn a_data_directory_that_is_a_symlink_is_narrowed_where_it_points() {
        let volume = tempfile::tempdir().unwrap();
        let real = volume.path().join("data");
        std::fs::create_dir(&real).unwrap();
        std::fs::set_permissions(&real, Permissions::from_mode(0o755)).unwrap();
        let mail = real.join("x.eml");
        std::fs::write(&mail, b"To: someone").unwrap();
        std::fs::set_permissions(&mail, Permissions::from_mode(0o644)).unwrap();
        let link = volume.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        narrow_tree(&link).unwrap();
        assert_eq!((mode(&real), mode(&mail)), (0o700, 0o600));
    }
}
