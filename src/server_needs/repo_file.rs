//! The `.repo` file a server needs to use the output repository.
//!
//! Input: the app name, the target, where the repository is published, and
//! whether it is signed (its folder holds `RPM-GPG-KEY-<app>`). Output: the
//! text of `/etc/yum.repos.d/<app>.repo`.
//!
//! Invariant: a signed repository is always configured with `gpgcheck=1`
//! and `repo_gpgcheck=1` and its published key; an unsigned one says so in
//! a comment instead of pretending. The repository's metadata expires after
//! five minutes: with dnf's default of 48 hours, `dnf upgrade` on a server
//! that looked at the repository before a release was published would find
//! nothing to do.

/// The `.repo` file of `app`'s repository at `baseurl`.
pub fn repo_file(app: &str, target: &str, baseurl: &str, signed: bool) -> String {
    let baseurl = baseurl.trim_end_matches('/');
    let mut text = format!(
        "# {app}: the Python packages vendor built for {target}\n[{app}]\nname={app} ({target})\nbaseurl={baseurl}\nenabled=1\n\
         # a new release is seen within 5 minutes (`dnf upgrade --refresh`: at once)\n\
         metadata_expire=300\n"
    );
    if signed {
        text.push_str(&format!(
            "gpgcheck=1\nrepo_gpgcheck=1\ngpgkey={baseurl}/RPM-GPG-KEY-{app}\n"
        ));
    } else {
        text.push_str(
            "# The repository is not signed (no `[sign]` in vendor.toml): dnf cannot check it.\ngpgcheck=0\nrepo_gpgcheck=0\n",
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_repository_is_checked_and_an_unsigned_one_says_so() {
        let signed = repo_file(
            "mysite",
            "el9",
            "https://repo.example.org/mysite/el9/",
            true,
        );
        assert_eq!(
            signed,
            "# mysite: the Python packages vendor built for el9\n[mysite]\nname=mysite (el9)\n\
             baseurl=https://repo.example.org/mysite/el9\nenabled=1\n\
             # a new release is seen within 5 minutes (`dnf upgrade --refresh`: at once)\n\
             metadata_expire=300\ngpgcheck=1\nrepo_gpgcheck=1\n\
             gpgkey=https://repo.example.org/mysite/el9/RPM-GPG-KEY-mysite\n"
        );
        let unsigned = repo_file("mysite", "el9", "file:///srv/mysite", false);
        assert!(unsigned.contains("gpgcheck=0\n") && unsigned.contains("not signed"));
    }
}
