//! The REST API under `/api/v1`, one module per resource.

pub mod audit;
pub mod catalogs;
pub mod health;
pub mod inventory;
pub mod links;
pub mod tokens;
pub mod users;
