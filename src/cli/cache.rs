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
