//! Integration tests against a real PostgreSQL, through the real router.
//! One binary (one link, one cluster) with a module per area.

// The tests signal the processes they start (libc::kill) and ask who runs them.
#![allow(unsafe_code)]

mod support;

mod api;
mod assets;
mod attacks;
mod audit;
mod audit_screens;
mod bulk;
mod authz;
mod backups;
mod cli;
mod cluster;
mod console;
mod delegation;
mod documents;
mod gen_data;
mod imports;
mod invitations;
mod mail;
mod mfa;
mod migrations;
mod navigation;
mod operations;
mod password_links;
mod pitr;
mod privacy;
mod recovery;
mod roles;
mod security;
mod settings;
mod sign_in;
mod tenancy;
mod upkeep;
mod webhooks;
