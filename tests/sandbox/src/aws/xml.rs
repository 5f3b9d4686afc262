//! Just enough XML for the AWS front: escaping text we write, and a small tree reader for the
//! machine-made XML moto answers with (elements, text, the five predefined entities and numeric
//! references; no comments, CDATA or DTDs, attributes skipped).
//!
//! Responses we pass through are never re-serialised: edits to them are byte-level (see
//! `front/query.rs`), so moto's output stays byte-identical elsewhere.

use anyhow::{Context as _, bail};

/// Escapes `text` for use as XML character data or a double-quoted attribute value.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(ch),
        }
    }
    out
}

/// An element: its name, its child elements and its own text (concatenated, unescaped).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Element {
    pub(crate) name: String,
    pub(crate) children: Vec<Element>,
    pub(crate) text: String,
}

impl Element {
    /// The first child called `name`.
    pub(crate) fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|child| child.name == name)
    }

    /// The text of the first child called `name`, or `""` when there is none.
    pub(crate) fn child_text(&self, name: &str) -> &str {
        self.child(name).map_or("", |child| child.text.as_str())
    }

    /// The texts of the `member` children of the child `name` (a query-protocol string list).
    pub(crate) fn string_list(&self, name: &str) -> Vec<String> {
        self.child(name).map_or_else(Vec::new, |list| {
            list.children
                .iter()
                .map(|member| member.text.clone())
                .collect()
        })
    }
}

/// Parses a whole document and returns its root element.
pub(crate) fn parse(text: &str) -> anyhow::Result<Element> {
    let mut stack: Vec<Element> = Vec::new();
    let mut root = None;
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        let (before, tag_start) = rest.split_at(open);
        if let Some(top) = stack.last_mut() {
            top.text.push_str(&unescape(before)?);
        }
        let close = tag_start.find('>').context("unterminated XML tag")?;
        let tag = &tag_start[1..close];
        rest = &tag_start[close + 1..];
        if tag.starts_with('?') || tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let element = stack.pop().context("XML end tag without a start tag")?;
            if element.name != name.trim() {
                bail!("XML end tag </{name}> closes <{}>", element.name);
            }
            attach(&mut stack, &mut root, element)?;
            continue;
        }
        let self_closing = tag.ends_with('/');
        let name = tag
            .trim_end_matches('/')
            .split_whitespace()
            .next()
            .context("XML tag without a name")?;
        let element = Element {
            name: name.to_owned(),
            ..Element::default()
        };
        if self_closing {
            attach(&mut stack, &mut root, element)?;
        } else {
            stack.push(element);
        }
    }
    if !stack.is_empty() {
        bail!("XML document ends inside <{}>", stack[stack.len() - 1].name);
    }
    root.context("XML document without a root element")
}

fn attach(
    stack: &mut [Element],
    root: &mut Option<Element>,
    element: Element,
) -> anyhow::Result<()> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None if root.is_none() => *root = Some(element),
        None => bail!("XML document with two root elements"),
    }
    Ok(())
}

fn unescape(text: &str) -> anyhow::Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let semi = rest[amp..].find(';').context("unterminated XML entity")?;
        let entity = &rest[amp + 1..amp + semi];
        let ch = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(hex) = entity.strip_prefix("#x") {
                    u32::from_str_radix(hex, 16).ok()
                } else {
                    entity.strip_prefix('#').and_then(|dec| dec.parse().ok())
                };
                code.and_then(char::from_u32)
                    .with_context(|| format!("unknown XML entity &{entity};"))?
            }
        };
        out.push(ch);
        rest = &rest[amp + semi + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_moto_style_xml() {
        let doc = parse(
            "<?xml version=\"1.0\"?><R xmlns=\"x\"><L><member><N>a &amp; b</N><S><member>s1</member>\
             <member>s2</member></S><E/></member><member><N>&#65;&#x42;</N></member></L></R>",
        )
        .unwrap();
        assert_eq!(doc.name, "R");
        let list = doc.child("L").unwrap();
        assert_eq!(list.children.len(), 2);
        assert_eq!(list.children[0].child_text("N"), "a & b");
        assert_eq!(list.children[0].string_list("S"), ["s1", "s2"]);
        assert!(list.children[0].child("E").is_some());
        assert_eq!(list.children[1].child_text("N"), "AB");
        assert_eq!(list.children[1].child_text("missing"), "");
    }

    #[test]
    fn rejects_broken_xml() {
        assert!(parse("<a><b></a>").is_err());
        assert!(parse("<a>").is_err());
        assert!(parse("no xml").is_err());
        assert!(parse("<a/><b/>").is_err());
        assert!(parse("<a>&bogus;</a>").is_err());
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;"
        );
    }
}
