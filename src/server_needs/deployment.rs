//! What installing the app's RPMs does to a server besides adding files:
//! config files, systemd units, system users and scriptlets.
//!
//! Input: the header of each RPM `server_needs` reads. Output: a
//! [`ServerChanges`] per RPM that has any of them (the `<app>` RPM).
//!
//! Invariant: read from the RPMs themselves, the same headers rpm acts on,
//! so what ops see before installing is what will happen.

use rpm::{FileFlags, PackageMetadata};

/// The changes one RPM makes to a server.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ServerChanges {
    /// The RPM's name.
    pub rpm: String,
    /// `%config` files: kept when edited, new defaults as `.rpmnew`.
    pub config_files: Vec<String>,
    /// systemd unit files it installs.
    pub units: Vec<String>,
    /// System users it creates (`user(name)` from its sysusers.d entry).
    pub users: Vec<String>,
    /// Scriptlets as rpm runs them: (`%pre`, text).
    pub scriptlets: Vec<(String, String)>,
}

impl ServerChanges {
    fn is_empty(&self) -> bool {
        self.config_files.is_empty()
            && self.units.is_empty()
            && self.users.is_empty()
            && self.scriptlets.is_empty()
    }
}

/// The changes `metadata` declares, or `None` when it only adds files.
pub(super) fn server_changes(name: &str, metadata: &PackageMetadata) -> Option<ServerChanges> {
    let mut changes = ServerChanges {
        rpm: name.to_string(),
        ..ServerChanges::default()
    };
    for entry in metadata.get_file_entries().unwrap_or_default() {
        let path = entry.path().display().to_string();
        if entry.flags().contains(FileFlags::CONFIG) {
            changes.config_files.push(path.clone());
        }
        if path.starts_with("/usr/lib/systemd/system/") {
            changes.units.push(path);
        }
    }
    changes.users = metadata
        .get_provides()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|provide| {
            provide
                .name
                .strip_prefix("user(")
                .and_then(|rest| rest.strip_suffix(')'))
                .map(str::to_string)
        })
        .collect();
    let scriptlets = [
        ("%pre", metadata.get_pre_install_script()),
        ("%post", metadata.get_post_install_script()),
        ("%preun", metadata.get_pre_uninstall_script()),
        ("%postun", metadata.get_post_uninstall_script()),
    ];
    for (phase, scriptlet) in scriptlets {
        if let Ok(scriptlet) = scriptlet {
            changes
                .scriptlets
                .push((phase.to_string(), scriptlet.script));
        }
    }
    (!changes.is_empty()).then_some(changes)
}
