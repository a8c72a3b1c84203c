//! `vendor releases`: the releases the output repository records, newest
//! first, with what changed from the one before and whether its RPMs are
//! still in the repository (for `dnf downgrade` / `dnf history undo`).

use std::path::PathBuf;

use clap::Args;

use super::lock_input::LockInputArgs;
use super::project::Project;
use super::Outcome;
use vendor::package::releases::{History, HISTORY_FILE};

#[derive(Debug, Args)]
pub struct ReleasesArgs {
    #[command(flatten)]
    lock: LockInputArgs,
    /// Where `vendor build` wrote the repositories; read from `<out>/<target>/`.
    #[arg(long, value_name = "DIR", default_value = "dist")]
    out: PathBuf,
}

pub fn run(project: &Project, arguments: ReleasesArgs) -> anyhow::Result<Outcome> {
    let target = arguments.lock.target_of(project)?;
    let folder = project.path(&arguments.out).join(&target.name);
    let history = History::read(&folder)?;
    if history.releases.is_empty() {
        eprintln!(
            "`{}` records no release yet (no `{HISTORY_FILE}`); `vendor build` writes the first",
            folder.display()
        );
        return Ok(Outcome::Success);
    }
    let mut previous = None;
    let mut lines = Vec::new();
    for release in &history.releases {
        let in_repository = folder.join(&release.deps).is_file();
        let mut block = vec![format!(
            "release {}  lock {}  {} RPMs{}",
            release.number,
            &release.lock[..release.lock.len().min(12)],
            release.rpms.len(),
            if in_repository {
                ""
            } else {
                "  (its RPMs are no longer in the repository)"
            }
        )];
        match previous {
            None => block.push("  first release".to_string()),
            Some(before) => {
                let changes = release.changes_since(before);
                if changes.is_empty() {
                    block.push("  no change".to_string());
                }
                block.extend(changes.iter().map(|change| format!("  {change}")));
            }
        }
        lines.push(block);
        previous = Some(release);
    }
    for block in lines.iter().rev() {
        for line in block {
            println!("{line}");
        }
    }
    Ok(Outcome::Success)
}
