//! The spill file of one result: sealed chunks past the memory cap are appended to an anonymous
//! temporary file (already unlinked on Unix, deleted on close elsewhere: nothing is left behind,
//! even after a crash) and read back on demand through a small cache of recently used chunks.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use super::StoreError;
use super::chunk::Chunk;

/// Where a spilled chunk lives in the file.
#[derive(Clone, Copy, Debug)]
pub(super) struct SpillRef {
    offset: u64,
    len: usize,
}

/// The temporary file and how far it is written.
pub(super) struct SpillFile {
    state: Mutex<SpillState>,
    dir: PathBuf,
}

struct SpillState {
    file: File,
    len: u64,
}

impl SpillFile {
    /// Creates the file in `dir` (the system temporary directory when `None`).
    pub(super) fn create(dir: Option<&Path>) -> Result<Self, StoreError> {
        let dir = dir.map_or_else(std::env::temp_dir, Path::to_owned);
        let file = tempfile::tempfile_in(&dir).map_err(|source| StoreError::Spill {
            dir: dir.clone(),
            source,
        })?;
        Ok(Self {
            state: Mutex::new(SpillState { file, len: 0 }),
            dir,
        })
    }

    /// Bytes written so far.
    pub(super) fn len_bytes(&self) -> u64 {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len
    }

    /// Appends a chunk.
    pub(super) fn write(&self, chunk: &Chunk) -> Result<SpillRef, StoreError> {
        let bytes = chunk.encode();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let offset = state.len;
        let error = |source| StoreError::Spill {
            dir: self.dir.clone(),
            source,
        };
        state.file.seek(SeekFrom::Start(offset)).map_err(error)?;
        state.file.write_all(&bytes).map_err(error)?;
        state.len += bytes.len() as u64;
        Ok(SpillRef {
            offset,
            len: bytes.len(),
        })
    }

    /// Reads a chunk back.
    pub(super) fn read(&self, at: SpillRef, widths: &[Option<usize>]) -> Result<Chunk, StoreError> {
        let mut bytes = vec![0; at.len];
        {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            state
                .file
                .seek(SeekFrom::Start(at.offset))
                .and_then(|_| state.file.read_exact(&mut bytes))
                .map_err(StoreError::SpillRead)?;
        }
        Chunk::decode(&bytes, widths).ok_or_else(|| {
            StoreError::SpillRead(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "a spilled chunk does not decode",
            ))
        })
    }
}

/// Spilled chunks most recently read, newest first.
#[derive(Default)]
pub(super) struct ChunkCache {
    entries: Mutex<VecDeque<(usize, Arc<Chunk>)>>,
}

/// Chunks kept by [`ChunkCache`]: enough for a grid page that straddles two chunks.
const CACHED_CHUNKS: usize = 2;

impl ChunkCache {
    /// The chunk with this index from the cache, or loaded by `load` and cached.
    pub(super) fn get_or_load(
        &self,
        index: usize,
        load: impl FnOnce() -> Result<Chunk, StoreError>,
    ) -> Result<Arc<Chunk>, StoreError> {
        let lock = || self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(chunk) = lock()
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, c)| c.clone())
        {
            return Ok(chunk);
        }
        // Loaded without the lock held: a slow disk must not stall other readers.
        let chunk = Arc::new(load()?);
        let mut entries = lock();
        entries.retain(|(i, _)| *i != index);
        entries.push_front((index, chunk.clone()));
        entries.truncate(CACHED_CHUNKS);
        Ok(chunk)
    }

    /// Bytes held by cached chunks.
    pub(super) fn memory_bytes(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(_, chunk)| chunk.memory_bytes())
            .sum()
    }
}
