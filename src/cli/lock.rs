//! `vendor lock`: merge flags, `vendor.toml` and requirement-file options,
//! resolve, lock the build requirements of the packages built from source
//! (for this host), and write `pylock.toml` only when it changes.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use pep440_rs::Version;

use super::project::Project;
use super::{Outcome, UsageError};
use vendor::index::{IndexClient, IndexSettings};
use vendor::lock::{
    lock_project, pylock, Lock, LockOptions, LockOutcome, LockRequest, ProjectLockRequest, Upgrade,
};
use vendor::name::{ExtraName, PackageName};
use vendor::policy::Policies;
use vendor::requirements::{add_app_source, read_requirements, RequirementsInput};
use vendor::targets::Target;

#[derive(Debug, Args)]
pub struct LockArgs {
    /// Requirement files or `pyproject.toml` (repeatable); default: `vendor.toml`'s list, else `requirements.in`.
    #[arg(short = 'r', long = "requirements", value_name = "FILE")]
    requirements: Vec<PathBuf>,
    /// Constraint files (repeatable).
    #[arg(short = 'c', long = "constraints", value_name = "FILE")]
    constraints: Vec<PathBuf>,
    /// Optional dependencies of a `pyproject.toml` to include (repeatable).
    #[arg(long = "extra", value_name = "NAME")]
    extras: Vec<ExtraName>,
    /// Target platform: a file in `policies/targets/` (`el8`, `el9`, `el10`, `fedora-43`) or `host`.
    #[arg(long, value_name = "NAME")]
    target: Option<String>,
    /// Full target Python version (`3.11.9`); markers use `python_full_version`.
    #[arg(long, value_name = "VERSION")]
    python: Option<Version>,
    #[command(flatten)]
    index: IndexArgs,
    /// Fail (exit 1) instead of writing when the lock would change.
    #[arg(long)]
    locked: bool,
    /// Ignore every existing pin.
    #[arg(long, conflicts_with = "upgrade_package")]
    upgrade: bool,
    /// Let this package move off its pin (repeatable).
    #[arg(short = 'P', long, value_name = "NAME")]
    upgrade_package: Vec<PackageName>,
    /// The lock file to write (`pylock.toml` or `pylock.<name>.toml`).
    #[arg(short = 'o', long, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// Where packages come from: flags that win over requirement files and
/// `vendor.toml`.
#[derive(Debug, Default, Args)]
struct IndexArgs {
    /// The package index (PEP 503/691 simple API).
    #[arg(long, value_name = "URL")]
    index_url: Option<String>,
    /// More indexes, consulted when the first has no such project.
    #[arg(long, value_name = "URL")]
    extra_index_url: Vec<String>,
    /// Folders (or HTML pages) of wheels and sdists to use besides the index.
    #[arg(short = 'f', long, value_name = "DIR")]
    find_links: Vec<String>,
    /// Use no index, only `--find-links`.
    #[arg(long)]
    no_index: bool,
    /// Ignore files uploaded after this time (RFC 3339, or a date meaning its midnight UTC).
    #[arg(long, value_name = "DATE")]
    exclude_newer: Option<String>,
    /// Never use the network; the cache must hold every index page needed.
    #[arg(long)]
    offline: bool,
}

pub fn run(project: &Project, arguments: LockArgs) -> anyhow::Result<Outcome> {
    let output = project.lock_path(arguments.output.as_deref());
    check_lock_file_name(&output)?;
    let input = read_inputs(project, &arguments)?;
    let target = project.target(arguments.target.as_deref(), arguments.python.as_ref())?;
    let settings = index_settings(project, &arguments.index, &input)?;
    let previous = read_previous(&output, arguments.locked)?;
    let outcome = resolve(
        project,
        &input,
        &target,
        settings,
        previous.as_ref(),
        upgrade(&arguments),
    )?;

    let summary = summary(&outcome.lock, &target);
    if arguments.locked {
        return Ok(check_locked(
            &output,
            previous.as_ref(),
            &outcome.lock,
            &summary,
        ));
    }
    let written = pylock::write_if_changed(&output, &outcome.lock)?;
    if !project.quiet {
        let state = if written { "wrote" } else { "unchanged:" };
        eprintln!(
            "locked {summary} in {}; {state} {}",
            timing(&outcome),
            output.display()
        );
    }
    Ok(Outcome::Success)
}

/// Lock a file that already pins every package (a PEP 751 lock of another
/// tool, a hashed `requirements.txt`) for a target, in memory: the pins
/// and files are kept exactly; what `vendor` adds is the build
/// environments of the packages built from source.
pub(super) fn lock_pinned(
    project: &Project,
    path: &Path,
    target: &Target,
    offline: bool,
) -> anyhow::Result<Lock> {
    let input = read_requirements(&[path.to_path_buf()], &[])?;
    input.check_pinned()?;
    let index = IndexArgs {
        offline,
        ..IndexArgs::default()
    };
    let mut settings = index_settings(project, &index, &input)?;
    // A pin is exact; a date cut-off could only hide the pinned file.
    settings.exclude_newer = None;
    let outcome = resolve(project, &input, target, settings, None, Upgrade::Nothing)?;
    if !project.quiet {
        eprintln!(
            "locked {} from `{}` (pins kept) in {}",
            summary(&outcome.lock, target),
            path.display(),
            timing(&outcome)
        );
    }
    Ok(outcome.lock)
}

/// Resolve `input` for `target` and lock the build environments.
fn resolve(
    project: &Project,
    input: &RequirementsInput,
    target: &Target,
    settings: IndexSettings,
    previous: Option<&Lock>,
    upgrade: Upgrade,
) -> anyhow::Result<LockOutcome> {
    let policies = Policies::load(Some(&project.dir))?;
    let configured_from_source = project.configured_from_source();
    let reporter = project.reporter();
    let runtime = project.runtime()?;
    let client = {
        let _guard = runtime.enter();
        IndexClient::new(
            settings.clone(),
            project.cache()?,
            Project::dyn_reporter(&reporter),
        )?
    };
    let request = ProjectLockRequest {
        lock: LockRequest {
            requirements: &input.requirements,
            constraints: &input.constraints,
            target,
            options: lock_options(target, input, &client, &settings),
            previous,
            upgrade,
        },
        policies: &policies,
        configured_from_source: &configured_from_source,
    };
    let outcome = lock_project(&request, &client, runtime.handle(), reporter.as_ref());
    // The process ends with this command: freeing the client's memo of
    // every page and metadata read (tens of thousands of allocations, a
    // tenth of a warm lock's time) is left to the exit.
    std::mem::forget(client);
    Ok(outcome?)
}

/// Which existing pins may move.
fn upgrade(arguments: &LockArgs) -> Upgrade {
    if arguments.upgrade {
        Upgrade::Everything
    } else if !arguments.upgrade_package.is_empty() {
        Upgrade::Packages(arguments.upgrade_package.clone())
    } else {
        Upgrade::Nothing
    }
}

/// What the lock records of how it was made (`[tool.vendor]`).
fn lock_options(
    target: &Target,
    input: &RequirementsInput,
    client: &IndexClient,
    settings: &IndexSettings,
) -> LockOptions {
    LockOptions {
        target: target.name.clone(),
        arch: target.arch.clone(),
        python: target.python.clone(),
        requirements: sorted_strings(input.requirements.iter().map(|r| r.requirement.to_string())),
        constraints: sorted_strings(input.constraints.iter().map(|r| r.requirement.to_string())),
        index_urls: client.index_urls(),
        find_links: settings
            .find_links
            .iter()
            .map(|location| vendor::index::redact_credentials(location))
            .collect(),
        exclude_newer: settings.exclude_newer,
        format_control: input.format_control.clone(),
        prefer_binary: input.prefer_binary,
        require_hashes: input.require_hashes,
    }
}

/// `18 packages for el9 / CPython 3.11.9 / x86_64 (+ 4 build requirements for this host)`.
fn summary(lock: &Lock, target: &Target) -> String {
    let mut summary = format!(
        "{} packages for {} / CPython {} / {}",
        lock.packages.len(),
        target.name,
        target.python,
        target.arch
    );
    if !lock.build_packages.is_empty() {
        summary.push_str(&format!(
            " (+ {} build requirements for this host)",
            lock.build_packages.len()
        ));
    }
    summary
}

/// `1.93 s`, or `2.41 s (build requirements: 1.95 s after the resolution)`:
/// the work on build environments overlaps the resolution, so what it adds
/// is the wait once the resolution is done.
fn timing(outcome: &LockOutcome) -> String {
    let mut text = format!("{:.2} s", outcome.elapsed.as_secs_f64());
    if let Some(wait) = outcome.build_wait {
        text.push_str(&format!(
            " (build requirements: {:.2} s after the resolution)",
            wait.as_secs_f64()
        ));
    }
    text
}

fn check_lock_file_name(output: &Path) -> anyhow::Result<()> {
    let file_name = output
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("");
    if pylock::is_valid_lock_file_name(file_name) {
        return Ok(());
    }
    Err(UsageError::with_hint(
        format!("`{}` is not a PEP 751 lock file name", output.display()),
        "name it `pylock.toml` or `pylock.<name>.toml`",
    )
    .into())
}

/// Requirement files from the flags, else `vendor.toml`, else the usual names.
fn requirement_paths(project: &Project, arguments: &LockArgs) -> anyhow::Result<Vec<PathBuf>> {
    if !arguments.requirements.is_empty() {
        return Ok(arguments
            .requirements
            .iter()
            .map(|path| project.path(path))
            .collect());
    }
    if let Some(config) = &project.config {
        if !config.app.requirements.is_empty() {
            return Ok(config.app.requirements.clone());
        }
        if config.app.deployment.is_some() {
            // The app's own project is the requirement (`read_inputs`).
            return Ok(Vec::new());
        }
    }
    for candidate in ["requirements.in", "requirements.txt", "pyproject.toml"] {
        let path = project.dir.join(candidate);
        if path.is_file() {
            return Ok(vec![path]);
        }
    }
    Err(UsageError::with_hint(
        format!("no requirements to lock in `{}`", project.dir.display()),
        "pass `-r requirements.in`, or list files under `[app] requirements` in `vendor.toml`",
    )
    .into())
}

fn read_inputs(project: &Project, arguments: &LockArgs) -> anyhow::Result<RequirementsInput> {
    let mut input = read_requirements(&requirement_paths(project, arguments)?, &arguments.extras)?;
    if let Some(config) = &project.config {
        if let Some(deployment) = &config.app.deployment {
            add_app_source(&mut input, &deployment.source, &config.path)?;
        }
    }
    if !arguments.constraints.is_empty() {
        let paths: Vec<PathBuf> = arguments
            .constraints
            .iter()
            .map(|path| project.path(path))
            .collect();
        let constraints = read_requirements(&paths, &[])?;
        input.constraints.extend(constraints.requirements);
        input.constraints.extend(constraints.constraints);
    }
    Ok(input)
}

/// Flags win over requirement-file options, which win over `vendor.toml`.
fn index_settings(
    project: &Project,
    arguments: &IndexArgs,
    input: &RequirementsInput,
) -> anyhow::Result<IndexSettings> {
    let configured = project.config.as_ref().map(|config| &config.index);
    let primary = arguments
        .index_url
        .clone()
        .or_else(|| input.index_url.clone())
        .or_else(|| configured.and_then(|index| index.index_url.clone()));
    let mut index_urls: Vec<String> = primary.into_iter().collect();
    index_urls.extend(arguments.extra_index_url.iter().cloned());
    index_urls.extend(input.extra_index_urls.iter().cloned());
    if let Some(index) = configured {
        index_urls.extend(index.extra_index_urls.iter().cloned());
    }
    let mut find_links: Vec<String> = arguments
        .find_links
        .iter()
        .map(|location| absolute_location(project, location))
        .collect();
    find_links.extend(input.find_links.iter().cloned());
    if let Some(index) = configured {
        find_links.extend(
            index
                .find_links
                .iter()
                .map(|location| absolute_location(project, location)),
        );
    }
    dedup_in_order(&mut index_urls);
    dedup_in_order(&mut find_links);
    let exclude_newer = match &arguments.exclude_newer {
        Some(raw) => Some(parse_exclude_newer(raw)?),
        None => configured.and_then(|index| index.exclude_newer),
    };
    Ok(IndexSettings {
        index_urls,
        no_index: arguments.no_index || input.no_index,
        find_links,
        offline: arguments.offline,
        exclude_newer,
    })
}

/// A find-links entry that is a relative path is relative to the project.
fn absolute_location(project: &Project, location: &str) -> String {
    if location.contains("://") {
        location.to_string()
    } else {
        project.path(Path::new(location)).display().to_string()
    }
}

fn dedup_in_order(values: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    values.retain(|value| seen.insert(value.clone()));
}

/// `2026-11-01T00:00:00Z` or `2026-11-01` (midnight UTC).
fn parse_exclude_newer(raw: &str) -> anyhow::Result<jiff::Timestamp> {
    vendor::config::parse_exclude_newer(raw).map_err(|reason| {
        UsageError::with_hint(
            format!("`--exclude-newer {raw}`: {reason}"),
            "write `2026-11-01` or `2026-11-01T00:00:00Z`",
        )
        .into()
    })
}

fn read_previous(output: &Path, locked: bool) -> anyhow::Result<Option<Lock>> {
    if !output.is_file() {
        return Ok(None);
    }
    match pylock::read(output) {
        Ok(lock) => Ok(Some(lock)),
        Err(error) if locked => Err(error).context("`--locked` needs a readable lock file"),
        // A damaged lock is replaced by a fresh resolution.
        Err(error) => {
            tracing::warn!("ignoring the existing lock: {error}");
            Ok(None)
        }
    }
}

fn check_locked(output: &Path, previous: Option<&Lock>, lock: &Lock, summary: &str) -> Outcome {
    let Some(previous) = previous else {
        eprintln!(
            "error: `{}` does not exist, but `--locked` was given\nhint: run `vendor lock` and commit the file",
            output.display()
        );
        return Outcome::Failure;
    };
    let current_text = fs_err::read_to_string(output).unwrap_or_default();
    if current_text == pylock::render_at(lock, output) {
        eprintln!("lock is up to date: {summary}");
        return Outcome::Success;
    }
    eprintln!(
        "error: `{}` is out of date with the requirements:",
        output.display()
    );
    for line in pylock::diff(previous, lock) {
        eprintln!("  {line}");
    }
    eprintln!("hint: run `vendor lock` (without `--locked`) and commit the result");
    Outcome::Failure
}

fn sorted_strings(values: impl Iterator<Item = String>) -> Vec<String> {
    let mut values: Vec<String> = values.collect();
    values.sort();
    values.dedup();
    values
}
