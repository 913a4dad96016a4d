//! Bytecode for distributions going into the read-only store. Python could
//! never cache it there later (and Python run as root would write it into
//! the store path, which Nix then reports as modified), so it is compiled
//! once, before the store copy: every new distribution in one interpreter
//! run, hash-checked so the store's timestamps do not invalidate it, with a
//! fixed source name so the bytes, and so the store path, are the same on
//! every machine.

use std::path::PathBuf;

/// The source name compiled into each pyc: `<this>/<path in site-packages>`.
/// Python points a loaded module's code at its real file, so it is never
/// seen.
const SOURCE_PREFIX: &str = "/nixpy-dist";

/// Compiles every `.py` below each of `site_dirs`: the largest files first,
/// spread over the CPUs when there are many. Best effort: a file that does
/// not compile (Python 2 leftovers in some packages) stays uncompiled.
const SCRIPT: &str = r#"
import os, sys, py_compile
prefix, roots = sys.argv[1], sys.argv[2:]
jobs = []
for root in roots:
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                jobs.append((os.path.getsize(path), path, prefix + "/" + os.path.relpath(path, root)))
jobs.sort(reverse=True)
mode = py_compile.PycInvalidationMode.UNCHECKED_HASH
def compile_one(job):
    try:
        py_compile.compile(job[1], dfile=job[2], doraise=True, invalidation_mode=mode)
    except Exception:
        pass
if len(jobs) > 64 and (os.cpu_count() or 1) > 1:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    # fork: the workers need compile_one from this -c script's __main__.
    with ProcessPoolExecutor(os.cpu_count(), mp_context=multiprocessing.get_context("fork")) as pool:
        list(pool.map(compile_one, jobs, chunksize=8))
else:
    for job in jobs:
        compile_one(job)
"#;

pub(super) fn compile(python: &str, site_dirs: &[PathBuf]) {
    if site_dirs.is_empty() {
        return;
    }
    let mut args: Vec<std::ffi::OsString> = vec![
        "-I".into(),
        "-B".into(),
        "-c".into(),
        SCRIPT.into(),
        SOURCE_PREFIX.into(),
    ];
    args.extend(site_dirs.iter().map(|d| d.as_os_str().to_owned()));
    let result = crate::support::process::dies_with_nixpy(duct::cmd(python, args))
        .env_remove("PYTHONPATH")
        .env_remove("PYTHONHOME")
        .stdin_null()
        .stdout_null()
        .stderr_null()
        .unchecked()
        .run();
    if let Err(e) = result {
        tracing::debug!("compiling bytecode failed to start: {e}");
    }
}
