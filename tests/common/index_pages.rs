//! The simple API pages of the loopback index: PEP 691 JSON and PEP 503 HTML.
//!
//! Input: the artifacts of one project (or the project list) and the base
//! URL the files are served under. Output: page bodies with every field the
//! PEPs define: sha256 (`hashes` / `#sha256=`), `requires-python`,
//! `yanked` (PEP 592), `core-metadata` + `dist-info-metadata` (PEP 658/714),
//! `size`, `upload-time` and `versions` (PEP 700, API version 1.1).
//!
//! Invariant: both formats describe exactly the same files in the same order.

use serde_json::{json, Value};

use super::scenario::Artifact;

pub const JSON_CONTENT_TYPE: &str = "application/vnd.pypi.simple.v1+json";
pub const HTML_V1_CONTENT_TYPE: &str = "application/vnd.pypi.simple.v1+html";
pub const TEXT_HTML_CONTENT_TYPE: &str = "text/html; charset=utf-8";

/// Which representation a client gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    HtmlV1,
    TextHtml,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => JSON_CONTENT_TYPE,
            Self::HtmlV1 => HTML_V1_CONTENT_TYPE,
            Self::TextHtml => TEXT_HTML_CONTENT_TYPE,
        }
    }
}

/// Content negotiation on `Accept` (PEP 691): the highest `q` wins, HTML on
/// ties so that `*/*` and a missing header get the legacy format.
pub fn negotiate(accept: Option<&str>, json_enabled: bool) -> Format {
    let Some(accept) = accept else {
        return Format::TextHtml;
    };
    let mut best = (0.0_f32, Format::TextHtml);
    let offers = [
        (Format::TextHtml, "text/html"),
        (Format::HtmlV1, HTML_V1_CONTENT_TYPE),
        (Format::Json, JSON_CONTENT_TYPE),
    ];
    for (format, media_type) in offers {
        if format == Format::Json && !json_enabled {
            continue;
        }
        let quality = quality_of(accept, media_type);
        if quality > best.0 {
            best = (quality, format);
        }
    }
    best.1
}

fn quality_of(accept: &str, media_type: &str) -> f32 {
    let (main_type, _) = media_type.split_once('/').unwrap_or((media_type, ""));
    let mut best: Option<(u8, f32)> = None;
    for range in accept.split(',') {
        let mut parameters = range.split(';');
        let pattern = parameters.next().unwrap_or_default().trim();
        let quality = parameters
            .filter_map(|parameter| parameter.trim().strip_prefix("q="))
            .find_map(|value| value.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let specificity = if pattern.eq_ignore_ascii_case(media_type) {
            2
        } else if pattern == format!("{main_type}/*") {
            1
        } else if pattern == "*/*" {
            0
        } else {
            continue;
        };
        let more_specific = match best {
            Some((known, _)) => specificity > known,
            None => true,
        };
        if more_specific {
            best = Some((specificity, quality));
        }
    }
    best.map_or(0.0, |(_, quality)| quality)
}

pub fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `/simple/`: every project with a file on the index.
pub fn root_page(project_names: &[(String, String)], format: Format) -> String {
    match format {
        Format::Json => {
            let projects: Vec<Value> = project_names
                .iter()
                .map(|(_, display)| json!({ "name": display }))
                .collect();
            json!({ "meta": { "api-version": "1.1" }, "projects": projects }).to_string()
        }
        Format::HtmlV1 | Format::TextHtml => {
            let mut body = html_head("Simple index");
            for (normalized, display) in project_names {
                body.push_str(&format!(
                    "<a href=\"{normalized}/\">{}</a><br/>\n",
                    escape_html(display)
                ));
            }
            body.push_str("</body>\n</html>\n");
            body
        }
    }
}

/// `/simple/<project>/`. `file_url` maps a file name to its `href`.
pub fn project_page(
    display_name: &str,
    artifacts: &[&Artifact],
    format: Format,
    file_url: &dyn Fn(&str) -> String,
) -> String {
    match format {
        Format::Json => json_project_page(display_name, artifacts, file_url),
        Format::HtmlV1 | Format::TextHtml => html_project_page(display_name, artifacts, file_url),
    }
}

fn json_project_page(
    display_name: &str,
    artifacts: &[&Artifact],
    file_url: &dyn Fn(&str) -> String,
) -> String {
    let mut versions: Vec<&str> = artifacts
        .iter()
        .map(|artifact| artifact.version.as_str())
        .collect();
    versions.dedup();
    let files: Vec<Value> = artifacts
        .iter()
        .map(|artifact| {
            let metadata = artifact
                .metadata_sha256()
                .map_or(Value::Bool(false), |sha256| json!({ "sha256": sha256 }));
            let yanked = match artifact.yanked.as_deref() {
                None => Value::Bool(false),
                Some("") => Value::Bool(true),
                Some(reason) => Value::String(reason.to_string()),
            };
            let mut file = json!({
                "filename": artifact.filename,
                "url": file_url(&artifact.filename),
                "hashes": { "sha256": artifact.sha256 },
                "core-metadata": metadata.clone(),
                "dist-info-metadata": metadata,
                "yanked": yanked,
                "size": artifact.size(),
                "upload-time": artifact.upload_time,
            });
            if let Some(requires_python) = &artifact.requires_python {
                file["requires-python"] = Value::String(requires_python.clone());
            }
            file
        })
        .collect();
    json!({
        "meta": { "api-version": "1.1" },
        "name": display_name,
        "versions": versions,
        "files": files,
    })
    .to_string()
}

fn html_project_page(
    display_name: &str,
    artifacts: &[&Artifact],
    file_url: &dyn Fn(&str) -> String,
) -> String {
    let mut body = html_head(&format!("Links for {display_name}"));
    body.push_str(&format!(
        "<h1>Links for {}</h1>\n",
        escape_html(display_name)
    ));
    for artifact in artifacts {
        let mut attributes = format!(
            "href=\"{}#sha256={}\"",
            escape_html(&file_url(&artifact.filename)),
            artifact.sha256
        );
        if let Some(requires_python) = &artifact.requires_python {
            attributes.push_str(&format!(
                " data-requires-python=\"{}\"",
                escape_html(requires_python)
            ));
        }
        if let Some(sha256) = artifact.metadata_sha256() {
            attributes.push_str(&format!(
                " data-core-metadata=\"sha256={sha256}\" data-dist-info-metadata=\"sha256={sha256}\""
            ));
        }
        if let Some(reason) = &artifact.yanked {
            attributes.push_str(&format!(" data-yanked=\"{}\"", escape_html(reason)));
        }
        body.push_str(&format!(
            "<a {attributes}>{}</a><br/>\n",
            escape_html(&artifact.filename)
        ));
    }
    body.push_str("</body>\n</html>\n");
    body
}

fn html_head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html>\n<head>\n<meta name=\"pypi:repository-version\" content=\"1.1\">\n<title>{}</title>\n</head>\n<body>\n",
        escape_html(title)
    )
}
