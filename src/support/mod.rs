//! Helpers with no knowledge of nixpy: atomic writes, file locks, shell
//! quoting, hashing, file fingerprints, paths as bytes in JSON, disk sizes,
//! last-use stamps, running a program,
//! `CI`, source positions. Everything may use them; they use nothing of
//! nixpy's but the error type.

pub(crate) mod atomic_write;
pub(crate) mod ci;
pub(crate) mod date;
pub(crate) mod disk_usage;
pub(crate) mod file_lock;
pub(crate) mod fingerprint;
pub(crate) mod hash;
pub(crate) mod input_file;
pub(crate) mod last_used;
pub(crate) mod os_bytes;
pub(crate) mod process;
pub(crate) mod shell_quote;
pub(crate) mod source_pos;
pub(crate) mod text;
pub(crate) mod user;

pub(crate) use file_lock::FileLock;
