//! Queries: split a SQL script into statements, render values from PostgreSQL's binary format
//! exactly as psql prints them, keep results in a columnar store that spills to a temporary file
//! past a memory cap, render cells lazily, sort and filter on the store.
//!
//! Core code: no UI types, no `Command`/`Event`; the backend and the CLI call it.

pub mod render;
pub mod settings;
pub mod split;
pub mod store;

pub use settings::SessionSettings;
pub use store::{
    ResultStore, RowFilter, RowValues, SortOrder, StoreColumn, StoreError, StoreOptions,
    StoreSnapshot,
};
