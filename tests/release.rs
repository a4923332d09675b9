//! Release artefacts, and installing them the way Terraform users do.
//!
//! - `--version` and the start-up log name the version;
//! - `scripts/release.sh` (what `make release` runs) lays out the registry's files with the names
//!   `.goreleaser.yml` gives them, signs the checksum list, and refuses a binary of another
//!   version;
//! - `terraform init` installs the packaged zip from a filesystem mirror (no `dev_overrides`)
//!   pinned to the signed checksums and applies `examples/quickstart` against OpenBao, and fails
//!   on a tampered zip;
//! - `terraform init` installs it from a private registry (the provider registry protocol,
//!   served here on loopback), verifies the signature itself and records the `zh:` hashes of the
//!   signed checksum list, and fails on a tampered zip or checksum list.
//!
//! Each test packages the binary cargo built for the test run (`KONOHA_RELEASE_BINARY`), so no
//! release build is needed; `make release` does that one. Needs `zip`, `gpg` and `sha256sum`
//! (`scripts/check-tools.sh` installs or names them), terraform and OpenBao.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value as Json;
use support::openbao::OpenBao;
use support::registry::{RegistryFiles, registry_cli_config};
use support::release::{
    ARCH, BINARY, Keyring, OS, PROJECT, Release, ZipEntry, h1_hash, run_release_script, sha256_hex,
    zip_entries,
};
use support::terraform::{PROVIDER_SOURCE, ProviderHookup, Workdir, hcl_escape};

/// Generous, for a loaded CI machine; start-up takes milliseconds.
const STARTUP: Duration = Duration::from_secs(20);

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

// ---------------------------------------------------------------------------------------------
// Terraform working dirs that install the provider with `terraform init`
// ---------------------------------------------------------------------------------------------

/// A working dir holding `examples/quickstart`, with `cli_config` as its CLI configuration.
fn quickstart_workdir(cli_config: String, env: &[(String, String)]) -> Workdir {
    let work = Workdir::new(&ProviderHookup::Installed { cli_config })
        .unwrap()
        .with_env(env);
    let example = fs::read_to_string(repo().join("examples/quickstart/main.tf")).unwrap();
    work.set_config(&example).unwrap();
    work
}

/// A CLI configuration with a filesystem mirror and nothing else: no `dev_overrides`, no
/// `direct`, so the provider can only come from `mirror`.
fn mirror_cli_config(mirror: &Path) -> String {
    format!(
        "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"{PROVIDER_SOURCE}\"]\n  }}\n}}\n",
        hcl_escape(&mirror.to_string_lossy())
    )
}

/// The mirror's "packed" layout: `HOSTNAME/NAMESPACE/TYPE/<the release zip>`. (The "unpacked"
/// layout, `.../VERSION/OS_ARCH/`, holds the extracted binary, not the zip.)
fn mirror_with_zip(root: &Path, zip: &[u8], zip_name: &str) -> PathBuf {
    let mirror = root.join("mirror");
    let dir = mirror.join(PROVIDER_SOURCE);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(zip_name), zip).unwrap();
    mirror
}

/// A dependency lock file pinning `version` to `hashes`, as a team commits it.
fn lock_file(version: &str, hashes: &[&str]) -> String {
    let hashes: String = hashes.iter().map(|h| format!("    \"{h}\",\n")).collect();
    format!(
        "provider \"{PROVIDER_SOURCE}\" {{\n  version = \"{version}\"\n  hashes = [\n{hashes}  ]\n}}\n"
    )
}

/// The `hashes` recorded for konoha in the working dir's `.terraform.lock.hcl`.
fn locked_hashes(work: &Workdir) -> Vec<String> {
    let lock = fs::read_to_string(work.path().join(".terraform.lock.hcl")).unwrap();
    let block = lock
        .split(&format!("provider \"{PROVIDER_SOURCE}\""))
        .nth(1)
        .unwrap_or_else(|| panic!("no konoha block in the lock file:\n{lock}"));
    block
        .lines()
        .map(str::trim)
        .take_while(|line| *line != "}")
        .filter_map(|line| line.strip_prefix('"'))
        .filter_map(|line| line.strip_suffix("\","))
        .map(str::to_owned)
        .collect()
}

/// Whether `terraform init` left a konoha executable in the working dir.
fn provider_installed(work: &Workdir) -> bool {
    let dir = work
        .path()
        .join(".terraform/providers")
        .join(PROVIDER_SOURCE);
    walk(&dir).iter().any(|path| {
        path.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(PROJECT))
    })
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flat_map(|entry| {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}

/// The zip with the binary changed by one appended byte, under the same names.
fn tampered_zip(release: &Release, root: &Path) -> Vec<u8> {
    let dir = root.join("tampered");
    fs::create_dir_all(&dir).unwrap();
    let mut binary = fs::read(BINARY).unwrap();
    binary.push(0);
    let name = release.binary_name();
    fs::write(dir.join(&name), binary).unwrap();
    let zip = dir.join("tampered.zip");
    // Stored, not deflated: the debug binary is large and the test needs no compression.
    let out = Command::new("zip")
        .args(["-q", "-0"])
        .arg(&zip)
        .arg(&name)
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "zip: {out:?}");
    fs::read(zip).unwrap()
}

// ---------------------------------------------------------------------------------------------
// The binary's version
// ---------------------------------------------------------------------------------------------

#[test]
fn version_flag_prints_the_version_and_protocol_without_the_magic_cookie() {
    let out = Command::new(BINARY)
        .arg("--version")
        .env_clear()
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{PROJECT} {}\nplugin protocol 5.8\n", konoha::VERSION)
    );
    // Without a release tag, the version is Cargo.toml's.
    if option_env!("KONOHA_RELEASE_VERSION").is_none_or(str::is_empty) {
        assert_eq!(konoha::VERSION, env!("CARGO_PKG_VERSION"));
    }
}

#[test]
fn the_first_log_line_of_a_served_provider_names_its_version() {
    let mut child = Command::new(BINARY)
        .env_clear()
        .env(
            "TF_PLUGIN_MAGIC_COOKIE",
            "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2",
        )
        .env("PLUGIN_PROTOCOL_VERSIONS", "5")
        .env("TF_LOG_PROVIDER", "INFO")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (lines, received) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + STARTUP;
    let first: Json = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = received
            .recv_timeout(left)
            .unwrap_or_else(|err| panic!("no log line within {STARTUP:?}: {err}"));
        if let Ok(json) = serde_json::from_str::<Json>(&line) {
            break json;
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(first["@level"], "info", "{first}");
    assert_eq!(first["@message"], format!("starting {PROJECT}"), "{first}");
    assert_eq!(first["version"], konoha::VERSION, "{first}");
    assert_eq!(first["protocol"], "5.8", "{first}");
}

// ---------------------------------------------------------------------------------------------
// make release and .goreleaser.yml
// ---------------------------------------------------------------------------------------------

/// The parts of `.goreleaser.yml` that decide file names.
#[derive(Debug, Deserialize)]
struct GoReleaser {
    version: u32,
    project_name: String,
    builds: Vec<GoBuild>,
    archives: Vec<GoArchive>,
    checksum: GoChecksum,
    signs: Vec<GoSign>,
}

#[derive(Debug, Deserialize)]
struct GoBuild {
    builder: String,
    binary: String,
    targets: Vec<String>,
    #[serde(default)]
    env: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct GoArchive {
    formats: Vec<String>,
    name_template: String,
}

#[derive(Debug, Deserialize)]
struct GoChecksum {
    name_template: String,
    algorithm: String,
    extra_files: Vec<GoExtraFile>,
}

#[derive(Debug, Deserialize)]
struct GoExtraFile {
    glob: String,
    name_template: String,
}

#[derive(Debug, Deserialize)]
struct GoSign {
    artifacts: String,
    signature: String,
}

/// Fills GoReleaser's `{{ .Name }}` fields; any other template text is a test failure, so a
/// template this cannot read is noticed rather than compared wrongly.
fn render(template: &str, fields: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (name, value) in fields {
        out = out.replace(&format!("{{{{ .{name} }}}}"), value);
    }
    assert!(
        !out.contains("{{"),
        "template {template:?} uses fields other than {fields:?}"
    );
    out
}

/// GoReleaser's `.Os` and `.Arch` for a Rust target triple.
fn go_platform(target: &str) -> (&'static str, &'static str) {
    let arch = match target.split('-').next() {
        Some("x86_64") => "amd64",
        Some("aarch64") => "arm64",
        _ => panic!("unexpected architecture in {target}"),
    };
    let os = if target.contains("-linux-") {
        "linux"
    } else if target.contains("-apple-darwin") {
        "darwin"
    } else if target.contains("-windows-") {
        "windows"
    } else {
        panic!("unexpected operating system in {target}")
    };
    (os, arch)
}

#[test]
fn goreleaser_names_the_files_make_release_produces() {
    let release = Release::package();
    let text = fs::read_to_string(repo().join(".goreleaser.yml")).unwrap();
    let config: GoReleaser = serde_saphyr::from_str(&text).unwrap();
    assert_eq!(config.version, 2, "GoReleaser v2 configuration");
    assert_eq!(config.project_name, PROJECT);
    let [build] = &config.builds[..] else {
        panic!("one build expected: {:?}", config.builds)
    };
    assert_eq!(build.builder, "rust");
    assert!(
        build
            .env
            .contains(&"KONOHA_RELEASE_VERSION={{ .Version }}".to_owned()),
        "the release build must report the tag's version: {:?}",
        build.env
    );
    let [archive] = &config.archives[..] else {
        panic!("one archive expected: {:?}", config.archives)
    };
    assert_eq!(archive.formats, ["zip"]);

    // Every platform the registry should offer, each once.
    let mut platforms: Vec<(&str, &str)> = build.targets.iter().map(|t| go_platform(t)).collect();
    platforms.sort_unstable();
    let mut expected = Vec::new();
    for os in ["darwin", "linux", "windows"] {
        for arch in ["amd64", "arm64"] {
            expected.push((os, arch));
        }
    }
    assert_eq!(platforms, expected);

    let fields = [("ProjectName", PROJECT), ("Version", release.version)];
    let host = [
        ("ProjectName", PROJECT),
        ("Version", release.version),
        ("Os", OS),
        ("Arch", ARCH),
    ];
    let zip_name = format!("{}.zip", render(&archive.name_template, &host));
    let sums_name = render(&config.checksum.name_template, &fields);
    let [manifest] = &config.checksum.extra_files[..] else {
        panic!("the manifest is the checksum list's one extra file")
    };
    assert_eq!(manifest.glob, "terraform-registry-manifest.json");
    let manifest_name = render(&manifest.name_template, &fields);
    let [sign] = &config.signs[..] else {
        panic!("one signature expected")
    };
    assert_eq!(sign.artifacts, "checksum");
    let signature_name = sign.signature.replace("${artifact}", &sums_name);
    assert_eq!(config.checksum.algorithm, "sha256");

    // make release wrote exactly these, plus the public key to upload.
    let mut named = vec![
        zip_name.clone(),
        sums_name.clone(),
        signature_name,
        manifest_name.clone(),
        "signing-key.asc".to_owned(),
    ];
    named.sort();
    assert_eq!(release.files(), named);
    // And the registry's fixed names, whatever the templates say.
    assert_eq!(zip_name, release.zip_name());
    assert_eq!(
        manifest_name,
        format!("{PROJECT}_{}_manifest.json", release.version)
    );

    // The zip holds the binary alone, executable, under GoReleaser's binary name.
    let zip = fs::read(release.path(&zip_name)).unwrap();
    assert_eq!(
        zip_entries(&zip),
        [ZipEntry {
            name: render(&build.binary, &fields),
            mode: 0o755
        }]
    );
    // The checksum list covers the zip and the manifest, with their true hashes.
    let manifest_bytes = fs::read(release.path(&manifest_name)).unwrap();
    assert_eq!(
        manifest_bytes,
        fs::read(repo().join("terraform-registry-manifest.json")).unwrap()
    );
    assert_eq!(
        release.sums(),
        BTreeMap::from([
            (zip_name, sha256_hex(&zip)),
            (manifest_name, sha256_hex(&manifest_bytes)),
        ])
    );
}

#[test]
fn make_release_refuses_a_binary_built_for_another_version() {
    let root = tempfile::tempdir().unwrap();
    let dist = root.path().join("dist");
    let out = run_release_script(&dist, &[("KONOHA_RELEASE_VERSION", "9.9.9")]);
    assert!(!out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "reports '{PROJECT} {}', not '{PROJECT} 9.9.9'",
            konoha::VERSION
        )),
        "{stderr}"
    );
    assert!(walk(&dist).is_empty(), "files written: {:?}", walk(&dist));

    let out = run_release_script(&dist, &[("GPG_FINGERPRINT", "0123456789ABCDEF")]);
    assert!(!out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("GPG_FINGERPRINT is set without GPG_PRIVATE_KEY"),
        "{out:?}"
    );

    let out = run_release_script(&dist, &[("KONOHA_RELEASE_VERSION", "1.2")]);
    assert!(!out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("'1.2' is not a semantic version"),
        "{out:?}"
    );
}

/// A directory of links to every program on `PATH` except `left_out`, to run a script on a
/// machine that lacks those programs.
fn path_without(root: &Path, left_out: &[&str]) -> PathBuf {
    let bin = root.join("bin");
    fs::create_dir_all(&bin).unwrap();
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.map_while(Result::ok) {
            let name = entry.file_name();
            let link = bin.join(&name);
            if !left_out.iter().any(|n| name == *n) && !link.exists() {
                std::os::unix::fs::symlink(entry.path(), link).unwrap();
            }
        }
    }
    bin
}

#[test]
fn check_tools_names_the_packaging_tools_it_cannot_install() {
    let root = tempfile::tempdir().unwrap();
    // No zip, no gpg, and no apt-get to install them with.
    let bin = path_without(root.path(), &["zip", "gpg", "gpgconf", "apt-get"]);
    let out = Command::new("bash")
        .arg(repo().join("scripts/check-tools.sh"))
        .env("PATH", &bin)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "check-tools passed without zip and gpg:\n{stderr}"
    );
    assert!(
        stderr.contains("install the packages gnupg zip (apt-get install gnupg zip)"),
        "{stderr}"
    );
}

#[test]
fn make_release_signs_with_the_key_it_is_given() {
    let key = Keyring::with_new_secret_key();
    let fingerprint = key.fingerprint();
    let secret = key.export_secret_key();
    let root = tempfile::tempdir().unwrap();
    let dist = root.path().join("dist");
    let out = run_release_script(&dist, &[("GPG_PRIVATE_KEY", &secret)]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!(
            "signing key fingerprint: {fingerprint} (from GPG_PRIVATE_KEY)"
        )),
        "{stdout}"
    );
    for printed in [&stdout, &stderr] {
        assert!(
            !printed.contains("PRIVATE KEY"),
            "key material printed:\n{printed}"
        );
    }
    let published = fs::read_to_string(dist.join("signing-key.asc")).unwrap();
    assert!(
        !published.contains("PRIVATE KEY"),
        "the secret key was published"
    );

    let sums = format!("{PROJECT}_{}_SHA256SUMS", konoha::VERSION);
    let keyring = Keyring::with_key(&dist.join("signing-key.asc"));
    let (ok, status) = keyring.verify(&dist.join(format!("{sums}.sig")), &dist.join(&sums));
    assert!(ok, "{status}");
    assert!(
        status.contains(&format!("[GNUPG:] VALIDSIG {fingerprint}")),
        "{status}"
    );
}

// ---------------------------------------------------------------------------------------------
// Installing from a filesystem mirror
// ---------------------------------------------------------------------------------------------

#[test]
fn a_mirror_install_pinned_to_the_signed_checksums_applies_the_quickstart() {
    let release = Release::package();

    // The checksum list verifies against its signature, and a changed list does not.
    let keyring = Keyring::with_key(&release.path("signing-key.asc"));
    let sums_path = release.path(&release.sums_name());
    let signature = release.path(&format!("{}.sig", release.sums_name()));
    let (ok, status) = keyring.verify(&signature, &sums_path);
    assert!(ok, "gpg --verify failed:\n{status}");
    assert!(
        status.contains(&format!("[GNUPG:] VALIDSIG {}", release.fingerprint)),
        "not signed by the printed key {}:\n{status}",
        release.fingerprint
    );
    let scratch = tempfile::tempdir().unwrap();
    let forged = scratch.path().join("forged_SHA256SUMS");
    let text = fs::read_to_string(&sums_path).unwrap();
    fs::write(&forged, text.replacen(&text[..8], "00000000", 1)).unwrap();
    let (ok, status) = keyring.verify(&signature, &forged);
    assert!(!ok, "a changed checksum list verified:\n{status}");

    // A mirror holding the zip, and a lock file pinning the signed checksum.
    let zip = fs::read(release.path(&release.zip_name())).unwrap();
    let mirror = mirror_with_zip(scratch.path(), &zip, &release.zip_name());
    let zh = format!("zh:{}", release.sums()[&release.zip_name()]);
    let bao = OpenBao::start();
    let work = quickstart_workdir(mirror_cli_config(&mirror), &bao.env());
    work.write_file(".terraform.lock.hcl", &lock_file(release.version, &[&zh]))
        .unwrap();

    let init = work.terraform(["init", "-input=false", "-no-color"]);
    assert!(init.success(), "terraform init failed:\n{init}");
    assert!(provider_installed(&work));
    let hashes = locked_hashes(&work);
    assert!(hashes.contains(&zh), "{zh} not in the lock: {hashes:?}");
    let binary = fs::read(BINARY).unwrap();
    let h1 = h1_hash(&[(&release.binary_name(), &binary)]);
    assert!(
        hashes.contains(&h1),
        "the lock's h1: is not that of the packaged binary ({h1}): {hashes:?}"
    );

    // The installed provider plans and applies the quickstart (profile only: no cluster).
    work.terraform(["plan", "-input=false", "-no-color", "-out=tfplan"])
        .ok()
        .unwrap();
    work.terraform(["apply", "-input=false", "-no-color", "tfplan"])
        .ok()
        .unwrap();
    let out = work
        .terraform(["output", "-raw", "-no-color", "profile_ref"])
        .ok()
        .unwrap();
    assert!(
        out.stdout.starts_with("secret/spark/dbt@sha256:"),
        "{}",
        out.stdout
    );
    let (data, _) = bao.kv_get("secret", "spark/dbt").unwrap();
    assert_eq!(data["spark.executor.instances"], Json::from("4"));
    let again = work.terraform(["plan", "-detailed-exitcode", "-no-color"]);
    assert_eq!(
        again.code,
        Some(0),
        "the plan after apply is not empty:\n{again}"
    );
    work.terraform(["destroy", "-auto-approve", "-no-color"])
        .ok()
        .unwrap();
    assert!(bao.kv_get("secret", "spark/dbt").is_none());
}

#[test]
fn a_tampered_zip_in_the_mirror_fails_terraform_init() {
    let release = Release::package();
    let scratch = tempfile::tempdir().unwrap();
    let zip = tampered_zip(&release, scratch.path());
    let mirror = mirror_with_zip(scratch.path(), &zip, &release.zip_name());
    let work = quickstart_workdir(mirror_cli_config(&mirror), &[]);
    let zh = format!("zh:{}", release.sums()[&release.zip_name()]);
    work.write_file(".terraform.lock.hcl", &lock_file(release.version, &[&zh]))
        .unwrap();

    let init = work.terraform(["init", "-input=false", "-no-color"]);
    assert!(
        !init.success(),
        "terraform init accepted a tampered zip:\n{init}"
    );
    assert!(
        init.stderr.contains("doesn't match any of the checksums"),
        "{init}"
    );
    assert!(
        !provider_installed(&work),
        "the tampered provider was installed"
    );
}

// ---------------------------------------------------------------------------------------------
// Installing from a registry
// ---------------------------------------------------------------------------------------------

#[test]
fn a_registry_install_verifies_the_signature_and_locks_the_signed_zh_hash() {
    let release = Release::package();
    let registry = RegistryFiles::of(&release).serve(&release);
    let work = quickstart_workdir(registry_cli_config(&registry), &[]);

    let init = work.terraform(["init", "-input=false", "-no-color"]);
    assert!(init.success(), "terraform init failed:\n{init}");
    let key_id = &release.fingerprint[release.fingerprint.len() - 16..];
    assert!(
        init.stdout
            .contains(&format!("(self-signed, key ID {key_id})")),
        "terraform did not check the signature:\n{init}"
    );
    let hashes = locked_hashes(&work);
    let zh = format!("zh:{}", release.sums()[&release.zip_name()]);
    assert!(hashes.contains(&zh), "{zh} not in the lock: {hashes:?}");
    let binary = fs::read(BINARY).unwrap();
    assert!(
        hashes.contains(&h1_hash(&[(&release.binary_name(), &binary)])),
        "{hashes:?}"
    );
    // The installed binary serves: validate needs its schema.
    work.terraform(["validate", "-no-color"]).ok().unwrap();
}

#[test]
fn a_registry_install_fails_on_a_tampered_zip_or_checksum_list() {
    let release = Release::package();
    let scratch = tempfile::tempdir().unwrap();

    let mut files = RegistryFiles::of(&release);
    files.zip = tampered_zip(&release, scratch.path());
    let registry = files.serve(&release);
    let work = quickstart_workdir(registry_cli_config(&registry), &[]);
    let init = work.terraform(["init", "-input=false", "-no-color"]);
    assert!(
        !init.success(),
        "terraform init accepted a tampered zip:\n{init}"
    );
    assert!(init.stderr.contains("checksum"), "{init}");
    assert!(!provider_installed(&work));

    // A checksum list changed after signing: the zip's line still matches, the signature not.
    let mut files = RegistryFiles::of(&release);
    let mut sums = String::from_utf8(files.sums).unwrap();
    sums.push_str(&format!("{}  extra.zip\n", "0".repeat(64)));
    files.sums = sums.into_bytes();
    let registry = files.serve(&release);
    let work = quickstart_workdir(registry_cli_config(&registry), &[]);
    let init = work.terraform(["init", "-input=false", "-no-color"]);
    assert!(
        !init.success(),
        "terraform init accepted a checksum list that does not match its signature:\n{init}"
    );
    assert!(init.stderr.contains("signature"), "{init}");
    assert!(!provider_installed(&work));
}
