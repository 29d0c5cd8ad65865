//! Operating Steward: migrations and connection pools (`db`), backups
//! (`backup`), the mail worker (`mail`), and the scheduled upkeep
//! (`scheduler`).

pub mod backup;
pub mod db;
pub mod mail;
pub mod scheduler;
