//! Debug information removed from ELF files built on this host, as
//! rpmbuild's `brp-strip` does for every binary it packages.
//!
//! Input: the bytes of one ELF file of a wheel built from source. Output:
//! the same file without its `.debug_*` sections (and their compressed or
//! old `.zdebug_*`/`.stab*` forms), or `None` when it has none.
//!
//! Invariants: only sections no loader reads are removed — symbol tables,
//! the build ID and everything the dynamic loader uses stay, so what the
//! checks import afterwards is what loads on a server; the output is a
//! function of the input alone (reproducible RPMs); a file the ELF writer
//! cannot handle is kept as it is (the caller says so), never damaged.

use object::build::elf::Builder;

/// Section names of debug information (`strip --strip-debug`'s set).
fn is_debug_section(name: &[u8]) -> bool {
    [&b".debug"[..], b".zdebug", b".stab", b".gnu.debuglto_"]
        .iter()
        .any(|prefix| name.starts_with(prefix))
}

/// `bytes` without debug sections and how many bytes that saved; `None`
/// when there was nothing to remove.
pub(super) fn strip_debug_info(bytes: &[u8]) -> Result<Option<(Vec<u8>, u64)>, String> {
    let mut builder = Builder::read(bytes).map_err(|error| error.to_string())?;
    let mut found = false;
    for section in builder.sections.iter_mut() {
        if is_debug_section(section.name.as_slice()) {
            section.delete = true;
            found = true;
        }
    }
    if !found {
        return Ok(None);
    }
    let mut stripped = Vec::with_capacity(bytes.len());
    builder
        .write(&mut stripped)
        .map_err(|error| error.to_string())?;
    let saved = bytes.len().saturating_sub(stripped.len()) as u64;
    Ok(Some((stripped, saved)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_debug_sections_count() {
        assert!(is_debug_section(b".debug_info"));
        assert!(is_debug_section(b".zdebug_line"));
        assert!(is_debug_section(b".stab"));
        assert!(!is_debug_section(b".dynsym"));
        assert!(!is_debug_section(b".note.gnu.build-id"));
        assert!(!is_debug_section(b".symtab"));
    }

    #[test]
    fn a_file_that_is_not_elf_is_an_error_not_a_panic() {
        assert!(strip_debug_info(b"not an ELF file").is_err());
    }
}
