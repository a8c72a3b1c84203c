//! The path rules of every archive vendor unpacks: wheels (zip) and sdists
//! (tar or zip) obey the same ones.
//!
//! Input: an entry's name, or a symbolic link's path and target, as the
//! archive states them. Output: a normalised relative path (`a/b/c`, no
//! empty or `.` components), or the reason it is refused.
//!
//! Invariants: a normalised name never starts at the root, never names a
//! drive (`C:`), never climbs (`..`), holds neither NUL nor `\` (a Windows
//! separator that would make one name two paths); a link target resolves
//! lexically without climbing above the archive's root and without passing
//! through, or ending at, another link (whose own target would change what
//! the lexical answer means).

/// Why an entry's name is not a safe relative path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UnsafeName {
    #[error("contains a NUL byte")]
    NulByte,
    #[error("contains a backslash, which is not a path separator here")]
    Backslash,
    #[error("is an absolute path")]
    Absolute,
    #[error("is an absolute path (a drive letter)")]
    DriveLetter,
    #[error("has a `..` component")]
    ParentComponent,
    #[error("has an empty name")]
    Empty,
}

/// Why a symbolic link is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnsafeLink {
    /// The target is absolute, empty, or climbs above the root.
    Escapes,
    /// The target runs through (or ends at) another link.
    ThroughLink,
}

/// An archive entry's name → a normalised relative path.
pub fn normalise_entry_name(name: &str) -> Result<String, UnsafeName> {
    if name.contains('\0') {
        return Err(UnsafeName::NulByte);
    }
    if name.contains('\\') {
        return Err(UnsafeName::Backslash);
    }
    if name.starts_with('/') {
        return Err(UnsafeName::Absolute);
    }
    let components: Vec<&str> = components(name).collect();
    if components.first().is_some_and(|first| is_drive(first)) {
        return Err(UnsafeName::DriveLetter);
    }
    if components.contains(&"..") {
        return Err(UnsafeName::ParentComponent);
    }
    if components.is_empty() {
        return Err(UnsafeName::Empty);
    }
    Ok(components.join("/"))
}

/// Where the link at `link_path` (normalised, relative to the archive's
/// root) points, as the components of a path from that root; `is_link`
/// tells which other normalised paths are links.
pub fn resolve_link_target<'a>(
    link_path: &'a str,
    target: &'a str,
    is_link: impl Fn(&str) -> bool,
) -> Result<Vec<&'a str>, UnsafeLink> {
    if target.is_empty() || target.starts_with('/') || target.contains(['\0', '\\']) {
        return Err(UnsafeLink::Escapes);
    }
    let mut resolved: Vec<&str> = link_path.split('/').collect();
    resolved.pop();
    for component in components(target) {
        if component == ".." {
            resolved.pop().ok_or(UnsafeLink::Escapes)?;
        } else {
            resolved.push(component);
            let so_far = resolved.join("/");
            if so_far != link_path && is_link(&so_far) {
                return Err(UnsafeLink::ThroughLink);
            }
        }
    }
    Ok(resolved)
}

/// `a/b/c` → `a/b`, `a`.
pub fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/')
        .map(move |(index, _)| &path[..index])
}

fn components(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter(|component| !component.is_empty() && *component != ".")
}

fn is_drive(component: &str) -> bool {
    let bytes = component.as_bytes();
    bytes.len() == 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_names() {
        assert_eq!(normalise_entry_name("a//./b/c").unwrap(), "a/b/c");
        assert_eq!(normalise_entry_name("/etc"), Err(UnsafeName::Absolute));
        assert_eq!(
            normalise_entry_name("a/../b"),
            Err(UnsafeName::ParentComponent)
        );
        assert_eq!(normalise_entry_name("C:/x"), Err(UnsafeName::DriveLetter));
        assert_eq!(normalise_entry_name("a\\b"), Err(UnsafeName::Backslash));
        assert_eq!(normalise_entry_name("a\0"), Err(UnsafeName::NulByte));
        assert_eq!(normalise_entry_name("./"), Err(UnsafeName::Empty));
    }

    #[test]
    fn resolves_link_targets() {
        let no_links = |_: &str| false;
        assert_eq!(
            resolve_link_target("a/b/link", "../c", no_links).unwrap(),
            ["a", "c"]
        );
        assert_eq!(
            resolve_link_target("a/link", "../../etc", no_links),
            Err(UnsafeLink::Escapes)
        );
        assert_eq!(
            resolve_link_target("a/link", "C:\\x", no_links),
            Err(UnsafeLink::Escapes)
        );
        let here_is_a_link = |path: &str| path == "here";
        assert_eq!(
            resolve_link_target("up", "here/..", here_is_a_link),
            Err(UnsafeLink::ThroughLink)
        );
        assert_eq!(
            resolve_link_target("to_here", "here", here_is_a_link),
            Err(UnsafeLink::ThroughLink)
        );
    }

    #[test]
    fn lists_ancestors() {
        assert_eq!(ancestors("a/b/c").collect::<Vec<_>>(), ["a", "a/b"]);
        assert_eq!(ancestors("a").count(), 0);
    }
}
