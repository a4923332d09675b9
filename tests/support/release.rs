//! Packaging with `scripts/release.sh` (what `make release` runs) and checking what it made: the
//! checksum list, a zip's central directory, Terraform's `h1:` hash, and `gpg --verify` in a
//! keyring of its own.
//!
//! Left out: installing the files (`tests/release.rs`) and serving them as a registry
//! ([`super::registry`]).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The binary cargo built for this test run, which the tests package.
pub const BINARY: &str = env!("CARGO_BIN_EXE_terraform-provider-konoha");
/// The provider's project name, the prefix of every release file.
pub const PROJECT: &str = "terraform-provider-konoha";
/// The platform `make release` builds for, and the only one these tests can run.
pub const OS: &str = "linux";
/// See [`OS`].
pub const ARCH: &str = "amd64";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Lowercase hex SHA-256, as `sha256sum` prints it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    digest(&SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The files `scripts/release.sh` wrote, in a temp dir of their own.
pub struct Release {
    _root: tempfile::TempDir,
    /// Where the files are.
    pub dist: PathBuf,
    /// The version they are named for.
    pub version: &'static str,
    /// The signing key's fingerprint, as the script printed it.
    pub fingerprint: String,
}

/// Runs `scripts/release.sh` on the cargo-built binary, writing into `dist`.
pub fn run_release_script(dist: &Path, env: &[(&str, &str)]) -> Output {
    Command::new("bash")
        .arg(repo().join("scripts/release.sh"))
        .env("KONOHA_RELEASE_BINARY", BINARY)
        .env("KONOHA_RELEASE_DIST", dist)
        // A release key in the developer's environment must not change what the test does.
        .env_remove("GPG_PRIVATE_KEY")
        .env_remove("GPG_FINGERPRINT")
        .env_remove("GPG_PASSPHRASE")
        .env_remove("KONOHA_RELEASE_VERSION")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

impl Release {
    /// Packages the cargo-built binary with a throwaway key.
    pub fn package() -> Release {
        let root = tempfile::tempdir().unwrap();
        let dist = root.path().join("dist");
        let out = run_release_script(&dist, &[]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "scripts/release.sh failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let fingerprint = stdout
            .lines()
            .find_map(|line| line.strip_prefix("signing key fingerprint: "))
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no fingerprint printed:\n{stdout}"))
            .to_owned();
        Release {
            _root: root,
            dist,
            version: konoha::VERSION,
            fingerprint,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dist.join(name)
    }

    pub fn zip_name(&self) -> String {
        format!("{PROJECT}_{}_{OS}_{ARCH}.zip", self.version)
    }

    pub fn sums_name(&self) -> String {
        format!("{PROJECT}_{}_SHA256SUMS", self.version)
    }

    pub fn binary_name(&self) -> String {
        format!("{PROJECT}_v{}", self.version)
    }

    /// The checksum list as `file name -> sha256 hex`.
    pub fn sums(&self) -> BTreeMap<String, String> {
        parse_sums(&fs::read_to_string(self.path(&self.sums_name())).unwrap())
    }

    /// The names of every file in `dist/`, sorted.
    pub fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.dist)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

/// `sha256sum` output: `<hex>  <name>` per line.
pub fn parse_sums(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(|line| {
            let (hash, name) = line
                .split_once("  ")
                .unwrap_or_else(|| panic!("not a sha256sum line: {line:?}"));
            (name.to_owned(), hash.to_owned())
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Zip archives, Terraform's h1: hash and gpg
// ---------------------------------------------------------------------------------------------

/// One file in a zip's central directory.
#[derive(Debug, PartialEq, Eq)]
pub struct ZipEntry {
    /// The file's name in the archive.
    pub name: String,
    /// The Unix permission bits (zip's external attributes, high half).
    pub mode: u32,
}

/// The entries of a zip archive, read from its central directory (no extraction needed).
pub fn zip_entries(zip: &[u8]) -> Vec<ZipEntry> {
    let u16_at = |at: usize| u16::from_le_bytes([zip[at], zip[at + 1]]) as usize;
    let u32_at = |at: usize| u32::from_le_bytes([zip[at], zip[at + 1], zip[at + 2], zip[at + 3]]);
    let end = (0..=zip.len() - 22)
        .rev()
        .find(|&at| zip[at..at + 4] == [0x50, 0x4b, 0x05, 0x06])
        .expect("no end of central directory record");
    let count = u16_at(end + 10);
    let mut at = u32_at(end + 16) as usize;
    let mut entries = Vec::new();
    for _ in 0..count {
        assert_eq!(
            zip[at..at + 4],
            [0x50, 0x4b, 0x01, 0x02],
            "central directory"
        );
        let name_len = u16_at(at + 28);
        let extra_len = u16_at(at + 30);
        let comment_len = u16_at(at + 32);
        let mode = (u32_at(at + 38) >> 16) & 0o7777;
        let name = String::from_utf8(zip[at + 46..at + 46 + name_len].to_vec()).unwrap();
        entries.push(ZipEntry { name, mode });
        at += 46 + name_len + extra_len + comment_len;
    }
    entries
}

/// Terraform's `h1:` hash of a package's unpacked files (Go's `dirhash.Hash1`): the SHA-256 of
/// one `<sha256 hex>  <name>\n` line per file, sorted by name, in base64.
pub fn h1_hash(files: &[(&str, &[u8])]) -> String {
    let mut lines: Vec<String> = files
        .iter()
        .map(|(name, bytes)| format!("{}  {name}\n", sha256_hex(bytes)))
        .collect();
    lines.sort();
    format!(
        "h1:{}",
        STANDARD.encode(digest(&SHA256, lines.concat().as_bytes()))
    )
}

/// A gpg keyring of its own in a temp dir: the release's public key, as a user verifying it has
/// it, or a secret key made for the test, as a release manager has one.
pub struct Keyring {
    home: tempfile::TempDir,
}

impl Keyring {
    fn empty() -> Keyring {
        // Short: gpg-agent's socket path must fit in a Unix socket address.
        let home = tempfile::Builder::new().prefix("gpg").tempdir().unwrap();
        Keyring { home }
    }

    /// A keyring holding only the public key in the file `public_key`.
    pub fn with_key(public_key: &Path) -> Keyring {
        let keyring = Keyring::empty();
        let out = keyring.gpg(&["--import", &public_key.to_string_lossy()]);
        assert!(out.status.success(), "gpg --import: {out:?}");
        keyring
    }

    /// A keyring holding a new secret signing key without a passphrase.
    pub fn with_new_secret_key() -> Keyring {
        let keyring = Keyring::empty();
        let out = keyring.gpg(&[
            "--passphrase",
            "",
            "--quick-gen-key",
            "konoha test <test@konoha.invalid>",
            "rsa3072",
            "sign",
            "1d",
        ]);
        assert!(out.status.success(), "gpg --quick-gen-key: {out:?}");
        keyring
    }

    /// The fingerprint of the first secret key.
    pub fn fingerprint(&self) -> String {
        let out = self.gpg(&["--list-secret-keys", "--with-colons"]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|line| line.strip_prefix("fpr:"))
            .and_then(|rest| rest.split(':').find(|field| !field.is_empty()))
            .expect("a secret key")
            .to_owned()
    }

    /// The secret key, ASCII-armoured, as `GPG_PRIVATE_KEY` holds it.
    pub fn export_secret_key(&self) -> String {
        let out = Command::new("gpg")
            .arg("--homedir")
            .arg(self.home.path())
            .args(["--batch", "--no-tty", "--armor", "--export-secret-keys"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "gpg --export-secret-keys: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    }

    fn gpg(&self, args: &[&str]) -> Output {
        Keyring::gpg_in(self.home.path(), args)
    }

    fn gpg_in(home: &Path, args: &[&str]) -> Output {
        Command::new("gpg")
            .arg("--homedir")
            .arg(home)
            .args(["--batch", "--no-tty", "--status-fd", "1"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// `gpg --verify`: whether it succeeded, and its status lines.
    pub fn verify(&self, signature: &Path, data: &Path) -> (bool, String) {
        let out = Keyring::gpg_in(
            self.home.path(),
            &[
                "--verify",
                &signature.to_string_lossy(),
                &data.to_string_lossy(),
            ],
        );
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }
}

impl Drop for Keyring {
    fn drop(&mut self) {
        // Verifying may start gpg's helpers for this home; they must not outlive the test.
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(self.home.path())
            .args(["--kill", "all"])
            .env("GNUPGHOME", self.home.path())
            .output();
    }
}
