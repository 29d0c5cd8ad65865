//! Operating Steward: migrations and connection pools (`db`), backups
//! (`backup`, `pitr`), the master key (`keys`), the mail worker (`mail`),
//! the webhook worker (`webhooks`), and the scheduled upkeep (`scheduler`).

pub mod backup;
pub mod db;
pub mod keys;
pub mod mail;
pub mod pitr;
pub mod scheduler;
pub mod webhooks;
