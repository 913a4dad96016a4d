//! Matching search terms against the index, best matches first: a name
//! equal to a term, then names starting with it, names containing it,
//! descriptions with it as a word, descriptions containing it. Every term
//! must match; case does not count.

/// One package that matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Match<'a> {
    pub attr: &'a str,
    pub version: &'a str,
    pub description: &'a str,
    score: i64,
}

/// The index's packages that match every term, best first.
pub(crate) fn search<'a>(index: &'a str, terms: &[String]) -> Vec<Match<'a>> {
    let terms: Vec<String> = terms
        .iter()
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect();
    // Lowercased once, whole: ASCII lowercasing keeps every byte offset,
    // so each line of `lower` lines up with the same line of `index`.
    let lower = index.to_ascii_lowercase();
    let mut found: Vec<Match<'a>> = index
        .lines()
        .zip(lower.lines())
        .filter_map(|(line, lower_line)| {
            let mut fields = line.splitn(3, '\t');
            let (attr, version, description) = (fields.next()?, fields.next()?, fields.next()?);
            let mut lower_fields = lower_line.splitn(3, '\t');
            let (lower_attr, _, lower_description) = (
                lower_fields.next()?,
                lower_fields.next()?,
                lower_fields.next()?,
            );
            let mut score = 0;
            for term in &terms {
                score += term_score(lower_attr, lower_description, term)?;
            }
            // Packages inside sets (`perlPackages.x`) after top-level ones.
            let depth = i64::try_from(attr.matches('.').count()).unwrap_or(0);
            Some(Match {
                attr,
                version,
                description,
                score: score - 3 * depth,
            })
        })
        .collect();
    found.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then(a.attr.len().cmp(&b.attr.len()))
            .then(a.attr.cmp(b.attr))
    });
    found
}

/// How well one term matches a package, or `None` when it does not.
fn term_score(attr: &str, description: &str, term: &str) -> Option<i64> {
    let name = attr.rsplit('.').next().unwrap_or(attr);
    if name == term {
        Some(100)
    } else if name.starts_with(term) {
        Some(70)
    } else if attr.contains(term) {
        Some(50)
    } else if has_word(description, term) {
        Some(20)
    } else if description.contains(term) {
        Some(10)
    } else {
        None
    }
}

/// `term` occurs in `text` between non-alphanumeric characters.
fn has_word(text: &str, term: &str) -> bool {
    text.match_indices(term).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + term.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = "\
ffmpeg-full\t6.1.1\tTools to record, convert and stream audio and video (all features)
ffmpeg\t6.1.1\tTools to record, convert and stream audio and video
ffmpegthumbnailer\t2.2.3\tMakes thumbnails of video files
perlPackages.FFmpegWrapper\t0.1\tPerl bindings
sox\t14.4.2\tCommand-line audio processing: convert formats, mix, add effects
mediainfo\t24.06\tShows technical information about audio and video files
";

    fn attrs(terms: &[&str]) -> Vec<&'static str> {
        let terms: Vec<String> = terms.iter().map(|t| (*t).to_owned()).collect();
        search(INDEX, &terms).iter().map(|m| m.attr).collect()
    }

    #[test]
    fn exact_names_come_first_then_prefixes_then_the_rest() {
        assert_eq!(
            attrs(&["FFmpeg"]),
            [
                "ffmpeg",
                "ffmpeg-full",
                "ffmpegthumbnailer",
                "perlPackages.FFmpegWrapper"
            ]
        );
    }

    #[test]
    fn descriptions_match_words_before_parts_of_words() {
        assert_eq!(
            attrs(&["audio"]),
            ["sox", "ffmpeg", "mediainfo", "ffmpeg-full"]
        );
        assert_eq!(attrs(&["thumb"]), ["ffmpegthumbnailer"]);
    }

    #[test]
    fn every_term_must_match() {
        assert_eq!(attrs(&["audio", "mix"]), ["sox"]);
        assert!(attrs(&["audio", "nothing-like-it"]).is_empty());
    }
}
