//! `vendor build`: make sure every wheel is cached (fetching what is
//! missing unless `--offline`), package them, and print a summary table.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::str::FromStr;

use clap::Args;

use super::lock_input::LockInputArgs;
use super::project::Project;
use super::table::{human_size, print_table};
use super::{Outcome, UsageError};
use vendor::cache::Cache;
use vendor::config::ProjectConfig;
use vendor::fetch::FetchOptions;
use vendor::lock::Lock;
use vendor::name::PackageName;
use vendor::package::pipeline::{package_lock, Application, PackageOptions, PackageReport};
use vendor::package::signing::{ReleaseSigner, PASSPHRASE_VARIABLE};
use vendor::policy::Policies;
use vendor::server_needs::system_requirements;
use vendor::targets::Target;
use vendor::wheels::{prepare_wheels, AppChecks, WheelOptions, WheelOrigin, WheelsOutcome};

#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    wheels: WheelArgs,
    /// Where the repositories go; RPMs land in `<out>/<target>/`.
    #[arg(long, value_name = "DIR", default_value = "dist")]
    out: PathBuf,
}

/// The options `vendor build` and `vendor verify` share.
#[derive(Debug, Args)]
pub(super) struct WheelArgs {
    #[command(flatten)]
    lock: LockInputArgs,
    /// Builds and checks run in parallel (default: the number of cores).
    #[arg(short, long, value_name = "N")]
    jobs: Option<usize>,
    /// Never use the network; every artifact must be cached.
    #[arg(long)]
    offline: bool,
    /// Only this locked package (repeatable); `build` keeps the other RPMs
    /// of the previous output and rewrites the repository metadata.
    #[arg(long, value_name = "NAME")]
    only: Vec<String>,
    /// Accept ELF files that need libraries the target lacks: a trial build
    /// on a host of another distribution (as `[build] allow-foreign-host`).
    #[arg(long)]
    allow_foreign_host: bool,
}

/// What `vendor build` and `vendor verify` share: the lock, its target and
/// the wheel stage's outcome.
pub(super) struct Prepared {
    pub lock: Lock,
    pub target: Target,
    pub outcome: WheelsOutcome,
    pub only: BTreeSet<PackageName>,
    pub jobs: usize,
}

/// Read the lock, fetch what is missing (unless `--offline`), then plan,
/// build and verify every wheel.
pub(super) fn prepare(
    project: &Project,
    arguments: &WheelArgs,
    command: &str,
    recheck: bool,
) -> anyhow::Result<Prepared> {
    let WheelArgs {
        lock: lock_input,
        jobs,
        offline,
        only,
        allow_foreign_host,
    } = arguments;
    let lock = lock_input.load(project, *offline)?;
    let target = project.target(Some(&lock.options.target), Some(&lock.options.python))?;
    let config = app_config(project, command)?;
    vendor::host::start_finding_interpreter(target.python_series());
    let only = select_packages(&lock, only)?;
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let reporter = project.reporter();
    // With `--offline` this only checks that everything is cached.
    let fetch_options = FetchOptions {
        offline: *offline,
        export: None,
        jobs: cores * 4,
    };
    let fetched = super::fetch::fetch_lock(project, &lock, &target, &fetch_options)?;
    let jobs = jobs.unwrap_or(cores).max(1);
    let cache = project.cache()?;
    let policies = Policies::load(Some(&project.dir))?;
    let wheel_options = WheelOptions {
        jobs,
        from_source: config.build.from_source.iter().cloned().collect(),
        only: only.iter().cloned().collect(),
        work_dir: work_dir(&cache, &target.name)?,
        prefix: config.app.prefix_or_default().into(),
        recheck,
        allow_foreign_host: *allow_foreign_host || config.build.allow_foreign_host,
        // A lock without the app's package fails at packaging, which says so.
        app_checks: application(config, &lock)
            .ok()
            .flatten()
            .map(|application| AppChecks {
                environment: application
                    .deployment
                    .service
                    .map(|service| service.environment)
                    .unwrap_or_default(),
                package: application.package,
            }),
    };
    let outcome = prepare_wheels(
        &lock,
        &fetched,
        &target,
        &cache,
        &policies,
        &wheel_options,
        reporter.as_ref(),
    )?;
    Ok(Prepared {
        lock,
        target,
        outcome,
        only,
        jobs,
    })
}

/// `vendor.toml`, which names the app.
pub(super) fn app_config<'a>(
    project: &'a Project,
    command: &str,
) -> anyhow::Result<&'a ProjectConfig> {
    project.config.as_ref().ok_or_else(|| {
        UsageError::with_hint(
            format!(
                "`vendor {command}` needs the app's name from `{}`",
                project.dir.join("vendor.toml").display()
            ),
            "create it with `[app]` `name = \"mysite\"`",
        )
        .into()
    })
}

/// The app's own package (`[app] source`), which the lock must hold.
fn application(config: &ProjectConfig, lock: &Lock) -> anyhow::Result<Option<Application>> {
    let Some(deployment) = &config.app.deployment else {
        return Ok(None);
    };
    let package = lock
        .package_at_directory(&deployment.source)
        .ok_or_else(|| {
            UsageError::with_hint(
                format!(
                    "the lock has no package from `{}`, the `[app] source` of `{}`",
                    deployment.source.display(),
                    config.path.display()
                ),
                "run `vendor lock`: it locks the app's own project with its dependencies",
            )
        })?;
    Ok(Some(Application {
        package: package.name.clone(),
        deployment: deployment.clone(),
    }))
}

/// The release signer `[sign] key` names, unlocked with the passphrase
/// from the environment.
fn signer(
    config: &ProjectConfig,
    target: &Target,
) -> anyhow::Result<Option<std::sync::Arc<ReleaseSigner>>> {
    let Some(key) = &config.sign.key else {
        return Ok(None);
    };
    // Build hooks and imports run while the key is in use: none may read it.
    vendor::sandbox::keep_secret(key);
    vendor::sandbox::keep_secret_variable(PASSPHRASE_VARIABLE);
    let passphrase = std::env::var(PASSPHRASE_VARIABLE).ok();
    Ok(Some(std::sync::Arc::new(ReleaseSigner::load(
        key, passphrase, target,
    )?)))
}

pub fn run(project: &Project, arguments: BuildArgs) -> anyhow::Result<Outcome> {
    let Prepared {
        lock,
        target,
        outcome,
        only,
        jobs,
    } = prepare(
        project,
        &arguments.wheels,
        "build",
        // A pass of the very same wheels, policies, interpreter and vendor
        // is trusted; `vendor verify` checks again.
        false,
    )?;
    let config = app_config(project, "build")?;
    let reporter = project.reporter();
    let output_dir = project.path(&arguments.out).join(&target.name);
    let options = PackageOptions {
        app: config.app.name.clone(),
        prefix: config.app.prefix_or_default().into(),
        output_dir,
        jobs,
        keep: config.repo.keep,
        signer: signer(config, &target)?,
        only,
        application: application(config, &lock)?,
    };
    let report = package_lock(
        &lock,
        &target,
        &outcome.verified,
        &project.cache()?,
        &options,
        reporter.as_ref(),
    )?;
    if !project.quiet {
        print_summary(&report, &outcome);
    }
    // What the target cannot provide is worth knowing now, not on a server.
    if let Ok(requirements) = system_requirements(&report.output_dir, &target) {
        if !project.quiet {
            super::requires::print_server_changes(&requirements.server_changes, false);
        }
        super::requires::warn_unmapped(&requirements, &target);
    }
    if outcome.is_complete() {
        return Ok(Outcome::Success);
    }
    eprintln!(
        "{}",
        failure_report(
            &outcome,
            " (no RPM for them, and `<app>-deps` was not written)"
        )
    );
    Ok(Outcome::Failure)
}

/// `<cache>/work/<target>`: build logs and scratch folders. Not in the
/// output folder, which is a repository servers may read as it is.
fn work_dir(cache: &Cache, target: &str) -> anyhow::Result<PathBuf> {
    let dir = cache.root().join("work").join(target);
    fs_err::create_dir_all(&dir)?;
    Ok(dir)
}

/// Every package without an RPM, with every failed check.
pub(super) fn failure_report(outcome: &WheelsOutcome, consequence: &str) -> String {
    let count = outcome.failures.len();
    let packages = if count == 1 { "package" } else { "packages" };
    let mut text = format!("error: {count} {packages} failed{consequence}:");
    for failure in &outcome.failures {
        text.push_str(&format!("\n- {failure}"));
    }
    text
}

/// The `--only` names as locked package names; a name the lock lacks is a
/// usage error suggesting the locked names that look like it.
fn select_packages(lock: &Lock, names: &[String]) -> anyhow::Result<BTreeSet<PackageName>> {
    let mut selected = BTreeSet::new();
    for raw in names {
        let name = PackageName::from_str(raw).ok();
        match name {
            Some(name) if lock.packages.iter().any(|package| package.name == name) => {
                selected.insert(name);
            }
            _ => {
                let close = close_names(lock, raw);
                let hint = if close.is_empty() {
                    "`vendor build --only` takes names of packages in the lock".to_string()
                } else {
                    format!("did you mean {}?", close.join(", "))
                };
                return Err(UsageError::with_hint(
                    format!("`{raw}` is not a package of the lock"),
                    hint,
                )
                .into());
            }
        }
    }
    Ok(selected)
}

/// Locked names similar to `wanted`, most similar first.
fn close_names(lock: &Lock, wanted: &str) -> Vec<String> {
    const SHOWN: usize = 5;
    let wanted = wanted.to_lowercase().replace(['_', '.'], "-");
    let mut scored: Vec<(f64, String)> = lock
        .packages
        .iter()
        .map(|package| {
            let name = package.name.to_string();
            let score = strsim::jaro_winkler(&wanted, &name);
            let contains = name.contains(&wanted) || wanted.contains(&name);
            (if contains { score.max(0.9) } else { score }, name)
        })
        .filter(|(score, _)| *score >= 0.8)
        .collect();
    scored.sort_by(|left, right| right.0.total_cmp(&left.0).then(left.1.cmp(&right.1)));
    scored
        .into_iter()
        .take(SHOWN)
        .map(|(_, name)| format!("`{name}`"))
        .collect()
}

fn print_summary(report: &PackageReport, outcome: &WheelsOutcome) {
    let sources: BTreeMap<&PackageName, &str> = outcome
        .verified
        .iter()
        .map(|prepared| {
            let source = match &prepared.origin {
                WheelOrigin::Published => "wheel",
                WheelOrigin::Built { log: Some(_) } => "sdist (built)",
                WheelOrigin::Built { log: None } => "sdist (cached build)",
            };
            (&prepared.package.name, source)
        })
        .collect();
    let rows: Vec<[String; 7]> = report
        .rpms
        .iter()
        .map(|rpm| {
            let bundled = bundled_column(&rpm.bundled);
            [
                rpm.package
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_else(|| rpm.rpm_name.clone()),
                rpm.version.clone(),
                rpm.package
                    .as_ref()
                    .and_then(|name| sources.get(name))
                    .map_or("-", |source| *source)
                    .to_string(),
                rpm.file_name.clone(),
                rpm.arch.clone(),
                if bundled.is_empty() {
                    "-".to_string()
                } else {
                    bundled
                },
                human_size(rpm.size),
            ]
        })
        .collect();
    let header = [
        "package",
        "version",
        "from",
        "rpm",
        "arch",
        "bundled libraries",
        "size",
    ]
    .map(str::to_string);
    print_table(&[vec![header], rows].concat());
    let total: u64 = report.rpms.iter().map(|rpm| rpm.size).sum();
    eprintln!(
        "built {} RPMs ({}) and a repository in {}",
        report.rpms.len(),
        human_size(total),
        report.output_dir.display()
    );
}

/// Bundled sonames, shortened to the first few for a readable table.
fn bundled_column(bundled: &[vendor::elf::BundledLibrary]) -> String {
    const SHOWN: usize = 3;
    let mut names: Vec<&str> = bundled
        .iter()
        .map(|library| library.soname.as_str())
        .collect();
    if names.len() > SHOWN {
        let more = names.len() - SHOWN;
        names.truncate(SHOWN);
        return format!("{}, … ({more} more)", names.join(", "));
    }
    names.join(", ")
}
