//! Reading a file the settings name (fixtures, rules, a data file) within a
//! bound, `Config::max_file_bytes`: a file is read whole before it is parsed,
//! so a huge file, or one that never ends (`/dev/zero`, a pipe), must stop at
//! the bound rather than take the machine's memory.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// Why a file was not read.
#[derive(Debug)]
pub enum FileError {
    /// It could not be opened or read.
    Io(io::Error),
    /// It holds more bytes than the bound; at most one byte past the bound was read.
    TooLarge,
}

impl From<io::Error> for FileError {
    fn from(err: io::Error) -> Self {
        Self::Io(err)
    }
}

/// The bytes of the file at `path`, if there are at most `limit` of them. A
/// regular file's size is checked before any of it is read; anything else (a
/// device, a pipe) is read up to one byte past the limit.
pub fn read_bounded(path: &Path, limit: usize) -> Result<Vec<u8>, FileError> {
    let file = File::open(path)?;
    let metadata = file.metadata()?;
    let size = if metadata.is_file() {
        metadata.len()
    } else {
        0
    };
    if size > limit as u64 {
        return Err(FileError::TooLarge);
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(limit).min(limit));
    file.take(limit as u64 + 1).read_to_end(&mut bytes)?;
    if bytes.len() > limit {
        return Err(FileError::TooLarge);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_past_the_bound_is_not_read() {
        let dir = std::env::temp_dir().join(format!("mock-rest-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("ten.json");
        std::fs::write(&file, b"0123456789").unwrap();
        assert_eq!(read_bounded(&file, 10).unwrap(), b"0123456789");
        assert!(matches!(read_bounded(&file, 9), Err(FileError::TooLarge)));
        assert!(matches!(
            read_bounded(&dir.join("missing.json"), 10),
            Err(FileError::Io(_))
        ));
        // A device with no end stops one byte past the bound.
        assert!(matches!(
            read_bounded(Path::new("/dev/zero"), 1 << 20),
            Err(FileError::TooLarge)
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
