//! Operating the database: migrations and connection pools (`db`), and
//! backups (`backup`).

pub mod backup;
pub mod db;
