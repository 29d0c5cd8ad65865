//! The master key that seals two-factor secrets: STEWARD_MASTER_KEY, or the
//! key file `<data-dir>/master.key`. `serve` creates the file at the first
//! start; `backup` reads it (and seals it into the archive); `restore`
//! writes it back.

use crate::Error;
use app::auth::mfa::MasterKey;
use std::path::{Path, PathBuf};

/// The key file of a data directory.
pub fn key_file(data_dir: &Path) -> PathBuf {
    data_dir.join("master.key")
}

const NOT_A_KEY: &str = "STEWARD_MASTER_KEY must be 64 hexadecimal digits (32 bytes), such as `openssl rand -hex 32` prints.";

/// The key's text (64 hexadecimal digits): the one given, or the key file's.
/// `None` when neither exists.
pub fn master_key_text(given: Option<&str>, data_dir: &Path) -> Result<Option<String>, Error> {
    if let Some(text) = given {
        return MasterKey::parse(text).map(|_| Some(text.trim().to_string())).ok_or_else(|| NOT_A_KEY.into());
    }
    let path = key_file(data_dir);
    match std::fs::read_to_string(&path) {
        Ok(text) => match MasterKey::parse(&text) {
            Some(_) => Ok(Some(text.trim().to_string())),
            None => Err(format!(
                "{} does not hold a key (64 hexadecimal digits): restore it from a backup, or two-factor secrets cannot be read.",
                path.display()
            )
            .into()),
        },
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(format!("cannot read {}: {error}", path.display()).into()),
    }
}

/// The key `serve` uses: the given or stored one, or a new key file
/// (mode 0600) at the first start.
pub fn master_key(given: Option<&str>, data_dir: &Path) -> Result<MasterKey, Error> {
    let text = match master_key_text(given, data_dir)? {
        Some(text) => text,
        None => {
            let path = key_file(data_dir);
            let text = MasterKey::generate_text();
            create_key_file(&path, &text)?;
            tracing::info!(path = %path.display(), "created the master key; back it up with the database");
            text
        }
    };
    MasterKey::parse(&text).ok_or_else(|| NOT_A_KEY.into())
}

/// Writes the key file a restore brings back (mode 0600). A different key
/// already there is moved aside, never lost; returns where.
pub fn write_key(path: &Path, key_text: &str) -> Result<Option<PathBuf>, Error> {
    let mut replaced = None;
    if let Ok(old) = std::fs::read_to_string(path) {
        if old.trim() == key_text.trim() {
            return Ok(None);
        }
        let aside = path.with_extension(format!("key.before-restore-{}", uuid::Uuid::now_v7()));
        std::fs::rename(path, &aside)?;
        replaced = Some(aside);
    }
    create_key_file(path, key_text)?;
    Ok(replaced)
}

/// A new key file, mode 0600, synced; never over an existing one.
fn create_key_file(path: &Path, key_text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(format!("{}\n", key_text.trim()).as_bytes())?;
    file.sync_all()
}
