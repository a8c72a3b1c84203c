//! The systemd unit, the system user and the scriptlets of the `<app>` RPM.
//!
//! Input: the app's name, its [`ServiceConfig`] and [`ScriptsConfig`] from
//! `vendor.toml`, and the [`Target`] (its systemd and rpm decide the form
//! of the scriptlets). Output: the unit file's and sysusers.d entry's
//! text, and the package's [`RpmScripts`].
//!
//! Invariants (docs/rpm-rules.md#the-application-rpm): the unit and user
//! scriptlets are the ones the target's own RPM macros expand to
//! (`%systemd_post`, `%systemd_preun`, `%systemd_postun_with_restart`;
//! `%sysusers_create_compat` where rpm predates sysusers.d support), so the
//! package behaves like one built with rpmbuild on that distribution; the
//! project's `[app.scripts]` run exactly as written, each in a subshell
//! under the condition its name says, and their exit status is the
//! scriptlet's; nothing else runs.

use super::rpm_writer::{RpmScripts, ScriptPhase};
use crate::config::{ScriptsConfig, ServiceConfig};
use crate::targets::Target;

/// The unit's path on the servers.
pub fn unit_path(app: &str) -> String {
    format!("/usr/lib/systemd/system/{app}.service")
}

/// The sysusers.d entry's path on the servers.
pub fn sysusers_path(app: &str) -> String {
    format!("/usr/lib/sysusers.d/{app}.conf")
}

/// `/var/lib/<app>`: the service's `StateDirectory=`, its user's home and
/// its default working directory.
pub fn state_directory(app: &str) -> String {
    format!("/var/lib/{app}")
}

/// `<app>.service`.
pub fn unit_file(app: &str, service: &ServiceConfig, target: &Target) -> String {
    // `Type=exec` (systemd 240) reports a command that cannot start as a
    // failed start; older systemd only knows `simple`.
    let kind = if target.systemd_at_least(240) {
        "exec"
    } else {
        "simple"
    };
    let working_directory = service
        .working_directory
        .clone()
        .unwrap_or_else(|| state_directory(app));
    let mut unit = format!(
        "# Written by vendor from [app.service] in vendor.toml.\n\
         [Unit]\n\
         Description={app}\n\
         Wants=network-online.target\n\
         After=network-online.target\n\
         \n\
         [Service]\n\
         Type={kind}\n\
         User={user}\n\
         Group={user}\n\
         ExecStart={exec}\n\
         WorkingDirectory={working_directory}\n",
        user = service.user,
        exec = service.exec,
    );
    for (name, value) in &service.environment {
        unit.push_str(&format!(
            "Environment=\"{name}={}\"\n",
            escape_unit_value(value)
        ));
    }
    unit.push_str(&format!(
        "StateDirectory={app}\n\
         LogsDirectory={app}\n\
         Restart=on-failure\n\
         \n\
         [Install]\n\
         WantedBy=multi-user.target\n"
    ));
    unit
}

/// The user the service runs as, as systemd-sysusers reads it.
pub fn sysusers_entry(app: &str, service: &ServiceConfig) -> String {
    format!(
        "u {} - \"{app} service\" {}\n",
        service.user,
        state_directory(app)
    )
}

/// The package's scriptlets: the user (where rpm does not create it), the
/// unit's preset/disable/restart, and the project's own scripts.
pub fn scriptlets(
    app: &str,
    service: Option<&ServiceConfig>,
    scripts: &ScriptsConfig,
    target: &Target,
) -> RpmScripts {
    let mut pre = Vec::new();
    let mut post = Vec::new();
    let mut preun = Vec::new();
    let mut postun = Vec::new();
    let mut requires = Vec::new();
    if let Some(service) = service {
        if !rpm_creates_sysusers(target) {
            pre.push(create_user(app, service));
            requires.push((ScriptPhase::PreInstall, "shadow-utils".to_string()));
        }
        let unit = format!("{app}.service");
        let [install, remove, restart] = unit_steps(&unit, target);
        post.push(install);
        preun.push(remove);
        postun.push(restart);
        for phase in [
            ScriptPhase::PostInstall,
            ScriptPhase::PreUninstall,
            ScriptPhase::PostUninstall,
        ] {
            requires.push((phase, "systemd".to_string()));
        }
    }
    let project_step_of = |script: &Option<String>, key: &str, condition: &str| {
        script
            .as_ref()
            .map(|script| project_step(key, condition, script))
    };
    post.extend(project_step_of(
        &scripts.post_install,
        "post-install",
        "[ \"$1\" -eq 1 ]",
    ));
    post.extend(project_step_of(
        &scripts.post_upgrade,
        "post-upgrade",
        "[ \"$1\" -gt 1 ]",
    ));
    preun.extend(project_step_of(
        &scripts.pre_uninstall,
        "pre-uninstall",
        "[ \"$1\" -eq 0 ]",
    ));
    RpmScripts {
        pre_install: join_steps(pre, false),
        post_install: join_steps(
            post,
            scripts.post_install.is_some() || scripts.post_upgrade.is_some(),
        ),
        pre_uninstall: join_steps(preun, scripts.pre_uninstall.is_some()),
        post_uninstall: join_steps(postun, false),
        requires,
    }
}

/// rpm 4.19 creates the users of a package's sysusers.d files itself.
fn rpm_creates_sysusers(target: &Target) -> bool {
    target.rpm_at_least(4, 19)
}

/// systemd 249 brought `systemd-update-helper`, which its RPM macros call
/// from then on instead of `systemctl`.
fn has_systemd_update_helper(target: &Target) -> bool {
    target.systemd_at_least(249)
}

/// `%sysusers_create_compat`: the user and its group, unless they exist.
fn create_user(app: &str, service: &ServiceConfig) -> String {
    let user = &service.user;
    let home = state_directory(app);
    format!(
        "# [app.service] user, as {sysusers} declares it (rpm before 4.19 does not read sysusers.d)\n\
         getent group '{user}' >/dev/null || groupadd -r '{user}' || :\n\
         getent passwd '{user}' >/dev/null || useradd -r -g '{user}' -d '{home}' -s /sbin/nologin -c '{app} service' '{user}' || :",
        sysusers = sysusers_path(app),
    )
}

/// `%systemd_post`, `%systemd_preun` and `%systemd_postun_with_restart`
/// of the target's systemd, for `unit`.
fn unit_steps(unit: &str, target: &Target) -> [String; 3] {
    const HELPER: &str = "/usr/lib/systemd/systemd-update-helper";
    // What, the macro, when ($1), the helper's verb, systemctl's command.
    let steps = [
        (
            "enable per the preset on a first installation",
            "systemd_post",
            "-eq 1",
            "install-system-units",
            "--no-reload preset",
        ),
        (
            "stop and disable on removal",
            "systemd_preun",
            "-eq 0",
            "remove-system-units",
            "--no-reload disable --now",
        ),
        (
            "restart after an upgrade",
            "systemd_postun_with_restart",
            "-ge 1",
            "mark-restart-system-units",
            "try-restart",
        ),
    ];
    let helper = has_systemd_update_helper(target);
    steps.map(|(what, name, condition, verb, systemctl)| {
        let (guard, command) = if helper {
            (
                format!(" && [ -x \"{HELPER}\" ]"),
                format!("{HELPER} {verb} {unit} || :"),
            )
        } else {
            (
                String::new(),
                format!("systemctl {systemctl} {unit} >/dev/null 2>&1 || :"),
            )
        };
        format!("# {what} (%{name})\nif [ $1 {condition} ]{guard}; then\n    {command}\nfi")
    })
}

/// One `[app.scripts]` entry: in a subshell (an `exit` in it ends only
/// itself), its status kept for the scriptlet's.
fn project_step(key: &str, condition: &str, script: &str) -> String {
    format!(
        "# [app.scripts] {key} (vendor.toml), exactly as written\nif {condition}; then\n(\n{}\n) || status=$?\nfi",
        script.trim_end()
    )
}

/// The steps of one scriptlet; with project steps, it exits with their
/// status so rpm reports a failed one.
fn join_steps(steps: Vec<String>, has_project_step: bool) -> Option<String> {
    if steps.is_empty() {
        return None;
    }
    let body = steps.join("\n\n");
    Some(if has_project_step {
        format!("status=0\n\n{body}\n\nexit $status\n")
    } else {
        format!("{body}\n")
    })
}

/// A value inside `Environment="…"`: C-style escapes, `%` doubled (systemd
/// expands `%` specifiers).
fn escape_unit_value(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('%', "%%")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn service() -> ServiceConfig {
        ServiceConfig {
            exec: "/opt/mysite/bin/gunicorn mysite.wsgi".to_string(),
            user: "mysite".to_string(),
            environment: BTreeMap::from([("GREETING".to_string(), "say \"hi\" 100%".to_string())]),
            working_directory: None,
        }
    }

    fn target(name: &str) -> Target {
        Target::load(name, None).unwrap()
    }

    #[test]
    fn the_unit_runs_as_the_user_with_its_own_directories() {
        let unit = unit_file("mysite", &service(), &target("el9"));
        for line in [
            "Type=exec",
            "User=mysite",
            "Group=mysite",
            "ExecStart=/opt/mysite/bin/gunicorn mysite.wsgi",
            "WorkingDirectory=/var/lib/mysite",
            "Environment=\"GREETING=say \\\"hi\\\" 100%%\"",
            "StateDirectory=mysite",
            "LogsDirectory=mysite",
            "WantedBy=multi-user.target",
        ] {
            assert!(
                unit.lines().any(|written| written == line),
                "{line}:\n{unit}"
            );
        }
        assert!(unit_file("mysite", &service(), &target("el8")).contains("Type=simple"));
    }

    #[test]
    fn scriptlets_follow_the_targets_macros() {
        let none = ScriptsConfig::default();
        let el9 = scriptlets("mysite", Some(&service()), &none, &target("el9"));
        let pre = el9.pre_install.unwrap();
        assert!(
            pre.contains("useradd -r -g 'mysite' -d '/var/lib/mysite'"),
            "{pre}"
        );
        assert!(el9
            .post_install
            .unwrap()
            .contains("systemd-update-helper install-system-units mysite.service"));
        assert!(el9
            .requires
            .contains(&(ScriptPhase::PreInstall, "shadow-utils".to_string())));
        let el8 = scriptlets("mysite", Some(&service()), &none, &target("el8"));
        assert!(el8
            .pre_uninstall
            .unwrap()
            .contains("systemctl --no-reload disable --now mysite.service"));
        let el10 = scriptlets("mysite", Some(&service()), &none, &target("el10"));
        assert_eq!(el10.pre_install, None, "rpm 4.19 creates sysusers.d users");
        let nothing = scriptlets("mysite", None, &none, &target("el9"));
        assert_eq!(
            nothing,
            RpmScripts::default(),
            "nothing runs that the project did not ask for"
        );
    }

    #[test]
    fn project_scripts_run_as_written_under_their_condition() {
        let scripts = ScriptsConfig {
            post_install: None,
            post_upgrade: Some("manage migrate\nexit 3".to_string()),
            pre_uninstall: Some("echo bye".to_string()),
        };
        let rpm = scriptlets("mysite", None, &scripts, &target("el9"));
        let post = rpm.post_install.unwrap();
        assert!(
            post.contains(
                "if [ \"$1\" -gt 1 ]; then\n(\nmanage migrate\nexit 3\n) || status=$?\nfi"
            ),
            "{post}"
        );
        assert!(post.ends_with("exit $status\n"), "{post}");
        assert!(rpm
            .pre_uninstall
            .unwrap()
            .contains("if [ \"$1\" -eq 0 ]; then\n(\necho bye\n)"));
        assert_eq!(rpm.pre_install, None);
    }
}
