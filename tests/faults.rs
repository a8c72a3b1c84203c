//! The fault campaign: `vendor` under `kill -9`, concurrent runs, a faulty
//! index and a full disk, with a tally of faults injected, survived and
//! data lost.
//!
//! A fault is survived when, after it, the cache passes `vendor cache
//! verify`, the lock file and the output are each absent, the previous ones
//! or whole (never half-written), any failure was a short message naming
//! what went wrong, and the next run without the fault gives the same bytes
//! as a run that never met one. Anything else counts as data lost. Each
//! test prints its tally (`--no-capture` shows it; `scripts/faults.sh`
//! collects them, with more kill points) and fails unless every fault was
//! survived.
//!
//! Kill points are spread over the measured length of an uninterrupted run,
//! from the same starting state each time, so they land in every stage:
//! lock (index pages, metadata, build hooks), fetch (downloads, paced to
//! take seconds), build (sdist build, verification, packaging, repodata).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::project::lock_arguments;
use crate::common::rpm_fixtures::{scenario_of, FROM_SOURCE};
use crate::common::{files_under, Outcome, Project, Scenario, TestIndex, WheelBuilder, PYTHON};
use crate::rpm_tools::file_tree as tree;

/// How many kill points each command gets: `FAULT_KILL_POINTS` when set
/// (`scripts/faults.sh` asks for many), else a few.
fn kill_points() -> u32 {
    std::env::var("FAULT_KILL_POINTS")
        .ok()
        .and_then(|points| points.parse().ok())
        .unwrap_or(7)
}

/// A deterministic, incompressible payload: downloads of it take time
/// when the index paces them.
fn payload(size: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..size)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn scenario() -> Scenario {
    let mut webapp = crate::common::CoreMetadata::new("webapp", "1.0");
    webapp.requires_dist = ["helper>=1", "bigdata", "fromsource"]
        .map(String::from)
        .to_vec();
    scenario_of(&[
        WheelBuilder::new("webapp", "1.0", "py3-none-any")
            .metadata(&webapp)
            .file("webapp/__init__.py", "import helper, bigdata, fromsource\n"),
        WheelBuilder::new("helper", "1.0", "py3-none-any").file("helper/__init__.py", "X = 1\n"),
        WheelBuilder::new("bigdata", "1.0", "py3-none-any")
            .file("bigdata/__init__.py", "")
            .file("bigdata/blob.bin", payload(768 * 1024)),
    ])
    .with_projects(FROM_SOURCE)
}

/// Faults injected of one kind, and what became of them.
#[derive(Default)]
struct Tally {
    injected: usize,
    survived: usize,
    lost: Vec<String>,
}

impl Tally {
    /// Count one injected fault whose aftermath showed `problems`.
    fn record(&mut self, fault: &str, problems: Vec<String>) {
        self.injected += 1;
        if problems.is_empty() {
            self.survived += 1;
        } else {
            self.lost.push(format!("{fault}: {}", problems.join("; ")));
        }
    }

    /// Print the tally and fail unless every fault was survived.
    fn finish(self, kind: &str) {
        eprintln!(
            "fault campaign | {kind} | injected {} | survived {} | data lost {}",
            self.injected,
            self.survived,
            self.lost.len()
        );
        assert!(self.injected > 0, "{kind}: no fault was injected");
        assert!(self.lost.is_empty(), "{kind}:\n{}", self.lost.join("\n"));
    }
}

/// A project locked, fetched and built once without faults: the bytes
/// every later run must reproduce.
struct Reference {
    index: TestIndex,
    project: Project,
    lock: Vec<u8>,
    output: std::collections::BTreeMap<String, Vec<u8>>,
}

fn lock_args(index: &TestIndex) -> Vec<String> {
    lock_arguments(Some(&index.url()), PYTHON, &[])
}

fn reference() -> Reference {
    let index = TestIndex::start(scenario());
    let project = Project::new().requirements("webapp\n");
    project.write("vendor.toml", "[app]\nname = \"demo\"\n");
    run(&project, &lock_args(&index)).assert_success();
    project.fetch().assert_success();
    project.run(&["build"]).assert_success();
    Reference {
        lock: fs_err::read(project.file("pylock.toml")).unwrap(),
        output: tree(&project.file("dist/el9")),
        index,
        project,
    }
}

fn run(project: &Project, args: &[String]) -> Outcome {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    project.run(&args)
}

/// What is wrong with the project's cache, lock and output after a fault.
fn aftermath(reference: &Reference, project: &Project) -> Vec<String> {
    let mut problems = Vec::new();
    let verify = project.run(&["cache", "verify"]);
    if verify.code != Some(0) {
        problems.push(format!("`vendor cache verify`: {}", verify.stdout.trim()));
    }
    match fs_err::read(project.file("pylock.toml")) {
        Ok(lock) if lock != reference.lock => problems.push("pylock.toml is not whole".into()),
        _ => {}
    }
    let output = project.file("dist/el9");
    if output.exists() && tree(&output) != reference.output {
        problems.push("dist/el9 is not a whole build".into());
    }
    problems
}

/// The next runs without faults: lock, fetch and build must succeed and
/// give the reference's bytes, leaving no staging folder behind.
fn recovery(reference: &Reference, project: &Project) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, outcome) in [
        ("lock", run(project, &lock_args(&reference.index))),
        ("fetch", project.fetch()),
        ("build", project.run(&["build"])),
    ] {
        if outcome.code != Some(0) {
            problems.push(format!(
                "the next `{name}` failed: {}",
                outcome.stderr.trim()
            ));
            return problems;
        }
    }
    if fs_err::read(project.file("pylock.toml")).unwrap() != reference.lock {
        problems.push("the next lock differs".into());
    }
    if tree(&project.file("dist/el9")) != reference.output {
        problems.push("the next build differs".into());
    }
    let mut left = names(&project.file("dist"));
    left.retain(|name| name != ".el9.lock" && name != "el9");
    if !left.is_empty() {
        problems.push(format!("staging folders left in dist: {left:?}"));
    }
    problems
}

fn names(folder: &Path) -> Vec<String> {
    fs_err::read_dir(folder)
        .map(|entries| {
            entries
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// A copy of `project`'s lock, cache and output state, to start each kill
/// from.
fn snapshot(project: &Project, into: &Path) {
    for (from, to) in [
        (project.cache_dir().to_path_buf(), into.join("cache")),
        (project.file("dist"), into.join("dist")),
        (project.file("pylock.toml"), into.join("pylock.toml")),
    ] {
        copy(&from, &to);
    }
}

fn restore(project: &Project, from: &Path) {
    for (from, to) in [
        (from.join("cache"), project.cache_dir().to_path_buf()),
        (from.join("dist"), project.file("dist")),
        (from.join("pylock.toml"), project.file("pylock.toml")),
    ] {
        let _ = std::fs::remove_dir_all(&to);
        let _ = std::fs::remove_file(&to);
        copy(&from, &to);
    }
}

fn copy(from: &Path, to: &Path) {
    if from.exists() {
        let status = Command::new("cp")
            .arg("-a")
            .arg(from)
            .arg(to)
            .status()
            .unwrap();
        assert!(
            status.success(),
            "cp -a {} {}",
            from.display(),
            to.display()
        );
    }
}

/// Kill `args` at [`kill_points`] points of its run, each from the state
/// `start` left, and tally what the kills left behind.
fn kill_campaign(reference: &Reference, project: &Project, args: &[String], start: &Path) {
    restore(project, start);
    let began = Instant::now();
    run(project, args).assert_success();
    let length = began.elapsed();
    eprintln!("`vendor {}` runs {length:?} uninterrupted", args[0]);
    let mut tally = Tally::default();
    let points = kill_points();
    for point in 1..=points {
        restore(project, start);
        let delay = length * point / (points + 1);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (mut command, _) = project.command(&args);
        let mut child = command
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        let status = child.wait().unwrap();
        if std::os::unix::process::ExitStatusExt::signal(&status).is_none() {
            continue; // it finished first: nothing was injected
        }
        let mut problems = aftermath(reference, project);
        problems.extend(recovery(reference, project));
        tally.record(&format!("kill -9 at {delay:?}"), problems);
    }
    tally.finish(&format!("kill -9 during `vendor {}`", args[0]));
}

#[test]
fn kill_9_at_many_points_of_lock_fetch_and_build_loses_nothing() {
    let reference = reference();
    let states = tempfile::tempdir().unwrap();
    let project = Project::new().requirements("webapp\n");
    project.write("vendor.toml", "[app]\nname = \"demo\"\n");
    let (cold, locked, fetched) = (
        states.path().join("cold"),
        states.path().join("locked"),
        states.path().join("fetched"),
    );
    for folder in [&cold, &locked, &fetched] {
        fs_err::create_dir_all(folder).unwrap();
    }
    snapshot(&project, &cold);
    run(&project, &lock_args(&reference.index)).assert_success();
    snapshot(&project, &locked);
    project.fetch().assert_success();
    snapshot(&project, &fetched);

    kill_campaign(&reference, &project, &lock_args(&reference.index), &cold);
    reference.index.pace_files(Duration::from_millis(2));
    kill_campaign(&reference, &project, &["fetch".to_string()], &locked);
    reference.index.clear_faults();
    kill_campaign(&reference, &project, &["build".to_string()], &fetched);
}

#[test]
fn concurrent_runs_on_one_cache_and_one_output_agree() {
    let reference = reference();
    let project = Project::new().requirements("webapp\n");
    project.write("vendor.toml", "[app]\nname = \"demo\"\n");
    run(&project, &lock_args(&reference.index)).assert_success();
    let mut tally = Tally::default();
    for command in ["fetch", "build"] {
        let children: Vec<_> = (0..3)
            .map(|_| {
                let (mut command, _) = project.command(&[command]);
                command
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let output = child.wait_with_output().unwrap();
            let mut problems = aftermath(&reference, &project);
            if !output.status.success() {
                problems.push(String::from_utf8_lossy(&output.stderr).into_owned());
            }
            tally.record(&format!("three `vendor {command}` at once"), problems);
        }
    }
    let problems = recovery(&reference, &project);
    assert!(problems.is_empty(), "{problems:?}");
    tally.finish("concurrent runs");
}

/// One index fault: set up by `inject`, then lock and fetch against it.
struct IndexFault {
    name: &'static str,
    inject: fn(&TestIndex),
    /// `None`: the run must succeed; else the failure must mention these.
    failure: Option<&'static [&'static str]>,
}

#[test]
fn a_faulty_index_gets_clear_errors_and_never_a_damaged_cache() {
    let reference = reference();
    let wheel = "bigdata-1.0-py3-none-any.whl";
    let faults = [
        IndexFault {
            name: "5xx twice on a project page",
            inject: |index| index.fail_first("/simple/helper/", 2, 503),
            failure: None,
        },
        IndexFault {
            name: "5xx on every request of a project page",
            inject: |index| index.fail_first("/simple/helper/", 100, 500),
            failure: Some(&["/simple/helper/", "500"]),
        },
        IndexFault {
            name: "5xx twice on a file",
            inject: |index| {
                index.fail_first(
                    &format!("/files/{}", "bigdata-1.0-py3-none-any.whl"),
                    2,
                    502,
                )
            },
            failure: None,
        },
        IndexFault {
            name: "a download cut off once",
            inject: |index| index.cut_off_first("bigdata-1.0-py3-none-any.whl", 70_000, 1),
            failure: None,
        },
        IndexFault {
            name: "a download cut off every time",
            inject: |index| index.cut_off_first("bigdata-1.0-py3-none-any.whl", 70_000, 100),
            failure: Some(&["bigdata-1.0-py3-none-any.whl"]),
        },
        IndexFault {
            name: "a file whose bytes do not match its hash",
            inject: |index| index.corrupt("bigdata-1.0-py3-none-any.whl"),
            failure: Some(&["bigdata-1.0-py3-none-any.whl", "sha256"]),
        },
        IndexFault {
            name: "a project page stalled once past the read timeout",
            inject: |index| index.stall_first("/simple/helper/", Duration::from_secs(3), 1),
            failure: None,
        },
        IndexFault {
            name: "a project page stalled on every request",
            inject: |index| index.stall_first("/simple/helper/", Duration::from_secs(3), 100),
            failure: Some(&["/simple/helper/"]),
        },
    ];
    let mut tally = Tally::default();
    for fault in &faults {
        let mut project = Project::new().requirements("webapp\n");
        project.write("vendor.toml", "[app]\nname = \"demo\"\n");
        project.set_env("VENDOR_HTTP_TIMEOUT", "1");
        project.set_env("VENDOR_HTTP_RETRIES", "2");
        (fault.inject)(&reference.index);
        let locked = run(&project, &lock_args(&reference.index));
        let outcome = if locked.code == Some(0) {
            project.fetch()
        } else {
            locked
        };
        let mut problems = Vec::new();
        match (fault.failure, outcome.code) {
            (None, Some(0)) => {}
            (Some(needles), Some(1)) => {
                eprintln!("{}: {}", fault.name, outcome.stderr.trim());
                let missing: Vec<&&str> = needles
                    .iter()
                    .filter(|needle| !outcome.stderr.contains(**needle))
                    .collect();
                if !missing.is_empty() || outcome.stderr.lines().count() > 12 {
                    problems.push(format!(
                        "unclear error (missing {missing:?}): {}",
                        outcome.stderr
                    ));
                }
                if !project.cached_artifacts(wheel).is_empty() && fault.name.contains("hash") {
                    problems.push("the mismatching file was kept".into());
                }
            }
            (_, code) => problems.push(format!("exit {code:?}: {}", outcome.stderr.trim())),
        }
        problems.extend(aftermath(&reference, &project));
        if !project.cache_temp_files().is_empty() {
            problems.push(format!("temp files left: {:?}", project.cache_temp_files()));
        }
        reference.index.clear_faults();
        problems.extend(recovery(&reference, &project));
        tally.record(fault.name, problems);
    }
    tally.finish("faulty index");
}

/// PEP 700 sizes are the index's word; the sha256 is the check. (The lock
/// keeps the size the index stated, as uv's does.)
#[test]
fn an_index_that_states_wrong_sizes_still_locks_and_fetches_the_right_bytes() {
    let reference = reference();
    let mut tally = Tally::default();
    for delta in [-1000i64, 1000] {
        let mut artifacts = scenario().generate();
        for artifact in &mut artifacts {
            artifact.stated_size = Some((artifact.size() as i64 + delta).max(1) as u64);
        }
        let lying = TestIndex::start(
            artifacts
                .into_iter()
                .fold(Scenario::empty(), Scenario::with_artifact),
        );
        let project = Project::new().requirements("webapp\n");
        project.write("vendor.toml", "[app]\nname = \"demo\"\n");
        let locked = run(&project, &lock_args(&lying));
        let outcome = if locked.code == Some(0) {
            project.fetch()
        } else {
            locked
        };
        let mut problems = Vec::new();
        if outcome.code != Some(0) {
            problems.push(format!(
                "exit {:?}: {}",
                outcome.code,
                outcome.stderr.trim()
            ));
        }
        let verify = project.run(&["cache", "verify"]);
        if verify.code != Some(0) {
            problems.push(format!("`vendor cache verify`: {}", verify.stdout.trim()));
        }
        // The RPMs, that is: the repository's metadata records the lock,
        // whose URLs name this index.
        let rpms = |output: &std::collections::BTreeMap<String, Vec<u8>>| {
            output
                .iter()
                .filter(|(name, _)| name.ends_with(".rpm"))
                .map(|(name, bytes)| (name.clone(), bytes.clone()))
                .collect::<Vec<_>>()
        };
        if project.run(&["build"]).code != Some(0)
            || rpms(&tree(&project.file("dist/el9"))) != rpms(&reference.output)
        {
            problems.push("the RPMs differ from the reference's".into());
        }
        tally.record(&format!("every size stated {delta:+} bytes off"), problems);
    }
    tally.finish("wrong sizes on the index");
}

/// A tmpfs of `size` mounted at `folder` until dropped.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(folder: &Path, size: &str) -> Self {
        fs_err::create_dir_all(folder).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(folder)
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "mounting a tmpfs needs root (CAP_SYS_ADMIN)"
        );
        Self(folder.to_path_buf())
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_gets_a_clear_error_and_leaves_cache_and_output_whole() {
    let reference = reference();
    let mut tally = Tally::default();
    for (name, size, command) in [
        ("a full cache during lock", "24k", "lock"),
        ("a full cache during fetch", "600k", "fetch"),
    ] {
        let project = Project::new().requirements("webapp\n");
        project.write("vendor.toml", "[app]\nname = \"demo\"\n");
        if command == "fetch" {
            fs_err::copy(
                reference.project.file("pylock.toml"),
                project.file("pylock.toml"),
            )
            .unwrap();
        }
        let disk = SmallDisk::mount(project.cache_dir(), size);
        let outcome = match command {
            "lock" => run(&project, &lock_args(&reference.index)),
            _ => project.fetch(),
        };
        let mut problems = full_disk_problems(&outcome, "the cache's file system is full");
        problems.extend(aftermath(&reference, &project));
        if command == "lock" && project.file("pylock.toml").exists() {
            problems.push("a lock was written".into());
        }
        drop(disk);
        problems.extend(recovery(&reference, &project));
        tally.record(name, problems);
    }
    // The output folder on a small disk, the previous release in place.
    let project = Project::new().requirements("webapp\n");
    project.write("vendor.toml", "[app]\nname = \"demo\"\n");
    run(&project, &lock_args(&reference.index)).assert_success();
    project.fetch().assert_success();
    let disk = SmallDisk::mount(&project.file("dist"), "40k");
    let outcome = project.run(&["build"]);
    let mut problems = full_disk_problems(&outcome, "the output folder's file system is full");
    let left = files_under(&project.file("dist"));
    if !left.iter().all(|path| path.ends_with(".el9.lock")) {
        problems.push(format!("a failed build left {left:?}"));
    }
    problems.extend(aftermath(&reference, &project));
    drop(disk);
    problems.extend(recovery(&reference, &project));
    tally.record("a full output disk during build", problems);
    tally.finish("full disk");
}

/// A failure on a full disk must say so in a few lines, with `hint`.
fn full_disk_problems(outcome: &Outcome, hint: &str) -> Vec<String> {
    eprintln!("full disk: {}", outcome.stderr.trim());
    let clear = outcome.code == Some(1)
        && outcome.stderr.contains("No space left on device")
        && outcome.stderr.contains(hint)
        && outcome.stderr.lines().count() <= 12;
    if clear {
        Vec::new()
    } else {
        vec![format!(
            "exit {:?}, unclear: {}",
            outcome.code,
            outcome.stderr.trim()
        )]
    }
}
