//! Writes that never leave a half-written file.

use crate::{Error, Result};
use std::path::Path;

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so
/// that `path` always holds either the old or the new contents, never a partial file. The
/// temporary file is created exclusively under an unpredictable name (`.NAME.tmp-XXXXXX`),
/// so nothing planted in the folder (a symlink) can redirect the write; it is fsynced
/// before the rename, and the folder after it, so the rename survives a power cut.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let result = (|| {
        // Dropped on any failure below, which removes it.
        let prefix = format!(".{name}{TEMP_MARK}");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix);
        #[cfg(unix)]
        {
            // What a plain create gives (0666 less the umask), not tempfile's private 0600:
            // the files are results to share, not secrets.
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let mut temp = builder.tempfile_in(dir)?;
        temp.write_all(bytes)?;
        temp.as_file().sync_all()?;
        temp.persist(path).map_err(|e| e.error)?;
        sync_folder(dir)
    })();
    result.map_err(|e| Error::io(path, e))
}

/// What every temporary file's name holds after the target's name.
pub const TEMP_MARK: &str = ".tmp-";

/// Whether `name` is one of [`write_atomic`]'s temporary files (left by a killed write).
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.contains(TEMP_MARK)
}

#[cfg(unix)]
fn sync_folder(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_folder(_dir: &Path) -> std::io::Result<()> {
    // Windows cannot open a folder as a file; its renames are journaled.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary files left"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(
                mode & 0o044,
                0o044,
                "readable as a created file is: {mode:o}"
            );
        }
        let err = write_atomic(&dir.path().join("missing/out.bin"), b"x").unwrap_err();
        assert!(err.to_string().contains("missing/out.bin"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_planted_symlink_does_not_redirect_the_write() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        // Where a predictable temporary name would point.
        let planted = dir
            .path()
            .join(format!(".out.bin{TEMP_MARK}{}", std::process::id()));
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        let path = dir.path().join("out.bin");
        write_atomic(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert!(std::fs::symlink_metadata(&planted).unwrap().is_symlink());
    }
}
