//! Where document content lives: a store addressed by the content's SHA-256.
//! Identical content is stored once, and a stored blob is never overwritten.
//!
//! [`BlobStore`] is the interface; [`FsBlobStore`] keeps blobs in a folder
//! (by default under the data directory). An S3-compatible store (the
//! `object_store` crate) can implement the same four calls.
//!
//! Uploads are first written to a staging file while they are hashed
//! ([`Staged`]), so the address is known before the blob is stored.

use futures_util::future::BoxFuture;
use sha2::{Digest, Sha256};
use std::io;
use std::path::PathBuf;
use tokio::fs::File;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

/// An upload written to local staging: its file, size and hex SHA-256.
pub struct Staged {
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
}

impl Drop for Staged {
    fn drop(&mut self) {
        // Stored blobs were moved away; anything left is an abandoned upload.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Why a stored blob cannot be served.
#[derive(Debug)]
pub enum BlobProblem {
    /// Nothing is stored at that address.
    Missing,
    /// The stored bytes do not hash to their address (or have the wrong size).
    Corrupt,
    Io(io::Error),
}

/// A blob ready to stream: opened and checked against its address.
pub struct Blob {
    pub file: File,
    pub size: u64,
}

/// The interface of a content-addressed store.
pub trait BlobStore: Send + Sync {
    /// A new staging file for an upload.
    fn stage(&self) -> BoxFuture<'_, io::Result<(PathBuf, File)>>;
    /// Stores a staged upload at its address; true when it was new (false:
    /// that content was already stored, and is kept as it was).
    fn put(&self, staged: Staged) -> BoxFuture<'_, io::Result<bool>>;
    /// Opens a blob after checking that its bytes still hash to `sha256`.
    fn open<'a>(&'a self, sha256: &'a str, size: u64) -> BoxFuture<'a, Result<Blob, BlobProblem>>;
    /// Where the store lives, for messages.
    fn describe(&self) -> String;
}

/// Blobs as files: `<root>/ab/cd/abcd…` (the full hex SHA-256), written once
/// with mode 0600; staging files in `<root>/staging`.
pub struct FsBlobStore {
    root: PathBuf,
}

impl FsBlobStore {
    pub fn new(root: impl Into<PathBuf>) -> io::Result<FsBlobStore> {
        let root = root.into();
        std::fs::create_dir_all(root.join("staging"))?;
        Ok(FsBlobStore { root })
    }

    /// The file of a blob, or `None` when the address is not a SHA-256.
    pub fn path_of(&self, sha256: &str) -> Option<PathBuf> {
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return None;
        }
        Some(self.root.join(&sha256[0..2]).join(&sha256[2..4]).join(sha256))
    }
}

impl BlobStore for FsBlobStore {
    fn stage(&self) -> BoxFuture<'_, io::Result<(PathBuf, File)>> {
        Box::pin(async move {
            let path = self.root.join("staging").join(uuid::Uuid::now_v7().to_string());
            let file = tokio::fs::OpenOptions::new().write(true).create_new(true).open(&path).await?;
            Ok((path, file))
        })
    }

    fn put(&self, staged: Staged) -> BoxFuture<'_, io::Result<bool>> {
        Box::pin(async move {
            let target = self.path_of(&staged.sha256).ok_or_else(|| io::Error::other("not a SHA-256 address"))?;
            if tokio::fs::try_exists(&target).await? {
                return Ok(false);
            }
            if let Some(dir) = target.parent() {
                tokio::fs::create_dir_all(dir).await?;
            }
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                tokio::fs::set_permissions(&staged.path, std::fs::Permissions::from_mode(0o600)).await?;
            }
            // A hard link never replaces an existing file: two uploads of
            // the same new content race safely, and the first one stays.
            match tokio::fs::hard_link(&staged.path, &target).await {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
                Err(e) => Err(e),
            }
            // `staged` drops here and removes the staging name.
        })
    }

    fn open<'a>(&'a self, sha256: &'a str, size: u64) -> BoxFuture<'a, Result<Blob, BlobProblem>> {
        Box::pin(async move {
            let path = self.path_of(sha256).ok_or(BlobProblem::Missing)?;
            let mut file = match File::open(&path).await {
                Ok(file) => file,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(BlobProblem::Missing),
                Err(e) => return Err(BlobProblem::Io(e)),
            };
            let actual = file.metadata().await.map_err(BlobProblem::Io)?.len();
            if actual != size {
                return Err(BlobProblem::Corrupt);
            }
            // Checked before the first byte is sent: a damaged blob is
            // reported, never served.
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                let n = file.read(&mut buf).await.map_err(BlobProblem::Io)?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
            }
            if hex(&hasher.finalize()) != sha256 {
                return Err(BlobProblem::Corrupt);
            }
            file.rewind().await.map_err(BlobProblem::Io)?;
            Ok(Blob { file, size })
        })
    }

    fn describe(&self) -> String {
        self.root.display().to_string()
    }
}

pub use crate::text::hex;

/// Writes chunks to a staging file, hashing and counting them, and refusing
/// more than `limit` bytes.
pub struct Stager {
    path: PathBuf,
    file: File,
    hasher: Sha256,
    size: u64,
    limit: u64,
}

/// The upload went past the size limit.
#[derive(Debug)]
pub struct TooLarge;

impl Stager {
    pub async fn new(store: &dyn BlobStore, limit: u64) -> io::Result<Stager> {
        let (path, file) = store.stage().await?;
        Ok(Stager { path, file, hasher: Sha256::new(), size: 0, limit })
    }

    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), Result<TooLarge, io::Error>> {
        self.size += chunk.len() as u64;
        if self.size > self.limit {
            return Err(Ok(TooLarge));
        }
        self.hasher.update(chunk);
        self.file.write_all(chunk).await.map_err(Err)
    }

    pub async fn finish(mut self) -> io::Result<Staged> {
        self.file.flush().await?;
        self.file.sync_all().await?;
        let staged = Staged { path: self.path.clone(), size: self.size, sha256: hex(&self.hasher.clone().finalize()) };
        // The staging name now belongs to `staged` (removed when it drops).
        self.path = PathBuf::new();
        Ok(staged)
    }
}

impl Drop for Stager {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (FsBlobStore, PathBuf) {
        let dir = std::env::temp_dir().join(format!("steward-blobs-{}", uuid::Uuid::now_v7()));
        (FsBlobStore::new(&dir).unwrap(), dir)
    }

    async fn stage(store: &FsBlobStore, bytes: &[u8]) -> Staged {
        let mut s = Stager::new(store, 1024).await.unwrap();
        s.write(bytes).await.unwrap();
        s.finish().await.unwrap()
    }

    #[tokio::test]
    async fn identical_content_is_stored_once_and_never_overwritten() {
        let (store, dir) = store();
        let first = stage(&store, b"hello").await;
        let sha = first.sha256.clone();
        assert_eq!(sha, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        assert!(store.put(first).await.unwrap());
        assert!(!store.put(stage(&store, b"hello").await).await.unwrap());
        let mut blob = store.open(&sha, 5).await.ok().unwrap();
        let mut text = String::new();
        blob.file.read_to_string(&mut text).await.unwrap();
        assert_eq!(text, "hello");
        // Staging is left empty.
        assert_eq!(std::fs::read_dir(dir.join("staging")).unwrap().count(), 0);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_missing_or_damaged_blob_is_reported() {
        let (store, dir) = store();
        let staged = stage(&store, b"contract v1").await;
        let sha = staged.sha256.clone();
        store.put(staged).await.unwrap();
        assert!(matches!(store.open(&"0".repeat(64), 3).await, Err(BlobProblem::Missing)));
        let path = store.path_of(&sha).unwrap();
        std::fs::write(&path, b"contract v2").unwrap();
        assert!(matches!(store.open(&sha, 11).await, Err(BlobProblem::Corrupt)));
        std::fs::write(&path, b"short").unwrap();
        assert!(matches!(store.open(&sha, 11).await, Err(BlobProblem::Corrupt)));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn an_upload_past_the_limit_is_refused_and_leaves_nothing() {
        let (store, dir) = store();
        let mut s = Stager::new(&store, 4).await.unwrap();
        assert!(s.write(b"abc").await.is_ok());
        assert!(matches!(s.write(b"de").await, Err(Ok(TooLarge))));
        drop(s);
        assert_eq!(std::fs::read_dir(dir.join("staging")).unwrap().count(), 0);
        assert!(store.path_of("../etc/passwd").is_none());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
