//! Running Nix: the `nix` and `nix-store` commands nixpy needs (flags that
//! Nix 2.8 and 2.3x both accept), the store's place, and explaining what
//! went wrong when Nix fails.

mod access;
mod build_plan;
mod command;
mod explain;
mod gc_root;
mod literal;
mod names;
mod output;
mod refusal;
mod store;
mod store_info;
mod store_path;
mod trace;

pub(crate) use access::{daemon_socket, store_problem, substituters_fix, user_name};
pub(crate) use build_plan::heavy_builds;
pub(crate) use command::{identity, not_installed, NameStatus, Nix, Substituters, FEATURES};
pub(crate) use explain::NixFailure;
pub(crate) use gc_root::{rooted_links, GcRoot};
pub(crate) use literal::string_literal;
pub(crate) use names::{NameProblem, NameReport};
pub(crate) use store::{is_store_path, store_path_of};
pub(crate) use store_path::store_path_of_folder;
