//! Running Nix: the `nix` and `nix-store` commands nixpy needs (flags that
//! Nix 2.8 and 2.3x both accept), the store's place, and explaining what
//! went wrong when Nix fails.

mod command;
mod explain;
mod literal;
mod store;

pub(crate) use command::{identity, not_installed, Nix, Substituters, FEATURES};
pub(crate) use literal::string_literal;
pub(crate) use store::{is_store_path, store_path_of, STORE_DIR};
