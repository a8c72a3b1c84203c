//! Debug information removed from ELF files built on this host, as
//! rpmbuild's `brp-strip` does for every binary it packages.
//!
//! Input: the bytes of one ELF file of a wheel built from source. Output:
//! the same file without its `.debug_*` sections (and their compressed or
//! old `.zdebug_*`/`.stab*` forms), or `None` when it has none.
//!
//! Invariants: only shared libraries and executables are touched; only
//! sections no loader reads are removed — symbol tables,
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
pub fn strip_debug_info(bytes: &[u8]) -> Result<Option<(Vec<u8>, u64)>, String> {
    let mut builder = Builder::read(bytes).map_err(|error| error.to_string())?;
    // Relocatable objects (`.o`) have relocations against their debug
    // sections; only what the loader maps is stripped, as brp-strip does.
    if ![object::elf::ET_DYN, object::elf::ET_EXEC].contains(&builder.header.e_type) {
        return Ok(None);
    }
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

    /// `int answer(void)` compiled with `-g` and `flags`, as bytes.
    fn compiled(flags: &[&str], output: &str) -> Vec<u8> {
        let folder = tempfile::tempdir().unwrap();
        let source = folder.path().join("answer.c");
        std::fs::write(&source, "int answer(void) { return 42; }\n").unwrap();
        let output = folder.path().join(output);
        let status = std::process::Command::new("gcc")
            .args(["-g", "-fPIC"])
            .args(flags)
            .arg("-o")
            .arg(&output)
            .arg(&source)
            .status()
            .expect("gcc (a test requirement)");
        assert!(status.success());
        std::fs::read(output).unwrap()
    }

    #[test]
    fn a_shared_library_loses_its_debug_sections_only() {
        let library = compiled(&["-shared"], "libanswer.so");
        let (stripped, saved) = strip_debug_info(&library).unwrap().unwrap();
        assert!(saved > 0 && stripped.len() < library.len());
        let names = |bytes: &[u8]| -> Vec<String> {
            let elf = goblin::elf::Elf::parse(bytes).unwrap();
            elf.section_headers
                .iter()
                .filter_map(|header| elf.shdr_strtab.get_at(header.sh_name))
                .map(str::to_string)
                .collect()
        };
        let before = names(&library);
        let after = names(&stripped);
        assert!(
            before.iter().any(|name| name == ".debug_info"),
            "{before:?}"
        );
        let expected: Vec<String> = before
            .into_iter()
            .filter(|name| !is_debug_section(name.as_bytes()))
            .collect();
        assert_eq!(after, expected);
        // Nothing left to do the second time.
        assert_eq!(strip_debug_info(&stripped).unwrap(), None);
    }

    #[test]
    fn a_relocatable_object_is_left_alone() {
        let object = compiled(&["-c"], "answer.o");
        assert_eq!(strip_debug_info(&object).unwrap(), None);
    }

    #[test]
    fn a_file_that_is_not_elf_is_an_error_not_a_panic() {
        assert!(strip_debug_info(b"not an ELF file").is_err());
    }
}
