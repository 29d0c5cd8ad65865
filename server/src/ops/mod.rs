//! Operating Steward: migrations and connection pools (`db`), backups
//! (`backup`), and the mail worker (`mail`).

pub mod backup;
pub mod db;
pub mod mail;
