//! Operating Steward: migrations and connection pools (`db`), backups
//! (`backup`), the master key (`keys`), the mail worker (`mail`), and the scheduled upkeep
//! (`scheduler`).

pub mod backup;
pub mod db;
pub mod keys;
pub mod mail;
pub mod pitr;
pub mod scheduler;
