//! `.helmignore` rules exactly as Helm evaluates them (pkg/ignore/rules.go):
//! first matching rule wins, `!` rules stop evaluation on a non-match,
//! a trailing `/` restricts a rule to directories, a rule with no `/`
//! matches the base name only, `**` is refused. Matching is Go's
//! `filepath.Match`, re-implemented in [`go_match`].

#[derive(Debug, Default)]
pub struct Rules {
    patterns: Vec<Pattern>,
}

#[derive(Debug)]
struct Pattern {
    rule: String,
    negate: bool,
    must_dir: bool,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    /// Leading `/`: matched against the whole path.
    Rooted,
    /// Contains `/`: matched against the whole path.
    Structural,
    /// No `/`: matched against the base name.
    Base,
}

impl Rules {
    pub fn parse(text: &str) -> Result<Rules, String> {
        let mut r = Rules::default();
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for line in text.lines() {
            r.parse_rule(line)?;
        }
        Ok(r)
    }

    /// Helm always ignores dotfiles in templates/.
    pub fn add_defaults(&mut self) {
        let _ = self.parse_rule("templates/.?*");
    }

    fn parse_rule(&mut self, rule: &str) -> Result<(), String> {
        let rule = rule.trim();
        if rule.is_empty() || rule.starts_with('#') {
            return Ok(());
        }
        if rule.contains("**") {
            return Err("double-star (**) syntax is not supported".into());
        }
        if go_match(rule, "abc").is_err() {
            return Err(format!("syntax error in pattern {rule:?}"));
        }
        let mut p = rule;
        let negate = p.starts_with('!');
        if negate {
            p = &p[1..];
        }
        let must_dir = p.ends_with('/');
        if must_dir {
            p = &p[..p.len() - 1];
        }
        let (kind, p) = if let Some(rest) = p.strip_prefix('/') {
            (Kind::Rooted, rest)
        } else if p.contains('/') {
            (Kind::Structural, p)
        } else {
            (Kind::Base, p)
        };
        self.patterns.push(Pattern {
            rule: p.to_string(),
            negate,
            must_dir,
            kind,
        });
        Ok(())
    }

    /// Whether `path` (relative, '/'-separated) is ignored.
    pub fn ignore(&self, path: &str, is_dir: bool) -> bool {
        if path.is_empty() || path == "." || path == "./" {
            return false;
        }
        for p in &self.patterns {
            let subject = match p.kind {
                Kind::Base => path.rsplit('/').next().unwrap_or(path),
                Kind::Rooted | Kind::Structural => path,
            };
            let matched = go_match(&p.rule, subject).unwrap_or(false);
            if p.negate {
                if p.must_dir && !is_dir {
                    return true;
                }
                if !matched {
                    return true;
                }
                continue;
            }
            if p.must_dir && !is_dir {
                continue;
            }
            if matched {
                return true;
            }
        }
        false
    }
}

/// Go's `filepath.ErrBadPattern`: the pattern is malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadPattern;

/// Go's `path/filepath.Match` on '/'-separated names: `*` and `?` never
/// match '/', `[...]` classes with ranges and `^` negation, `\` escapes.
/// Returns Err for a malformed pattern.
pub fn go_match(pattern: &str, name: &str) -> Result<bool, BadPattern> {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    match_from(&p, &n)
}

fn match_from(p: &[char], n: &[char]) -> Result<bool, BadPattern> {
    let (mut pi, mut ni) = (0, 0);
    // Backtracking point for the last '*'.
    let mut star: Option<(usize, usize)> = None;
    loop {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ni));
                    pi += 1;
                    continue;
                }
                c if ni < n.len() => {
                    let (ok, len) = match_one(&p[pi..], n[ni])?;
                    let _ = c;
                    if ok {
                        pi += len;
                        ni += 1;
                        continue;
                    }
                }
                _ => {
                    // Validate the rest of the pattern even when the name ran out.
                    if p[pi] == '[' || p[pi] == '\\' {
                        match_one(&p[pi..], 'a')?;
                    }
                }
            }
        } else if ni == n.len() {
            return Ok(true);
        }
        // Mismatch: let the last star swallow one more non-separator char.
        match star {
            Some((sp, sn)) if sn < n.len() && n[sn] != '/' => {
                star = Some((sp, sn + 1));
                pi = sp + 1;
                ni = sn + 1;
            }
            _ => {
                // Check the remainder of the pattern is well-formed, as Go does.
                validate(&p[pi.min(p.len())..])?;
                return Ok(false);
            }
        }
    }
}

fn validate(p: &[char]) -> Result<(), BadPattern> {
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '[' | '\\' => {
                let (_, len) = match_one(&p[i..], 'a')?;
                i += len;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// Match one pattern element against `c`; returns (matched, elements used).
fn match_one(p: &[char], c: char) -> Result<(bool, usize), BadPattern> {
    match p[0] {
        '?' => Ok((c != '/', 1)),
        '\\' => match p.get(1) {
            Some(&e) => Ok((e == c, 2)),
            None => Err(BadPattern),
        },
        '[' => {
            let mut i = 1;
            let negated = p.get(i) == Some(&'^');
            if negated {
                i += 1;
            }
            let mut matched = false;
            let mut first = true;
            loop {
                let ch = *p.get(i).ok_or(BadPattern)?;
                if ch == ']' && !first {
                    i += 1;
                    break;
                }
                first = false;
                let (lo, used) = class_char(&p[i..])?;
                i += used;
                let hi = if p.get(i) == Some(&'-') && p.get(i + 1).is_some_and(|&x| x != ']') {
                    let (hi, used) = class_char(&p[i + 1..])?;
                    i += 1 + used;
                    hi
                } else {
                    lo
                };
                if lo <= c && c <= hi {
                    matched = true;
                }
            }
            Ok((matched != negated && c != '/', i))
        }
        other => Ok((other == c, 1)),
    }
}

fn class_char(p: &[char]) -> Result<(char, usize), BadPattern> {
    match p.first() {
        None | Some('-') | Some(']') => Err(BadPattern),
        Some('\\') => p.get(1).map(|&c| (c, 2)).ok_or(BadPattern),
        Some(&c) => Ok((c, 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_match_semantics() {
        assert_eq!(go_match("*.txt", "a.txt"), Ok(true));
        assert_eq!(go_match("*.txt", "d/a.txt"), Ok(false));
        assert_eq!(go_match("a?c", "abc"), Ok(true));
        assert_eq!(go_match("[a-c]x", "bx"), Ok(true));
        assert_eq!(go_match("[^a-c]x", "bx"), Ok(false));
        assert_eq!(go_match("templates/.?*", "templates/.hidden"), Ok(true));
        assert_eq!(go_match("templates/.?*", "templates/x.yaml"), Ok(false));
        assert!(go_match("[", "a").is_err());
        assert_eq!(go_match("\\*", "*"), Ok(true));
    }

    #[test]
    fn helmignore_rules() {
        let mut r = Rules::parse("# comment\n*.bak\n.git/\n/secret.txt\ndocs/*.md\n").unwrap();
        r.add_defaults();
        assert!(r.ignore("a/b.bak", false));
        assert!(r.ignore(".git", true));
        assert!(!r.ignore(".git", false));
        assert!(r.ignore("secret.txt", false));
        assert!(r.ignore("docs/x.md", false));
        assert!(!r.ignore("x.md", false));
        assert!(r.ignore("templates/.swp", false));
        assert!(!r.ignore("templates/deploy.yaml", false));
        assert!(Rules::parse("a/**/b").is_err());
    }
}
