//! The container chain: how to reach a container, a filesystem or a region
//! from the image, one container at a time.
//!
//! Every container, gap, filesystem, payload, file and finding carries one.
//! Its text form is what reports show, e.g.
//! `fw.bin@0x0:tplink → @0x120200:squashfs → /usr/lib/x.gz@0x0:gzip`:
//! the image's name, then one `label@offset:format` link per container,
//! joined by ` → `. The rules are in `docs/report-schema.md`.
//!
//! The type keeps the parts apart so that nothing has to parse the text
//! back: sorting by numeric offsets, nesting depth and the innermost link
//! are methods.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use super::formats::FORMATS;

/// What joins two links in the text form.
pub const SEPARATOR: &str = " → ";

/// What a link's bytes are when they are the parent's decoded payload.
pub const PAYLOAD: &str = "payload";

/// One container of a chain, found in the bytes its predecessor yielded.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Link {
    /// Which bytes of the predecessor the container was found in: `""` for
    /// the predecessor's own bytes (an in-place range; always so for the
    /// first link, whose predecessor is the image), [`PAYLOAD`] for its
    /// decoded payload, or a file's absolute path inside the filesystem
    /// it holds.
    pub label: String,
    /// Where the container starts within those bytes.
    pub offset: u64,
    /// The format's name, from the format table.
    pub format: &'static str,
}

impl fmt::Display for Link {
    /// `label@0xOFFSET:format`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{:#x}:{}", self.label, self.offset, self.format)
    }
}

/// The image's name and the containers that lead from it, outermost first.
/// A chain without links names the image itself (where a gap or an
/// incident of the image's own bytes is).
///
/// [`Ord`] compares the image's name, then link by link each label as
/// text, offset as a number and format name, a chain before its
/// extensions: containers sort by position (`@0x20400` before
/// `@0x120200`) with every container right after its parent.
/// [`Chain::cmp_text`] is the order of the text forms instead.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Chain {
    image: Arc<str>,
    links: Vec<Link>,
}

impl Chain {
    /// The chain of the image named `name` itself.
    pub fn image(name: &str) -> Chain {
        Chain {
            image: name.into(),
            links: Vec::new(),
        }
    }

    /// The chain of a `format` container found at `offset` in the bytes
    /// `label` names (see [`Link::label`]) of what this chain names.
    pub fn child(&self, label: &str, offset: u64, format: &'static str) -> Chain {
        let mut links = Vec::with_capacity(self.links.len() + 1);
        links.extend_from_slice(&self.links);
        links.push(Link {
            label: label.to_string(),
            offset,
            format,
        });
        Chain {
            image: self.image.clone(),
            links,
        }
    }

    /// The name of the image the chain starts at.
    pub fn image_name(&self) -> &str {
        &self.image
    }

    /// The containers from the outermost to the one the chain names.
    pub fn links(&self) -> &[Link] {
        &self.links
    }

    /// The container the chain names; `None` for the image itself.
    pub fn last(&self) -> Option<&Link> {
        self.links.last()
    }

    /// How many containers deep the chain goes: 0 for the image itself,
    /// 1 for a container found in the image's bytes.
    pub fn depth(&self) -> usize {
        self.links.len()
    }

    /// The last ` → `-separated part of the text form, for a one-line
    /// display of where an unpack is: the innermost link
    /// (`@0x120200:squashfs`), or the whole text while there is no
    /// separator (`fw.bin@0x0:tplink`, `fw.bin`).
    pub fn tail(&self) -> String {
        match self.links.as_slice() {
            [_, .., last] => last.to_string(),
            _ => self.to_string(),
        }
    }

    /// The order of the text forms, byte by byte. Reports of schema
    /// `fwcert-report/1` list chains in this order, which is older than
    /// this type; it puts `@0x120200` before `@0x20400`, unlike [`Ord`].
    pub fn cmp_text(&self, other: &Chain) -> Ordering {
        if self == other {
            return Ordering::Equal;
        }
        self.to_string().cmp(&other.to_string())
    }
}

impl fmt::Display for Chain {
    /// `image`, then each link, joined by [`SEPARATOR`]; the first link
    /// follows the image's name directly (`fw.bin@0x0:tplink`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.image)?;
        for (i, link) in self.links.iter().enumerate() {
            if i > 0 {
                f.write_str(SEPARATOR)?;
            }
            link.fmt(f)?;
        }
        Ok(())
    }
}

/// Why a text is not a chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a container chain: {0}")]
pub struct ParseChainError(String);

/// A link's `label@0xOFFSET:format`, when the format is in the table.
fn parse_link(segment: &str) -> Option<Link> {
    let (label, rest) = segment.rsplit_once('@')?;
    let (offset, format) = rest.split_once(':')?;
    let offset = u64::from_str_radix(offset.strip_prefix("0x")?, 16).ok()?;
    let format = FORMATS.iter().find(|f| f.name == format)?.name;
    Some(Link {
        label: label.to_string(),
        offset,
        format,
    })
}

impl FromStr for Chain {
    type Err = ParseChainError;

    /// Read a text form back, best effort: the text is split at every
    /// ` → ` and each part must end in `@0xOFFSET:format` with a format
    /// of the table. A text with no such ending and no separator is an
    /// image's name. What cannot round-trip: an image named like a first
    /// link (`a@0x0:gzip` reads as image `a` plus a link), and a label or
    /// image name that contains ` → `.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseChainError(s.to_string());
        let mut segments = s.split(SEPARATOR);
        let first = segments.next().unwrap_or_default();
        let Some(head) = parse_link(first) else {
            return match segments.next() {
                None => Ok(Chain::image(s)),
                Some(_) => Err(err()),
            };
        };
        // The first link's label position holds the image's name.
        let mut chain = Chain::image(&head.label).child("", head.offset, head.format);
        for segment in segments {
            let link = parse_link(segment).ok_or_else(err)?;
            chain.links.push(link);
        }
        Ok(chain)
    }
}

impl serde::Serialize for Chain {
    /// As the text form: reports show chains as strings.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Chain {
    /// From the text form, as [`FromStr`] reads it.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fw() -> Chain {
        Chain::image("fw.bin")
    }

    #[test]
    fn display_writes_each_kind_of_link() {
        let tplink = fw().child("", 0, "tplink");
        let squashfs = tplink.child("", 0x120200, "squashfs");
        assert_eq!(fw().to_string(), "fw.bin");
        assert_eq!(tplink.to_string(), "fw.bin@0x0:tplink");
        assert_eq!(squashfs.to_string(), "fw.bin@0x0:tplink → @0x120200:squashfs");
        assert_eq!(
            squashfs.child("/usr/lib/x.gz", 0, "gzip").to_string(),
            "fw.bin@0x0:tplink → @0x120200:squashfs → /usr/lib/x.gz@0x0:gzip"
        );
        assert_eq!(
            tplink.child(PAYLOAD, 0, "gzip").to_string(),
            "fw.bin@0x0:tplink → payload@0x0:gzip"
        );
    }

    #[test]
    fn depth_last_and_tail() {
        let c = fw().child("", 0, "tplink").child("", 0x40, "gzip");
        assert_eq!((fw().depth(), c.depth()), (0, 2));
        assert_eq!(c.last().map(|l| l.offset), Some(0x40));
        assert_eq!(fw().last(), None);
        assert_eq!(c.tail(), "@0x40:gzip");
        assert_eq!(fw().child("", 0, "tplink").tail(), "fw.bin@0x0:tplink");
        assert_eq!(fw().tail(), "fw.bin");
    }

    #[test]
    fn order_is_numeric_and_children_follow_their_parent() {
        let top = Chain::image("fw").child("", 0, "tplink");
        let lzma = top.child("", 0x20400, "lzma");
        let mut chains = [
            top.child("", 0x120200, "squashfs"),
            lzma.clone(),
            top.clone(),
            lzma.child(PAYLOAD, 0, "gzip"),
        ];
        chains.sort();
        let text: Vec<String> = chains.iter().map(Chain::to_string).collect();
        assert_eq!(
            text,
            [
                "fw@0x0:tplink",
                "fw@0x0:tplink → @0x20400:lzma",
                "fw@0x0:tplink → @0x20400:lzma → payload@0x0:gzip",
                "fw@0x0:tplink → @0x120200:squashfs",
            ]
        );
        chains.sort_by(Chain::cmp_text);
        assert_eq!(chains[1].to_string(), "fw@0x0:tplink → @0x120200:squashfs");
    }

    #[test]
    fn text_form_round_trips() {
        let squashfs = fw().child("", 0, "tplink").child("", 0x120200, "squashfs");
        for c in [
            fw(),
            Chain::image("dump with spaces@home.bin"),
            squashfs.clone(),
            squashfs.child("/usr/lib/x@1.gz", 0, "gzip"),
            squashfs.child(PAYLOAD, 0x10, "xz"),
        ] {
            let text = c.to_string();
            assert_eq!(text.parse::<Chain>(), Ok(c.clone()), "{text}");
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, serde_json::to_string(&text).unwrap());
            assert_eq!(serde_json::from_str::<Chain>(&json).unwrap(), c);
        }
        assert!("fw.bin@0x0:tplink → nonsense".parse::<Chain>().is_err());
        assert!("fw.bin@0x0:notaformat → @0x0:gzip".parse::<Chain>().is_err());
    }
}
