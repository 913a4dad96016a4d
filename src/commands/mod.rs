//! One module per subcommand; each takes parsed arguments and returns the
//! process exit status.

pub mod add;
pub mod cache_key;
pub mod direnvrc;
pub mod doctor;
pub mod env;
pub mod gc;
pub mod init;
pub mod lock;
pub mod push;
pub mod run;
pub mod shell;
pub mod show;
