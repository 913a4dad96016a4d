//! Helpers with no knowledge of nixpy: atomic writes, file locks, shell
//! quoting, hashing, file fingerprints, disk sizes, running a program,
//! `CI`, source positions. Everything may use them; they use nothing of
//! nixpy's but the error type.

pub mod atomic_write;
pub mod ci;
pub mod disk_usage;
pub mod file_lock;
pub mod fingerprint;
pub mod hash;
pub mod process;
pub mod shell_quote;
pub mod source_pos;
pub mod text;

pub use file_lock::FileLock;
