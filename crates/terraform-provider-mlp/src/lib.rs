//! terraform-provider-mlp: the platform's own objects as Terraform resources (see README.md).

pub mod auth;
pub mod client;
pub mod common;
pub mod data;
pub mod experiment;
pub mod managed;
pub mod model;
pub mod provider;

pub mod roles;
#[cfg(test)]
mod tests;
