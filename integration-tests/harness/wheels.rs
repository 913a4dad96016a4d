//! Small pure-Python wheels built in the test, for hermetic pip layers.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::*;

/// The wheel writer, run by the host Python: a spec comes in as JSON on
/// stdin, the wheel's path goes out on stdout. Entries are written in a
/// fixed order with a fixed timestamp, so the same spec gives the same bytes.
/// Binary files (hex in the spec) make a platlib wheel of executable entries.
const WHEEL_WRITER: &str = r#"
import base64, hashlib, json, os, re, sys, zipfile
spec = json.load(sys.stdin)
name, version = spec["name"], spec["version"]
dist = re.sub(r"[-_.]+", "_", name).lower()
info = f"{dist}-{version}.dist-info"
entries = [(path, text.encode()) for path, text in spec["files"]]
binary = [(path, bytes.fromhex(data)) for path, data in spec.get("binary_files", [])]
entries += binary
meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
meta += "".join(f"Requires-Dist: {r}\n" for r in spec["requires"])
entries.append((f"{info}/METADATA", meta.encode()))
purelib = "false" if binary else "true"
entries.append((f"{info}/WHEEL", f"Wheel-Version: 1.0\nGenerator: nixpy-integration-tests\nRoot-Is-Purelib: {purelib}\nTag: py3-none-any\n".encode()))
if spec["console_scripts"]:
    eps = "[console_scripts]\n" + "".join(f"{n} = {t}\n" for n, t in spec["console_scripts"])
    entries.append((f"{info}/entry_points.txt", eps.encode()))
record = ""
for path, data in entries:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    record += f"{path},sha256={digest},{len(data)}\n"
record += f"{info}/RECORD,,\n"
entries.append((f"{info}/RECORD", record.encode()))
out = os.path.join(spec["dir"], f"{dist}-{version}-py3-none-any.whl")
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for path, data in entries:
        zi = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
        zi.external_attr = (0o755 if binary else 0o644) << 16
        zi.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(zi, data)
print(out)
"#;

/// Writes `<name>-<version>-py3-none-any.whl` into `dir` and returns its path.
///
/// * `requires`: `Requires-Dist` lines, such as `"attrs>=23"`.
/// * `files`: `(path inside the wheel, text)`, such as `("greet/__init__.py", "...")`.
/// * `console_scripts`: `(command, "module:function")`.
pub(crate) fn make_wheel(
    dir: &Path,
    name: &str,
    version: &str,
    requires: &[&str],
    files: &[(&str, &str)],
    console_scripts: &[(&str, &str)],
) -> PathBuf {
    let spec = serde_json::json!({
        "dir": dir,
        "name": name,
        "version": version,
        "requires": requires,
        "files": files,
        "console_scripts": console_scripts,
    });
    write_wheel(&spec)
}

/// [`make_wheel`] for a wheel whose files may be binary (a compiled
/// extension module): `files` are `(path inside the wheel, bytes)`.
pub(crate) fn make_binary_wheel(
    dir: &Path,
    name: &str,
    version: &str,
    files: &[(&str, &[u8])],
) -> PathBuf {
    let hex = |data: &[u8]| -> String { data.iter().map(|b| format!("{b:02x}")).collect() };
    let binary_files: Vec<(&str, String)> = files.iter().map(|(p, d)| (*p, hex(d))).collect();
    write_wheel(&serde_json::json!({
        "dir": dir,
        "name": name,
        "version": version,
        "requires": [],
        "files": [],
        "binary_files": binary_files,
        "console_scripts": [],
    }))
}

/// Runs [`WHEEL_WRITER`] on `spec`; returns the wheel's path.
fn write_wheel(spec: &serde_json::Value) -> PathBuf {
    let python = host_python();
    let mut child = Command::new(&python)
        .args(["-c", WHEEL_WRITER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {}: {e}", python.display()));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(spec.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "writing the wheel failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// The harness's own check: the wheel installs and its script runs. Needs
/// no Nix, only the host Python and uv (or pip).
#[test]
fn make_wheel_writes_an_installable_wheel() {
    let tmp = temp_dir("nixpy-it-wheel-");
    let wheel = make_wheel(
        tmp.path(),
        "Nixpy-Greet",
        "0.1.0",
        &["attrs>=23"],
        &[(
            "nixpy_greet/__init__.py",
            "def main():\n    print('hello from the wheel')\n",
        )],
        &[("nixpy-greet", "nixpy_greet:main")],
    );
    assert_eq!(
        wheel.file_name().unwrap(),
        "nixpy_greet-0.1.0-py3-none-any.whl"
    );
    let target = tmp.path().join("site");
    let host = host_tools();
    let python = host_python();
    let mut install = if host.uv.is_file() {
        let mut c = Command::new(&host.uv);
        c.args(["pip", "install", "--offline", "--no-deps", "--python"])
            .arg(&python);
        c
    } else {
        let mut c = Command::new(&python);
        c.args(["-m", "pip", "install", "--no-index", "--no-deps"]);
        c
    };
    install
        .arg("--target")
        .arg(&target)
        .arg(&wheel)
        .env("UV_CACHE_DIR", tmp.path().join("uv-cache"));
    install.outcome().success();
    let meta =
        std::fs::read_to_string(target.join("nixpy_greet-0.1.0.dist-info/METADATA")).unwrap();
    assert!(meta.contains("Requires-Dist: attrs>=23"), "{meta}");
    Command::new(target.join("bin/nixpy-greet"))
        .env("PYTHONPATH", &target)
        .outcome()
        .success()
        .stdout_is("hello from the wheel\n");
}

pub(crate) fn add_wheel(project: &Project, name: &str, version: &str) -> PathBuf {
    let module = name.replace('-', "_");
    let init = format!("{module}/__init__.py");
    let text = format!("VERSION = {version:?}\n");
    make_wheel(
        &project.mkdir("wheels"),
        name,
        version,
        &[],
        &[(&init, &text)],
        &[],
    )
}
