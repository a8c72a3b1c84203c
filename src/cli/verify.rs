//! `vendor verify`: run the wheel stage (building only what the built-wheel
//! cache lacks) and print every check of every package as a table.

use clap::Args;

use super::build::{failure_report, prepare, Prepared, WheelArgs};
use super::project::Project;
use super::table::print_table;
use super::Outcome;
use vendor::wheels::{WheelOrigin, WheelsOutcome};

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    wheels: WheelArgs,
}

pub fn run(project: &Project, arguments: VerifyArgs) -> anyhow::Result<Outcome> {
    let Prepared { outcome, .. } = prepare(project, &arguments.wheels, "verify", true)?;
    if !project.quiet {
        print_report(&outcome);
        print_networked_builds(project, &outcome)?;
    }
    if outcome.is_complete() {
        return Ok(Outcome::Success);
    }
    eprintln!("{}", failure_report(&outcome, ""));
    Ok(Outcome::Failure)
}

/// Packages built from source whose policy let the build use the network
/// (`[build] network = true`): their builds were not confined offline.
fn print_networked_builds(project: &Project, outcome: &WheelsOutcome) -> anyhow::Result<()> {
    let policies = vendor::policy::Policies::load(Some(&project.dir))?;
    for prepared in &outcome.verified {
        let networked = policies
            .get(&prepared.package.name)
            .filter(|loaded| loaded.policy.build.network)
            .filter(|_| matches!(prepared.origin, WheelOrigin::Built { .. }));
        if let Some(loaded) = networked {
            println!(
                "note: `{}` was built with network access (`[build] network = true` in {}): its build is not offline",
                prepared.package.name, loaded.origin
            );
        }
    }
    Ok(())
}

/// One row per check, grouped by package; then one line per package that
/// never reached the checks (its build failed).
fn print_report(outcome: &WheelsOutcome) {
    let header = ["package", "version", "from", "check", "result", "detail"].map(String::from);
    let mut rows = vec![header];
    for report in &outcome.reports {
        let from = outcome
            .verified
            .iter()
            .find(|prepared| prepared.package.name == report.package)
            .map_or("-", |prepared| match prepared.origin {
                WheelOrigin::Published => "wheel",
                WheelOrigin::Built { .. } => "sdist",
            });
        for (index, check) in report.checks.iter().enumerate() {
            let first = index == 0;
            rows.push([
                if first {
                    report.package.to_string()
                } else {
                    String::new()
                },
                if first {
                    report.version.to_string()
                } else {
                    String::new()
                },
                if first {
                    from.to_string()
                } else {
                    String::new()
                },
                check.kind.to_string(),
                if check.passed { "ok" } else { "FAILED" }.to_string(),
                first_line(&check.detail),
            ]);
        }
        if report.checks.is_empty() {
            rows.push([
                report.package.to_string(),
                report.version.to_string(),
                from.to_string(),
                "-".to_string(),
                "ok".to_string(),
                "no checks apply".to_string(),
            ]);
        }
    }
    print_table(&rows);
    let failed = outcome.failures.len();
    eprintln!(
        "{} packages verified, {failed} failed",
        outcome.verified.len()
    );
}

/// The first line of a check's detail, with the scratch environment's
/// folder left out of paths (it is gone once the command ends).
fn first_line(text: &str) -> String {
    let line = text.trim().lines().next().unwrap_or_default();
    match line.split_once("/site-packages/") {
        Some((before, after)) => {
            let lead = before.rsplit_once(' ').map_or("", |(lead, _)| lead);
            format!("{lead} {after}").trim().to_string()
        }
        None => line.to_string(),
    }
}
