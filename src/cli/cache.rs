//! `vendor cache`: where the cache is, what it holds, and making room.

use clap::{Args, Subcommand};

use super::project::Project;
use super::table::{human_size, print_table};
use super::Outcome;

#[derive(Debug, Args)]
pub struct CacheArgs {
    #[command(subcommand)]
    action: CacheAction,
}

#[derive(Debug, Subcommand)]
enum CacheAction {
    /// Print the cache folder.
    Dir,
    /// Files and size of each cache folder.
    Info,
    /// Remove what every build makes again (installed trees, kept RPMs,
    /// passed verifications, work folders); downloads and wheels built from
    /// sdists stay. Do not run it while another `vendor` uses the cache.
    /// Re-hash every download, wheel built from an sdist, installed tree
    /// and kept RPM, and list what does not match.
    Verify {
        /// Remove the damaged entries (the next build downloads, builds or
        /// writes them again).
        #[arg(long)]
        remove: bool,
        /// Entries checked at once (default: the number of cores).
        #[arg(long, short = 'j')]
        jobs: Option<usize>,
    },
    Clean {
        /// Empty the whole cache, downloads and built wheels included.
        #[arg(long)]
        all: bool,
    },
}

pub fn run(project: &Project, arguments: CacheArgs) -> anyhow::Result<Outcome> {
    let cache = project.cache()?;
    match arguments.action {
        CacheAction::Dir => println!("{}", cache.root().display()),
        CacheAction::Info => {
            let usage = cache.usage()?;
            let mut rows = vec![[
                "folder".to_string(),
                "files".to_string(),
                "size".to_string(),
                "removed by `clean`".to_string(),
            ]];
            for folder in &usage {
                rows.push([
                    folder.name.clone(),
                    folder.files.to_string(),
                    human_size(folder.bytes),
                    if folder.derived { "yes" } else { "with --all" }.to_string(),
                ]);
            }
            let total: u64 = usage.iter().map(|folder| folder.bytes).sum();
            print_table(&rows);
            println!("{} in {}", human_size(total), cache.root().display());
        }
        CacheAction::Verify { remove, jobs } => return verify(project, &cache, remove, jobs),
        CacheAction::Clean { all } => {
            let freed = cache.clean(all)?;
            println!(
                "removed {} from {}",
                human_size(freed),
                cache.root().display()
            );
        }
    }
    Ok(Outcome::Success)
}

/// `vendor cache verify`: a table of what was checked, then each damaged
/// entry; fails when damage is left in the cache.
fn verify(
    project: &Project,
    cache: &vendor::cache::Cache,
    remove: bool,
    jobs: Option<usize>,
) -> anyhow::Result<Outcome> {
    let jobs = jobs.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let reporter = project.reporter();
    let check = vendor::cache_check::check_cache(cache, jobs.max(1), remove, reporter.as_ref())?;
    let mut rows = vec![[
        "folder".to_string(),
        "checked".to_string(),
        "unused (old layout or unfinished)".to_string(),
    ]];
    for folder in &check.folders {
        rows.push([
            folder.name.clone(),
            folder.entries.to_string(),
            folder.stale.to_string(),
        ]);
    }
    print_table(&rows);
    for damaged in &check.damaged {
        let removed = if damaged.removed { " (removed)" } else { "" };
        println!(
            "damaged: `{}`: {}{removed}",
            damaged.path.display(),
            damaged.problem
        );
    }
    let checked: usize = check.folders.iter().map(|folder| folder.entries).sum();
    println!("{checked} entries checked, {} damaged", check.damaged.len());
    if check.damaged.is_empty() || remove {
        return Ok(Outcome::Success);
    }
    eprintln!("hint: `vendor cache verify --remove` removes them; the next build downloads, builds or writes them again");
    Ok(Outcome::Failure)
}
