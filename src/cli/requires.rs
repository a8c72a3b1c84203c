//! `vendor requires`: what a server needs installed for the built RPMs —
//! a table of distribution package ← capability ← RPMs, then the `dnf
//! install` line; capabilities no package is known for are warnings.

use std::path::PathBuf;

use clap::Args;

use super::lock_input::LockInputArgs;
use super::project::Project;
use super::table::print_table;
use super::Outcome;
use vendor::server_needs::ServerChanges;
use vendor::server_needs::{system_requirements, NeededCapability, SystemRequirements};
use vendor::targets::Target;

#[derive(Debug, Args)]
pub struct RequiresArgs {
    #[command(flatten)]
    lock: LockInputArgs,
    /// Where `vendor build` wrote the repositories; RPMs are read from `<out>/<target>/`.
    #[arg(long, value_name = "DIR", default_value = "dist")]
    out: PathBuf,
    /// Print the report as JSON (for automation) instead of a table.
    #[arg(long)]
    json: bool,
    /// Also write the `.repo` file servers need (`/etc/yum.repos.d/<app>.repo`).
    #[arg(long, value_name = "FILE", requires = "baseurl")]
    repo_file: Option<PathBuf>,
    /// Where servers reach the repository (`https://repo.example.org/mysite/el9`).
    #[arg(long, value_name = "URL")]
    baseurl: Option<String>,
}

/// RPM names shown per row before "… and N more".
const SHOWN_RPMS: usize = 3;

pub fn run(project: &Project, arguments: RequiresArgs) -> anyhow::Result<Outcome> {
    let target = arguments.lock.target_of(project)?;
    let folder = project.path(&arguments.out).join(&target.name);
    let requirements = system_requirements(&folder, &target)?;
    if let Some(path) = &arguments.repo_file {
        write_repo_file(
            project,
            &folder,
            &target,
            path,
            arguments.baseurl.as_deref(),
        )?;
    }
    if arguments.json {
        println!("{}", serde_json::to_string_pretty(&requirements)?);
        return Ok(Outcome::Success);
    }

    let mut rows = Vec::new();
    for (package, needed) in &requirements.packages {
        for (index, capability) in needed.iter().enumerate() {
            let package = if index == 0 { package.as_str() } else { "" };
            rows.push([
                package.to_string(),
                capability.capability.clone(),
                required_by(capability),
            ]);
        }
    }
    let header = ["package", "needed for", "required by"].map(String::from);
    print_table(&[vec![header], rows].concat());
    warn_unmapped(&requirements, &target);
    let packages = requirements.package_names();
    if !packages.is_empty() {
        println!();
        println!("dnf install {}", packages.join(" "));
    }
    print_server_changes(&requirements.server_changes, true);
    if !project.quiet {
        eprintln!(
            "{} RPMs in {} need {} system packages",
            requirements.rpm_count,
            requirements.folder.display(),
            packages.len()
        );
    }
    Ok(Outcome::Success)
}

/// What the app's RPMs do on a server besides adding files; with
/// `scripts`, each scriptlet's text as rpm will run it (else its phase).
pub(super) fn print_server_changes(changes: &[ServerChanges], scripts: bool) {
    for rpm in changes {
        println!();
        println!("`{}` on a server:", rpm.rpm);
        for path in &rpm.config_files {
            println!(
                "  config file {path} (an edited copy is kept; a new default lands as .rpmnew)"
            );
        }
        for unit in &rpm.units {
            let name = unit.rsplit('/').next().unwrap_or(unit);
            println!("  systemd unit {name} (enabled per the system's preset)");
        }
        for user in &rpm.users {
            println!("  creates system user `{user}`");
        }
        if !scripts {
            let phases: Vec<&str> = rpm
                .scriptlets
                .iter()
                .map(|(phase, _)| phase.as_str())
                .collect();
            if !phases.is_empty() {
                println!(
                    "  scriptlets {} (`vendor requires` or `rpm -qp --scripts` shows them)",
                    phases.join(", ")
                );
            }
            continue;
        }
        for (phase, script) in &rpm.scriptlets {
            println!("  {phase} scriptlet:");
            for line in script.lines() {
                println!("    {line}");
            }
        }
    }
}

/// The `.repo` file for the repository in `folder`, published at `baseurl`.
fn write_repo_file(
    project: &Project,
    folder: &std::path::Path,
    target: &Target,
    path: &std::path::Path,
    baseurl: Option<&str>,
) -> anyhow::Result<()> {
    let app = &super::build::app_config(project, "requires --repo-file")?
        .app
        .name;
    let signed = folder.join(format!("RPM-GPG-KEY-{app}")).is_file();
    let text =
        vendor::server_needs::repo_file(app, &target.name, baseurl.unwrap_or_default(), signed);
    let path = project.path(path);
    fs_err::write(&path, text)?;
    if !project.quiet {
        eprintln!(
            "wrote {} (copy it to /etc/yum.repos.d/ on the servers)",
            path.display()
        );
    }
    Ok(())
}

/// Capabilities no package of the target is known to provide, as a
/// warning (also shown by `vendor build`: a soname of the build host's
/// distribution that the target lacks makes the RPM uninstallable there).
pub(super) fn warn_unmapped(requirements: &SystemRequirements, target: &Target) {
    warn_missing_from_output(requirements);
    if requirements.unmapped.is_empty() {
        return;
    }
    eprintln!(
        "warning: no package of target `{}` is known to provide:",
        target.name
    );
    let mut another_soname = false;
    for capability in &requirements.unmapped {
        let shipped = target
            .other_soname_of(&capability.capability)
            .map(|(soname, package)| format!("; `{}` ships `{soname}` ({package})", target.name))
            .unwrap_or_default();
        another_soname |= !shipped.is_empty();
        eprintln!(
            "  {} (required by {}{shipped})",
            capability.capability,
            required_by(capability)
        );
    }
    if another_soname {
        eprintln!(
            "hint: these RPMs were built against the build host's libraries; build on a host like the servers (`{}`) for RPMs they can install",
            target.name
        );
    } else {
        eprintln!(
            "hint: a soname here may be the build host's rather than the target's (build on a host like the servers, `{}`), or map the target's sonames in `policies/targets/{}.toml` under `[sonames]`",
            target.name, target.name
        );
    }
}

/// The app's own packages its RPMs require but the output lacks: no server
/// package can stand in for them, so they are not a soname question.
fn warn_missing_from_output(requirements: &SystemRequirements) {
    if requirements.missing_from_output.is_empty() {
        return;
    }
    eprintln!("warning: the output lacks packages of the app that its RPMs require:");
    for capability in &requirements.missing_from_output {
        eprintln!(
            "  {} (required by {})",
            capability.capability,
            required_by(capability)
        );
    }
    eprintln!(
        "hint: these packages failed or were left out of the build; once they build, run `vendor build` again"
    );
}

/// `a, b, c … and 4 more`.
fn required_by(capability: &NeededCapability) -> String {
    let names: Vec<&str> = capability.required_by.iter().map(String::as_str).collect();
    if names.len() > SHOWN_RPMS {
        format!(
            "{} … and {} more",
            names[..SHOWN_RPMS].join(", "),
            names.len() - SHOWN_RPMS
        )
    } else {
        names.join(", ")
    }
}
