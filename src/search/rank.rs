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

/// The index's packages that match every term, best first: the best
/// `limit` of them (all with `None`), and how many matched in all.
pub(crate) fn search<'a>(
    index: &'a str,
    terms: &[String],
    limit: Option<usize>,
) -> (Vec<Match<'a>>, usize) {
    let terms: Vec<String> = terms
        .iter()
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect();
    // Lowercased once, whole: ASCII lowercasing keeps every byte offset,
    // so each line of `lower` lines up with the same line of `index`.
    let lower = index.to_ascii_lowercase();
    let mut found: Vec<Match<'a>> = candidate_lines(lower.as_bytes(), &terms)
        .into_iter()
        .filter_map(|range| score_line(&index[range.clone()], &lower[range], &terms))
        .collect();
    let total = found.len();
    let order = |a: &Match<'_>, b: &Match<'_>| {
        b.score
            .cmp(&a.score)
            .then(a.attr.len().cmp(&b.attr.len()))
            .then(a.attr.cmp(b.attr))
    };
    // Only the best are ordered when only they are shown.
    if let Some(limit) = limit.filter(|l| *l < found.len()) {
        found.select_nth_unstable_by(limit, order);
        found.truncate(limit);
    }
    found.sort_unstable_by(order);
    (found, total)
}

/// The byte ranges of the lines that hold the longest term somewhere (a
/// fast whole-buffer search; the other terms are checked per line), or of
/// every line when there is no term.
fn candidate_lines(lower: &[u8], terms: &[String]) -> Vec<std::ops::Range<usize>> {
    let Some(needle) = terms.iter().max_by_key(|t| t.len()) else {
        let mut start = 0;
        return memchr::memchr_iter(b'\n', lower)
            .map(|end| {
                let line = start..end;
                start = end + 1;
                line
            })
            .collect();
    };
    let mut lines = Vec::new();
    let mut after = 0;
    for hit in memchr::memmem::find_iter(lower, needle.as_bytes()) {
        if hit < after {
            continue;
        }
        let start = memchr::memrchr(b'\n', &lower[..hit]).map_or(0, |i| i + 1);
        let end = memchr::memchr(b'\n', &lower[hit..]).map_or(lower.len(), |i| hit + i);
        lines.push(start..end);
        after = end;
    }
    lines
}

/// A line's match and score, when every term matches it.
fn score_line<'a>(line: &'a str, lower_line: &str, terms: &[String]) -> Option<Match<'a>> {
    let mut fields = line.splitn(3, '\t');
    let (attr, version, description) = (fields.next()?, fields.next()?, fields.next()?);
    let mut lower_fields = lower_line.splitn(3, '\t');
    let (lower_attr, _, lower_description) = (
        lower_fields.next()?,
        lower_fields.next()?,
        lower_fields.next()?,
    );
    let mut score = 0;
    for term in terms {
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
        search(INDEX, &terms, None)
            .0
            .iter()
            .map(|m| m.attr)
            .collect()
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
    fn the_best_few_and_the_count() {
        let (best, total) = search(INDEX, &["audio".to_owned()], Some(2));
        let attrs: Vec<&str> = best.iter().map(|m| m.attr).collect();
        assert_eq!(attrs, ["sox", "ffmpeg"]);
        assert_eq!(total, 4);
    }

    #[test]
    fn every_term_must_match() {
        assert_eq!(attrs(&["audio", "mix"]), ["sox"]);
        assert!(attrs(&["audio", "nothing-like-it"]).is_empty());
    }
}
