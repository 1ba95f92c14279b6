//! Path patterns (`/orders/*`, `/public/**`) matched in time linear in the path for each
//! pattern segment: a dynamic programme over segments, so no pattern can make one request
//! cost seconds of CPU (backtracking over several `**` is exponential).

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Segment {
    Literal(String),
    One,
    AnyDepth,
}

pub(super) fn parse_pattern(path: &str) -> Result<Vec<Segment>, String> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err(format!("path {path:?} must start with /"));
    };
    rest.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| match s {
            "*" => Ok(Segment::One),
            "**" => Ok(Segment::AnyDepth),
            s if s.contains('*') => Err(format!("in {path:?}: * and ** must be whole segments")),
            s => Ok(Segment::Literal(s.to_owned())),
        })
        .collect()
}

/// O(pattern × path): `reach[j]` says whether the pattern so far matches `path[..j]`.
pub(super) fn matches(pattern: &[Segment], path: &[&str]) -> bool {
    let n = path.len();
    let mut reach = vec![false; n + 1];
    reach[0] = true;
    let mut next = vec![false; n + 1];
    for seg in pattern {
        match seg {
            Segment::AnyDepth => {
                let mut any = false;
                for j in 0..=n {
                    any |= reach[j];
                    next[j] = any;
                }
            }
            Segment::One | Segment::Literal(_) => {
                next[0] = false;
                for j in 1..=n {
                    next[j] = reach[j - 1]
                        && match seg {
                            Segment::Literal(l) => l == path[j - 1],
                            _ => true,
                        };
                }
            }
        }
        std::mem::swap(&mut reach, &mut next);
        if !reach.contains(&true) {
            return false;
        }
    }
    reach[n]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, path: &str) -> bool {
        let p = parse_pattern(pattern).unwrap();
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        matches(&p, &segs)
    }

    #[test]
    fn globs_match_whole_segments() {
        for (pattern, path, want) in [
            ("/orders/*", "/orders/1", true),
            ("/orders/*", "/orders", false),
            ("/orders/*", "/orders/1/2", false),
            ("/orders/**", "/orders", true),
            ("/orders/**", "/orders/1/2/3", true),
            ("/**", "/", true),
            ("/", "/", true),
            ("/", "/x", false),
            ("/**/b", "/a/a/b", true),
            ("/**/b", "/a/b/c", false),
            ("/a/**/b/*", "/a/x/y/b/z", true),
            ("/a/**/b/*", "/a/b", false),
            ("/**/a/**/a/**/b", "/a/x/a/y/b", true),
            ("/**/a/**/a/**/b", "/a/x/y/b", false),
        ] {
            assert_eq!(m(pattern, path), want, "{pattern} on {path}");
        }
    }

    /// Exponential with backtracking (17 s of CPU for a 4.8 KB URI); here it must simply
    /// finish — nextest's slow-timeout catches a regression.
    #[test]
    fn pathological_patterns_on_long_paths_finish() {
        let p = parse_pattern("/**/a/**/a/**/a/**/a/**/b").unwrap();
        let long: Vec<&str> = std::iter::repeat_n("a", 4000).collect();
        assert!(!matches(&p, &long));
        let mut ends_in_b = long.clone();
        ends_in_b.push("b");
        assert!(matches(&p, &ends_in_b));
    }
}
