//! `vendor build`: make sure every wheel is cached (fetching what is
//! missing unless `--offline`), package them, and print a summary table.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::str::FromStr;

use clap::Args;

use super::project::Project;
use super::{Outcome, UsageError};
use vendor::fetch::FetchOptions;
use vendor::lock::{pylock, Lock};
use vendor::name::PackageName;
use vendor::package::pipeline::{package_lock, PackageOptions, PackageReport};

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The lock file to build.
    #[arg(long, value_name = "FILE")]
    lock: Option<PathBuf>,
    /// Where the repositories go; RPMs land in `<out>/<target>/`.
    #[arg(long, value_name = "DIR", default_value = "dist")]
    out: PathBuf,
    /// Packages built in parallel (default: the number of cores).
    #[arg(short, long, value_name = "N")]
    jobs: Option<usize>,
    /// Never use the network; every artifact must be cached.
    #[arg(long)]
    offline: bool,
    /// Package only this locked package (repeatable); the other RPMs of the
    /// previous output are kept and the repository metadata is rewritten.
    #[arg(long, value_name = "NAME")]
    only: Vec<String>,
}

pub fn run(project: &Project, arguments: BuildArgs) -> anyhow::Result<Outcome> {
    let lock_path = project.lock_path(arguments.lock.as_deref());
    let lock = pylock::read(&lock_path)?;
    let target = project.target(Some(&lock.options.target), Some(&lock.options.python))?;
    let Some(config) = &project.config else {
        return Err(UsageError(format!(
            "`vendor build` needs the app's name from `{}`\nhint: create it with `[app]` `name = \"mysite\"`",
            project.dir.join("vendor.toml").display()
        ))
        .into());
    };
    let only = select_packages(&lock, &arguments.only)?;
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let reporter = project.reporter();
    // With `--offline` this only checks that everything is cached.
    let fetch_options = FetchOptions {
        offline: arguments.offline,
        export: None,
        jobs: cores * 4,
    };
    let mut to_fetch = lock.clone();
    if !only.is_empty() {
        to_fetch
            .packages
            .retain(|package| only.contains(&package.name));
    }
    super::fetch::fetch_lock(project, &to_fetch, &target, &fetch_options)?;
    let options = PackageOptions {
        app: config.app.name.clone(),
        prefix: config.app.prefix_or_default().into(),
        output_dir: project.path(&arguments.out).join(&target.name),
        jobs: arguments.jobs.unwrap_or(cores).max(1),
        release: "1".to_string(),
        only,
    };
    let report = package_lock(
        &lock,
        &target,
        &project.cache()?,
        &options,
        reporter.as_ref(),
    )?;
    if !project.quiet {
        print_summary(&report);
    }
    Ok(Outcome::Success)
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
                return Err(UsageError(format!(
                    "`{raw}` is not a package of the lock\nhint: {hint}"
                ))
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

fn print_summary(report: &PackageReport) {
    let rows: Vec<[String; 6]> = report
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
        "rpm",
        "arch",
        "bundled libraries",
        "size",
    ];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    println!("{}", line(&header.map(str::to_string)));
    for row in &rows {
        println!("{}", line(row));
    }
    let total: u64 = report.rpms.iter().map(|rpm| rpm.size).sum();
    eprintln!(
        "built {} RPMs ({}) and a repository in {}",
        report.rpms.len(),
        human_size(total),
        report.output_dir.display()
    );
}

/// Bundled sonames, shortened to the first few for a readable table.
fn bundled_column(bundled: &[vendor::package::elf::BundledLibrary]) -> String {
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

pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}
