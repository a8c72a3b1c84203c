//! `vendor fetch`: download every artifact the build will use (build
//! requirements included), verified against the lock; `--offline` only
//! checks the cache.

use std::path::PathBuf;

use clap::Args;

use super::lock_input::LockInputArgs;
use super::project::Project;
use super::Outcome;
use vendor::fetch::{fetch, FetchOptions, FetchReport};
use vendor::host::LazyBuildHost;
use vendor::index::{IndexClient, IndexSettings};
use vendor::lock::{BuildPlan, Lock};
use vendor::policy::Policies;
use vendor::targets::Target;

#[derive(Debug, Args)]
pub struct FetchArgs {
    #[command(flatten)]
    lock: LockInputArgs,
    /// Never use the network; list everything the cache lacks.
    #[arg(long)]
    offline: bool,
    /// Also write the artifacts to DIR as a `--find-links` folder with a PEP 503 `simple/` tree.
    #[arg(long, value_name = "DIR")]
    export: Option<PathBuf>,
    /// Parallel downloads (default: 4 per core).
    #[arg(short, long, value_name = "N")]
    jobs: Option<usize>,
}

pub fn run(project: &Project, arguments: FetchArgs) -> anyhow::Result<Outcome> {
    let lock = arguments.lock.load(project, arguments.offline)?;
    let target = project.target(Some(&lock.options.target), Some(&lock.options.python))?;
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let options = FetchOptions {
        offline: arguments.offline,
        export: arguments.export.map(|dir| project.path(&dir)),
        jobs: arguments.jobs.unwrap_or(cores * 4).max(1),
    };
    let report = fetch_lock(project, &lock, &target, &options)?;

    if !project.quiet {
        let downloaded = report
            .artifacts
            .iter()
            .filter(|artifact| artifact.downloaded)
            .count();
        eprintln!(
            "fetched {} artifacts ({} downloaded, {}), all sha256 verified",
            report.artifacts.len(),
            downloaded,
            super::table::human_size(report.downloaded_bytes)
        );
        if let Some(dir) = &options.export {
            eprintln!("exported to {} (usable as `--find-links`)", dir.display());
        }
    }
    Ok(Outcome::Success)
}

/// Fetch what `vendor build` will use from the indexes the lock names;
/// shared by `vendor fetch` and `vendor build`.
pub fn fetch_lock(
    project: &Project,
    lock: &Lock,
    target: &Target,
    options: &FetchOptions,
) -> anyhow::Result<FetchReport> {
    let settings = IndexSettings {
        index_urls: lock.options.index_urls.clone(),
        no_index: lock.options.index_urls.is_empty(),
        find_links: lock.options.find_links.clone(),
        offline: options.offline,
        exclude_newer: lock.options.exclude_newer,
    };
    let plan = BuildPlan::for_lock(
        lock,
        &target.tags(),
        &Policies::load(Some(&project.dir))?,
        &project.configured_from_source(),
    );
    // Only the build host's wheel of each build package is needed here; when
    // the host cannot be described, every locked wheel is fetched.
    let build_host = (!lock.build_packages.is_empty())
        .then(|| LazyBuildHost::new(&lock.options.python).tags().ok())
        .flatten();
    let reporter = project.reporter();
    project.runtime()?.block_on(async {
        let client =
            IndexClient::new(settings, project.cache()?, Project::dyn_reporter(&reporter))?;
        let report = fetch(
            lock,
            &target.tags(),
            build_host.as_deref(),
            &plan,
            &client,
            options,
        )
        .await?;
        anyhow::Ok(report)
    })
}
