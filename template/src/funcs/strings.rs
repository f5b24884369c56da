//! Sprig's string functions (`strings.go`, the string entries of
//! `functions.go`, and the helpers it borrows from goutils and xstrings),
//! plus the path functions (`base`, `dir`, …) and regular expressions.
//!
//! Go strings are byte strings; where Sprig slices by bytes (`trunc`,
//! `substr`) a cut inside a UTF-8 sequence yields U+FFFD here.

use super::conv::strval;
use super::goregex::{self, GoRegex};
use super::{FuncMap, Ty, add, err, i, s, sig, sig_var};
use crate::error::GoError;
use crate::exec::Engine;
use crate::gofmt;
use crate::value::{List, ListType, Map, MapType, Value, gostr};

type R = Result<Value, GoError>;

fn st(x: impl Into<String>) -> R {
    Ok(Value::str(x.into()))
}

pub fn register(m: &mut FuncMap) {
    use Ty::*;
    add(m, "hello", sig(&[]), |_, _| st("Hello!"));
    add(m, "trim", sig(&[Str]), |_, a| {
        st(s(&a[0]).trim_matches(char::is_whitespace))
    });
    add(m, "upper", sig(&[Str]), |_, a| {
        st(map_chars(&runes(s(&a[0])), upper_char))
    });
    add(m, "lower", sig(&[Str]), |_, a| {
        st(map_chars(&runes(s(&a[0])), lower_char))
    });
    add(m, "title", sig(&[Str]), |_, a| st(title(&runes(s(&a[0])))));
    add(m, "untitle", sig(&[Str]), |_, a| {
        st(untitle(&runes(s(&a[0]))))
    });
    add(m, "substr", sig(&[Int, Int, Str]), substr);
    add(m, "repeat", sig(&[Int, Str]), |_, a| {
        let n = i(&a[0]);
        if n < 0 {
            return Err(err("strings: negative Repeat count"));
        }
        super::check_size(n as u128 * s(&a[1]).len() as u128)?;
        st(s(&a[1]).repeat(n as usize))
    });
    add(m, "trimall", sig(&[Str, Str]), |_, a| {
        st(trim_set(s(&a[1]), s(&a[0])))
    });
    add(m, "trimAll", sig(&[Str, Str]), |_, a| {
        st(trim_set(s(&a[1]), s(&a[0])))
    });
    // Go compares bytes: a stray byte (half of a character cut by
    // `substr`) matches the same byte of a whole character.
    add(m, "trimSuffix", sig(&[Str, Str]), |_, a| {
        let (text, suffix) = (bytes(&a[1]), bytes(&a[0]));
        match text.strip_suffix(&*suffix) {
            Some(rest) => st(gostr::from_bytes(rest)),
            None => Ok(a[1].clone()),
        }
    });
    add(m, "trimPrefix", sig(&[Str, Str]), |_, a| {
        let (text, prefix) = (bytes(&a[1]), bytes(&a[0]));
        match text.strip_prefix(&*prefix) {
            Some(rest) => st(gostr::from_bytes(rest)),
            None => Ok(a[1].clone()),
        }
    });
    add(m, "nospace", sig(&[Str]), |_, a| st(nospace(s(&a[0]))));
    add(m, "initials", sig(&[Str]), |_, a| st(initials(s(&a[0]))));
    add(m, "swapcase", sig(&[Str]), |_, a| {
        st(swapcase(&runes(s(&a[0]))))
    });
    add(m, "snakecase", sig(&[Str]), |_, a| {
        st(to_snake(s(&a[0]), '_'))
    });
    add(m, "kebabcase", sig(&[Str]), |_, a| {
        st(to_snake(s(&a[0]), '-'))
    });
    add(m, "camelcase", sig(&[Str]), |_, a| {
        st(to_pascal(&runes(s(&a[0]))))
    });
    add(m, "shuffle", sig(&[Str]), |_, a| {
        let mut c: Vec<char> = runes(s(&a[0])).chars().collect();
        super::crypto::shuffle(&mut c);
        st(c.into_iter().collect::<std::string::String>())
    });
    add(m, "abbrev", sig(&[Int, Str]), |_, a| {
        st(abbrev(i(&a[0]), s(&a[1])))
    });
    add(m, "abbrevboth", sig(&[Int, Int, Str]), |_, a| {
        st(abbrevboth(i(&a[0]), i(&a[1]), s(&a[2])))
    });
    add(m, "trunc", sig(&[Int, Str]), |_, a| {
        st(trunc(i(&a[0]), s(&a[1])))
    });
    add(m, "wrap", sig(&[Int, Str]), |_, a| {
        st(wrap_custom(s(&a[1]), i(&a[0]), "\n", false))
    });
    add(m, "wrapWith", sig(&[Int, Str, Str]), |_, a| {
        // A break at most at every space and every `width` bytes.
        let (text, sep) = (s(&a[2]), s(&a[1]));
        let breaks = text.bytes().filter(|b| *b == b' ').count() as u128
            + text.len() as u128 / i(&a[0]).max(1) as u128
            + 1;
        super::check_size(text.len() as u128 + breaks * sep.len().max(1) as u128)?;
        st(wrap_custom(text, i(&a[0]), sep, true))
    });
    add(m, "contains", sig(&[Str, Str]), |_, a| {
        let (text, part) = (s(&a[1]), s(&a[0]));
        if gostr::is_utf8(text) && gostr::is_utf8(part) {
            return Ok(Value::Bool(text.contains(part)));
        }
        let (text, part) = (gostr::to_bytes(text), gostr::to_bytes(part));
        let found = part.is_empty() || text.windows(part.len()).any(|w| w == &*part);
        Ok(Value::Bool(found))
    });
    add(m, "hasPrefix", sig(&[Str, Str]), |_, a| {
        Ok(Value::Bool(bytes(&a[1]).starts_with(&bytes(&a[0]))))
    });
    add(m, "hasSuffix", sig(&[Str, Str]), |_, a| {
        Ok(Value::Bool(bytes(&a[1]).ends_with(&bytes(&a[0]))))
    });
    add(m, "quote", sig_var(&[], Any), |_, a| {
        super::check_all_printable(&a)?;
        let parts: Vec<std::string::String> = a
            .iter()
            .filter(|v| !v.is_nil())
            .map(|v| gofmt::quote(&strval(v)))
            .collect();
        st(parts.join(" "))
    });
    add(m, "squote", sig_var(&[], Any), |_, a| {
        super::check_all_printable(&a)?;
        let parts: Vec<std::string::String> = a
            .iter()
            .filter(|v| !v.is_nil())
            .map(|v| format!("'{}'", gofmt::sprint_value(v)))
            .collect();
        st(parts.join(" "))
    });
    add(m, "cat", sig_var(&[], Any), |_, a| {
        super::check_all_printable(&a)?;
        let parts: Vec<std::string::String> = a
            .iter()
            .filter(|v| !v.is_nil())
            .map(gofmt::sprint_value)
            .collect();
        st(parts.join(" "))
    });
    add(m, "indent", sig(&[Int, Str]), |_, a| {
        st(indent(i(&a[0]), s(&a[1]))?)
    });
    add(m, "nindent", sig(&[Int, Str]), |_, a| {
        st(format!("\n{}", indent(i(&a[0]), s(&a[1]))?))
    });
    add(m, "replace", sig(&[Str, Str, Str]), |_, a| {
        let (text, old, new) = (s(&a[2]), s(&a[0]), s(&a[1]));
        if new.len() > old.len() {
            // An empty `old` matches around every character.
            let n = if old.is_empty() {
                text.chars().count() + 1
            } else {
                text.matches(old).count()
            };
            super::check_size(text.len() as u128 + n as u128 * (new.len() - old.len()) as u128)?;
        }
        st(text.replace(old, new))
    });
    add(m, "plural", sig(&[Str, Str, Int]), |_, a| {
        st(if i(&a[2]) == 1 { s(&a[0]) } else { s(&a[1]) })
    });
    add(m, "split", sig(&[Str, Str]), |_, a| {
        Ok(split_map(go_split(s(&a[1]), s(&a[0]), -1)))
    });
    add(m, "splitn", sig(&[Str, Int, Str]), |_, a| {
        Ok(split_map(go_split(s(&a[2]), s(&a[0]), i(&a[1]))))
    });
    add(m, "splitList", sig(&[Str, Str]), |_, a| {
        Ok(Value::str_list(go_split(s(&a[1]), s(&a[0]), -1)))
    });
    add(m, "join", sig(&[Str, Any]), |_, a| {
        // The same long string can be many times in a list: count before copying.
        if let Value::List(l) = &a[1] {
            let items: u128 = l
                .items
                .iter()
                .map(|x| x.as_str().map_or(0, str::len) as u128)
                .sum();
            super::check_size(items + l.items.len() as u128 * s(&a[0]).len() as u128)?;
        }
        st(super::conv::strslice(&a[1]).join(s(&a[0])))
    });
    add(m, "base", sig(&[Str]), |_, a| st(path_base(s(&a[0]))));
    add(m, "dir", sig(&[Str]), |_, a| st(path_dir(s(&a[0]))));
    add(m, "clean", sig(&[Str]), |_, a| st(path_clean(s(&a[0]))));
    add(m, "ext", sig(&[Str]), |_, a| st(path_ext(s(&a[0]))));
    add(m, "isAbs", sig(&[Str]), |_, a| {
        Ok(Value::Bool(s(&a[0]).starts_with('/')))
    });
    add(m, "osBase", sig(&[Str]), |_, a| st(path_base(s(&a[0]))));
    add(m, "osDir", sig(&[Str]), |_, a| st(path_dir(s(&a[0]))));
    add(m, "osClean", sig(&[Str]), |_, a| st(path_clean(s(&a[0]))));
    add(m, "osExt", sig(&[Str]), |_, a| st(path_ext(s(&a[0]))));
    add(m, "osIsAbs", sig(&[Str]), |_, a| {
        Ok(Value::Bool(s(&a[0]).starts_with('/')))
    });
    // Helm replaces getHostByName with a stub unless DNS lookups are enabled.
    add(m, "getHostByName", sig(&[Str]), |eng, a| {
        if !eng.enable_dns {
            return st("");
        }
        get_host_by_name(s(&a[0]))
    });

    add(m, "regexMatch", sig(&[Str, Str]), |_, a| {
        Ok(Value::Bool(
            compile(s(&a[0]))
                .map(|r| r.regex.is_match(s(&a[1])))
                .unwrap_or(false),
        ))
    });
    add(m, "mustRegexMatch", sig(&[Str, Str]), |_, a| {
        Ok(Value::Bool(compile(s(&a[0]))?.regex.is_match(s(&a[1]))))
    });
    add(m, "regexFindAll", sig(&[Str, Str, Int]), |_, a| {
        regex_find_all(&must_compile(s(&a[0]))?, s(&a[1]), i(&a[2]))
    });
    add(m, "mustRegexFindAll", sig(&[Str, Str, Int]), |_, a| {
        regex_find_all(&compile(s(&a[0]))?, s(&a[1]), i(&a[2]))
    });
    add(m, "regexFind", sig(&[Str, Str]), |_, a| {
        st(must_compile(s(&a[0]))?
            .regex
            .find(s(&a[1]))
            .map(|m| m.as_str())
            .unwrap_or(""))
    });
    add(m, "mustRegexFind", sig(&[Str, Str]), |_, a| {
        st(compile(s(&a[0]))?
            .regex
            .find(s(&a[1]))
            .map(|m| m.as_str())
            .unwrap_or(""))
    });
    add(m, "regexReplaceAll", sig(&[Str, Str, Str]), |_, a| {
        st(must_compile(s(&a[0]))?.replace_all(s(&a[1]), s(&a[2])))
    });
    add(m, "mustRegexReplaceAll", sig(&[Str, Str, Str]), |_, a| {
        st(compile(s(&a[0]))?.replace_all(s(&a[1]), s(&a[2])))
    });
    add(
        m,
        "regexReplaceAllLiteral",
        sig(&[Str, Str, Str]),
        |_, a| {
            st(must_compile(s(&a[0]))?
                .regex
                .replace_all(s(&a[1]), regex::NoExpand(s(&a[2])))
                .into_owned())
        },
    );
    add(
        m,
        "mustRegexReplaceAllLiteral",
        sig(&[Str, Str, Str]),
        |_, a| {
            st(compile(s(&a[0]))?
                .regex
                .replace_all(s(&a[1]), regex::NoExpand(s(&a[2])))
                .into_owned())
        },
    );
    add(m, "regexSplit", sig(&[Str, Str, Int]), |_, a| {
        regex_split(&must_compile(s(&a[0]))?, s(&a[1]), i(&a[2]))
    });
    add(m, "mustRegexSplit", sig(&[Str, Str, Int]), |_, a| {
        regex_split(&compile(s(&a[0]))?, s(&a[1]), i(&a[2]))
    });
    add(m, "regexQuoteMeta", sig(&[Str]), |_, a| {
        st(quote_meta(s(&a[0])))
    });
}

/// Go's `unicode.ToUpper`: the simple (one rune to one rune) mapping of
/// UnicodeData. Rust's is the full one; where that is several characters
/// the simple one is the character itself, but for the Greek letters with
/// ypogegrammeni, whose simple mapping is their prosgegrammeni capital.
pub fn upper_char(c: char) -> char {
    match c {
        '\u{1F80}'..='\u{1F87}' | '\u{1F90}'..='\u{1F97}' | '\u{1FA0}'..='\u{1FA7}' => {
            char::from_u32(c as u32 + 8).unwrap_or(c)
        }
        '\u{1FB3}' => '\u{1FBC}',
        '\u{1FC3}' => '\u{1FCC}',
        '\u{1FF3}' => '\u{1FFC}',
        _ => {
            let mut u = c.to_uppercase();
            match (u.next(), u.next()) {
                (Some(x), None) => x,
                _ => c,
            }
        }
    }
}

/// Go's `unicode.ToLower` (see [`upper_char`]): only U+0130 has a full
/// lower case of several characters, and its simple one is `i`.
pub fn lower_char(c: char) -> char {
    if c == '\u{130}' {
        return 'i';
    }
    let mut l = c.to_lowercase();
    match (l.next(), l.next()) {
        (Some(x), None) => x,
        _ => c,
    }
}

/// Go's `unicode.ToTitle`: the upper case, but for the Latin digraphs (whose
/// title case is a letter of its own) and Georgian Mkhedruli (which is its
/// own title case, though it has a Mtavruli upper case).
pub fn title_char(c: char) -> char {
    match c {
        '\u{1C4}'..='\u{1C6}' => '\u{1C5}',
        '\u{1C7}'..='\u{1C9}' => '\u{1C8}',
        '\u{1CA}'..='\u{1CC}' => '\u{1CB}',
        '\u{1F1}'..='\u{1F3}' => '\u{1F2}',
        '\u{10D0}'..='\u{10FA}' | '\u{10FD}'..='\u{10FF}' => c,
        _ => upper_char(c),
    }
}

/// Go's `unicode.IsTitle`: the title-case letters (category Lt).
fn is_title(c: char) -> bool {
    matches!(
        c,
        '\u{1C5}' | '\u{1C8}' | '\u{1CB}' | '\u{1F2}'
            | '\u{1F88}'..='\u{1F8F}'
            | '\u{1F98}'..='\u{1F9F}'
            | '\u{1FA8}'..='\u{1FAF}'
            | '\u{1FBC}'
            | '\u{1FCC}'
            | '\u{1FFC}'
    )
}

/// Go's `unicode.IsUpper` and `IsLower` are the categories Lu and Ll;
/// Rust's also count the Other_Uppercase and Other_Lowercase characters.
/// Those of them that have a case mapping are what tells them apart.
fn is_other_case(c: char) -> bool {
    matches!(
        c,
        '\u{345}' | '\u{2160}'..='\u{217F}' | '\u{24B6}'..='\u{24E9}'
    )
}

/// `s` as Go reads it rune by rune (`[]rune(s)`, `range`, `strings.Map`,
/// `utf8.DecodeRuneInString`): each stray byte is a `utf8.RuneError`,
/// which the functions that build their result from runes write as U+FFFD.
fn runes(s: &str) -> std::borrow::Cow<'_, str> {
    gostr::to_display(s)
}

/// Go's `utf8.RuneError` as `DecodeRuneInString` returns it: for a stray
/// byte, or for a U+FFFD in the text.
fn is_rune_error(c: char) -> bool {
    c == '\u{FFFD}' || gostr::escaped_byte(c).is_some()
}

fn map_chars(s: &str, f: fn(char) -> char) -> String {
    s.chars().map(f).collect()
}

/// Go's `strings.Title` (word starts after separators become title case).
pub fn title(s: &str) -> String {
    let is_separator = |r: char| -> bool {
        if (r as u32) <= 0x7F {
            return !(r.is_ascii_alphanumeric() || r == '_');
        }
        if r.is_alphabetic() || r.is_numeric() {
            return false;
        }
        r.is_whitespace()
    };
    let mut prev = ' ';
    s.chars()
        .map(|r| {
            let out = if is_separator(prev) { title_char(r) } else { r };
            prev = r;
            out
        })
        .collect()
}

/// goutils `Uncapitalize`: lower-cases the first rune of each word.
fn untitle(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut at_start = true;
    for c in s.chars() {
        if c.is_whitespace() {
            at_start = true;
            out.push(c);
        } else if at_start {
            out.push(lower_char(c));
            at_start = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Go's `unicode.IsSpace` for a byte read as a rune.
fn is_latin1_space(b: u8) -> bool {
    matches!(b, 0x09..=0x0D | 0x20 | 0x85 | 0xA0)
}

/// goutils `DeleteWhiteSpace`. It walks bytes, each read as a Latin-1 rune:
/// a string with no white space comes back as it was, any other one has
/// its multi-byte characters spelled out byte by byte (`é` becomes `Ã©`).
fn nospace(s: &str) -> String {
    let bytes = gostr::to_bytes(s);
    if !bytes.iter().any(|&b| is_latin1_space(b)) {
        return s.to_string();
    }
    bytes
        .iter()
        .filter(|&&b| !is_latin1_space(b))
        .map(|&b| char::from(b))
        .collect()
}

/// goutils `Initials`: the first byte of each white-space-separated word,
/// read as a Latin-1 rune (so `éa` gives `Ã`), as goutils walks bytes.
fn initials(s: &str) -> String {
    let mut out = String::new();
    let mut last_was_gap = true;
    for &b in gostr::to_bytes(s).iter() {
        if is_latin1_space(b) {
            last_was_gap = true;
        } else if last_was_gap {
            out.push(char::from(b));
            last_was_gap = false;
        }
    }
    out
}

/// goutils `SwapCase`: upper and title case become lower, lower becomes
/// upper.
/// goutils' `SwapCase` (Sprig's `swapcase`): a lower-case letter that
/// starts the string or follows white space becomes title case (`ǆ` → `ǅ`,
/// not `Ǆ`).
fn swapcase(s: &str) -> String {
    let mut after_space = true;
    s.chars()
        .map(|c| {
            if is_other_case(c) {
                after_space = c.is_whitespace();
                c
            } else if c.is_uppercase() || is_title(c) {
                after_space = false;
                lower_char(c)
            } else if c.is_lowercase() {
                let swapped = if after_space {
                    title_char(c)
                } else {
                    upper_char(c)
                };
                after_space = false;
                swapped
            } else {
                after_space = c.is_whitespace();
                c
            }
        })
        .collect()
}

/// xstrings' word classes (`nextWord`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Word {
    Invalid,
    Number,
    Upper,
    Alphabet,
    Connector,
    Punct,
    Other,
}

fn is_connector(c: char) -> bool {
    c == '-' || c == '_' || c.is_whitespace()
}

/// xstrings `isAlphabet`: a letter outside the CJK blocks.
fn is_alphabet(c: char) -> bool {
    c.is_alphabetic()
        && ((c as u32) < 0x3400
            || !matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F))
}

/// Go's `unicode.IsPunct` (category P): exact for ASCII, common blocks beyond.
fn is_punct(c: char) -> bool {
    if c.is_ascii() {
        return matches!(
            c,
            '!' | '"'
                | '#'
                | '%'
                | '&'
                | '\''
                | '('
                | ')'
                | '*'
                | ','
                | '-'
                | '.'
                | '/'
                | ':'
                | ';'
                | '?'
                | '@'
                | '['
                | '\\'
                | ']'
                | '_'
                | '{'
                | '}'
        );
    }
    matches!(c as u32, 0xA1 | 0xA7 | 0xAB | 0xB6 | 0xB7 | 0xBB | 0xBF | 0x2010..=0x2027 | 0x2030..=0x205E | 0x3001..=0x3003 | 0x3008..=0x3011)
}

/// xstrings `nextValidRune`: the first rune from `from` on that is not a
/// `utf8.RuneError`, and the index after it (the errors before it go with
/// it); `prev` and the end when there is none.
fn next_valid_rune(s: &[char], from: usize, prev: char) -> (char, usize) {
    match s[from..].iter().position(|&c| !is_rune_error(c)) {
        Some(k) => (s[from + k], from + k + 1),
        None => (prev, s.len()),
    }
}

/// xstrings `nextWord`: the class and length of the next word. Each rune
/// is looked at past the rune errors before it, which belong to its word;
/// at the end, the word's last rune stands for the errors left.
fn next_word(s: &[char]) -> (Word, usize) {
    if s.is_empty() {
        return (Word::Invalid, 0);
    }
    let (mut r, mut n) = next_valid_rune(s, 0, '\u{FFFD}');
    if is_rune_error(r) {
        return (Word::Invalid, n);
    }
    // Takes the runes (and the errors before each) while `pred` holds.
    let run = |n: &mut usize, r: &mut char, pred: &dyn Fn(char) -> bool| {
        while *n < s.len() {
            let (c, end) = next_valid_rune(s, *n, *r);
            *r = c;
            if !pred(c) {
                break;
            }
            *n = end;
        }
    };
    if is_connector(r) {
        run(&mut n, &mut r, &is_connector);
        return (Word::Connector, n);
    }
    if is_punct(r) {
        run(&mut n, &mut r, &is_punct);
        return (Word::Punct, n);
    }
    if r.is_uppercase() {
        if n >= s.len() {
            return (Word::Upper, n);
        }
        let (r1, end) = next_valid_rune(s, n, r);
        if r1.is_uppercase() {
            let mut last = end - n;
            n = end;
            r = r1;
            while n < s.len() {
                let (c, end) = next_valid_rune(s, n, r);
                r = c;
                if !c.is_uppercase() {
                    break;
                }
                last = end - n;
                n = end;
            }
            // "HTTPServer": the last capital starts the next word.
            if n < s.len() && is_alphabet(r) {
                n -= last;
            }
        } else if is_alphabet(r1) {
            n = end;
            r = r1;
            run(&mut n, &mut r, &|c: char| {
                is_alphabet(c) && !c.is_uppercase()
            });
        }
        return (Word::Upper, n);
    }
    if is_alphabet(r) {
        run(&mut n, &mut r, &|c: char| {
            is_alphabet(c) && !c.is_uppercase()
        });
        return (Word::Alphabet, n);
    }
    if r.is_numeric() {
        run(&mut n, &mut r, &|c: char| c.is_numeric());
        return (Word::Number, n);
    }
    run(&mut n, &mut r, &|c: char| {
        !(is_connector(c) || is_alphabet(c) || c.is_numeric() || is_punct(c))
    });
    (Word::Other, n)
}

/// xstrings `toLower`.
fn push_lower(out: &mut String, wt: Word, word: &[char], connector: char) {
    if wt != Word::Upper && wt != Word::Connector {
        out.extend(word.iter());
        return;
    }
    for &c in word {
        if is_connector(c) {
            out.push(connector);
        } else if c.is_uppercase() {
            out.push(lower_char(c));
        } else if is_rune_error(c) {
            out.push('\u{FFFD}');
        } else {
            out.push(c);
        }
    }
}

/// xstrings `ToSnakeCase`/`ToKebabCase` (`camelCaseToLowerCase`).
pub fn to_snake(s: &str, connector: char) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.is_empty() {
        return String::new();
    }
    let mut out = String::with_capacity(s.len() + 8);
    let mut pos = 0;
    let next = |pos: &mut usize| -> (Word, &[char]) {
        let (wt, n) = next_word(&chars[*pos..]);
        let w = &chars[*pos..*pos + n];
        *pos += n;
        (wt, w)
    };
    let (mut wt, mut word) = next(&mut pos);
    while pos < chars.len() {
        if wt != Word::Connector {
            push_lower(&mut out, wt, word, connector);
        }
        let prev = wt;
        let last = word;
        (wt, word) = next(&mut pos);
        match prev {
            Word::Number => {
                while wt == Word::Alphabet || wt == Word::Number {
                    push_lower(&mut out, wt, word, connector);
                    (wt, word) = next(&mut pos);
                }
                if wt != Word::Invalid && wt != Word::Punct && wt != Word::Connector {
                    out.push(connector);
                }
            }
            Word::Connector => push_lower(&mut out, prev, last, connector),
            Word::Punct => {}
            _ => {
                if wt != Word::Number {
                    if wt != Word::Connector && wt != Word::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                if pos >= chars.len() {
                    continue;
                }
                let last = word;
                (wt, word) = next(&mut pos);
                if wt != Word::Alphabet {
                    push_lower(&mut out, Word::Number, last, connector);
                    if wt != Word::Connector && wt != Word::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                out.push(connector);
                push_lower(&mut out, Word::Number, last, connector);
                while wt == Word::Alphabet || wt == Word::Number {
                    push_lower(&mut out, wt, word, connector);
                    (wt, word) = next(&mut pos);
                }
                if wt != Word::Invalid && wt != Word::Connector && wt != Word::Punct {
                    out.push(connector);
                }
            }
        }
    }
    push_lower(&mut out, wt, word, connector);
    out
}

/// xstrings v1.5 `ToPascalCase` (Sprig's `camelcase`): connectors removed,
/// each word's first rune upper-cased, and within a word that starts upper
/// case, the upper-case run that follows lower-cased (`HTTPServer` →
/// `Httpserver`, `ID` → `Id`).
pub fn to_pascal(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    // Leading connectors are kept.
    while i < chars.len() && is_connector(chars[i]) {
        out.push(chars[i]);
        i += 1;
    }
    if i >= chars.len() {
        // Only connectors: xstrings writes the last one once more (its
        // "string of one rune" case sees the connector it stopped on).
        if let Some(&last) = chars.last() {
            out.push(last);
        }
        return out;
    }
    let mut first_upper = chars[i].is_uppercase();
    let mut r0 = upper_char(chars[i]);
    i += 1;
    while i < chars.len() {
        let r1 = r0;
        r0 = chars[i];
        i += 1;
        if is_connector(r0) && is_connector(r1) {
            out.push(r1);
            continue;
        }
        if is_connector(r1) {
            first_upper = r0.is_uppercase();
            r0 = upper_char(r0);
        } else {
            if first_upper {
                if r0.is_uppercase() {
                    r0 = lower_char(r0);
                } else {
                    first_upper = false;
                }
            }
            out.push(r1);
        }
    }
    out.push(r0);
    out
}

/// Go's `strings.Trim`: a stray byte reads as a `utf8.RuneError`, which
/// the cutset holds when it has a U+FFFD or a stray byte of its own
/// (`strings.ContainsRune`).
fn trim_set(s: &str, cutset: &str) -> String {
    let has_error = cutset.chars().any(is_rune_error);
    s.trim_matches(|c| {
        if is_rune_error(c) {
            has_error
        } else {
            cutset.contains(c)
        }
    })
    .to_string()
}

/// Go's byte slicing of a string (a cut may split a UTF-8 sequence; the
/// stray bytes are kept, see `value::gostr`).
fn byte_slice(s: &str, start: usize, end: usize) -> String {
    let bytes = gostr::to_bytes(s);
    gostr::from_bytes(&bytes[start.min(bytes.len())..end.min(bytes.len())])
}

fn trunc(c: i64, s: &str) -> String {
    let len = gostr::len(s) as i64;
    if c < 0 && len + c > 0 {
        return byte_slice(s, (len + c) as usize, len as usize);
    }
    if c >= 0 && len > c {
        return byte_slice(s, 0, c as usize);
    }
    s.to_string()
}

fn substr(_: &mut Engine<'_>, a: Vec<Value>) -> R {
    let (start, end, s) = (i(&a[0]), i(&a[1]), s(&a[2]));
    let len = gostr::len(s) as i64;
    let oob = |lo: i64, hi: i64| {
        // Go leaves the length out of a negative index's message.
        err(if hi < 0 {
            format!("runtime error: slice bounds out of range [:{hi}]")
        } else if hi > len {
            format!("runtime error: slice bounds out of range [:{hi}] with length {len}")
        } else {
            format!("runtime error: slice bounds out of range [{lo}:{hi}]")
        })
    };
    if start < 0 {
        if end < 0 || end > len {
            return Err(oob(0, end));
        }
        return st(byte_slice(s, 0, end as usize));
    }
    if end < 0 || end > len {
        if start > len {
            return Err(err(format!(
                "runtime error: slice bounds out of range [{start}:{len}]"
            )));
        }
        return st(byte_slice(s, start as usize, len as usize));
    }
    if start > end {
        return Err(oob(start, end));
    }
    st(byte_slice(s, start as usize, end as usize))
}

fn indent(spaces: i64, v: &str) -> Result<String, GoError> {
    if spaces < 0 {
        return Err(err("strings: negative Repeat count"));
    }
    let spaces = spaces as u128;
    let lines = v.bytes().filter(|&b| b == b'\n').count() as u128 + 1;
    super::check_size(spaces * lines + v.len() as u128)?;
    let pad = " ".repeat(spaces as usize);
    let mut out = String::with_capacity((spaces * lines) as usize + v.len());
    for (i, line) in v.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&pad);
        out.push_str(line);
    }
    Ok(out)
}

/// Go's `strings.SplitN(s, sep, n)` (n < 0: all).
pub fn go_split(s: &str, sep: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if sep.is_empty() {
        // Split into UTF-8 sequences.
        let chars: Vec<String> = s.chars().map(|c| c.to_string()).collect();
        if n < 0 || chars.len() as i64 <= n {
            return chars;
        }
        let n = n as usize;
        let mut out: Vec<String> = chars[..n - 1].to_vec();
        let consumed: usize = out.iter().map(|c| c.len()).sum();
        out.push(s[consumed..].to_string());
        return out;
    }
    if n < 0 {
        return s.split(sep).map(String::from).collect();
    }
    s.splitn(n as usize, sep).map(String::from).collect()
}

fn split_map(parts: Vec<String>) -> Value {
    let m = Map::typed(Default::default(), MapType::StringString);
    for (k, p) in parts.into_iter().enumerate() {
        m.insert(format!("_{k}"), Value::str(p));
    }
    Value::Map(m)
}

/// goutils `Abbreviate(s, width)`.
fn abbrev(width: i64, s: &str) -> String {
    if width < 4 {
        return s.to_string();
    }
    abbreviate_full(s, 0, width)
}

fn abbrevboth(left: i64, right: i64, s: &str) -> String {
    if right < 4 || (left > 0 && right < 7) {
        return s.to_string();
    }
    abbreviate_full(s, left, right)
}

/// goutils `AbbreviateFull` (byte based, like the Go original).
fn abbreviate_full(s: &str, offset: i64, max_width: i64) -> String {
    let len = gostr::len(s) as i64;
    if len <= max_width {
        return s.to_string();
    }
    let mut offset = offset.min(len);
    if len - offset < max_width - 3 {
        offset = len - (max_width - 3);
    }
    let abbrev = "...";
    if offset <= 4 {
        return format!(
            "{}{abbrev}",
            byte_slice(s, 0, (max_width - 3).max(0) as usize)
        );
    }
    if max_width < 7 {
        return s.to_string();
    }
    if offset + max_width - 3 < len {
        let inner = abbreviate_full(
            &byte_slice(s, offset as usize, len as usize),
            0,
            max_width - 3,
        );
        return format!("{abbrev}{inner}");
    }
    format!(
        "{abbrev}{}",
        byte_slice(s, (len - (max_width - 3)) as usize, len as usize)
    )
}

/// goutils `WrapCustom(str, wrapLength, newLineStr, wrapLongWords)`.
fn wrap_custom(s: &str, wrap_length: i64, new_line: &str, wrap_long_words: bool) -> String {
    let wrap_length = if wrap_length < 1 {
        1
    } else {
        wrap_length as usize
    };
    let new_line = if new_line.is_empty() { "\n" } else { new_line };
    // goutils cuts the string at byte offsets, through a multi-byte
    // character if need be: keep the halves as Go's stray bytes.
    let input = gostr::to_bytes(s);
    let new_line_bytes = gostr::to_bytes(new_line);
    let input_len = input.len();
    let mut offset = 0usize;
    let mut out = Vec::<u8>::with_capacity(input_len + 32);
    while input_len - offset > wrap_length {
        if input[offset] == b' ' {
            offset += 1;
            continue;
        }
        let end = (wrap_length + offset + 1).min(input_len);
        let window = &input[offset..end];
        let space_to_wrap_at = window.iter().rposition(|b| *b == b' ').map(|p| p + offset);
        match space_to_wrap_at {
            Some(sp) if sp > offset => {
                out.extend_from_slice(&input[offset..sp]);
                out.extend_from_slice(&new_line_bytes);
                offset = sp + 1;
            }
            _ => {
                if wrap_long_words {
                    out.extend_from_slice(&input[offset..wrap_length + offset]);
                    out.extend_from_slice(&new_line_bytes);
                    offset += wrap_length;
                } else {
                    let rest = &input[wrap_length + offset..];
                    match rest.iter().position(|b| *b == b' ') {
                        Some(p) => {
                            let sp = p + wrap_length + offset;
                            out.extend_from_slice(&input[offset..sp]);
                            out.extend_from_slice(&new_line_bytes);
                            offset = sp + 1;
                        }
                        None => {
                            out.extend_from_slice(&input[offset..]);
                            offset = input_len;
                        }
                    }
                }
            }
        }
    }
    out.extend_from_slice(&input[offset.min(input_len)..]);
    gostr::from_bytes(&out)
}

/// Sprig's `getHostByName`: one of the name's addresses, picked at random
/// (Go's `net.LookupHost`, errors ignored); a name without addresses
/// panics in Sprig (`rand.Intn(0)`), which text/template reports as the
/// call's error.
fn get_host_by_name(name: &str) -> R {
    use std::net::ToSocketAddrs;
    let mut addrs: Vec<String> = Vec::new();
    if let Ok(found) = (name, 0u16).to_socket_addrs() {
        for a in found {
            let ip = a.ip().to_string();
            if !addrs.contains(&ip) {
                addrs.push(ip);
            }
        }
    }
    if addrs.is_empty() {
        return Err(GoError::plain("invalid argument to Intn"));
    }
    let pick = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as usize)
        % addrs.len();
    Ok(Value::str(&addrs[pick]))
}

/// Go's `path.Clean`.
pub fn path_clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    if rooted {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".into()
    } else {
        joined
    }
}

/// Go's `path.Base`.
pub fn path_base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return "/".into();
    }
    match t.rfind('/') {
        Some(i) => t[i + 1..].to_string(),
        None => t.to_string(),
    }
}

/// Go's `path.Dir`.
pub fn path_dir(p: &str) -> String {
    let dir = match p.rfind('/') {
        Some(i) => &p[..=i],
        None => "",
    };
    path_clean(dir)
}

/// Go's `path.Ext`.
pub fn path_ext(p: &str) -> String {
    for (i, c) in p.char_indices().rev() {
        if c == '/' {
            break;
        }
        if c == '.' {
            return p[i..].to_string();
        }
    }
    String::new()
}

// ---- regular expressions (Go's syntax, see `goregex`) ----

/// Go's `regexp.Compile`, with its error text.
pub fn go_regex(re: &str) -> Result<regex::Regex, String> {
    compile(re).map(|g| g.regex).map_err(|e| e.msg)
}

/// Go's `regexp.Compile`. Compiled expressions are remembered per thread:
/// charts call the regex functions with the same few patterns over and
/// over (bitnami's common library on every render), and compiling costs
/// far more than matching.
fn compile(re: &str) -> Result<GoRegex, GoError> {
    /// Past this many patterns the cache starts over.
    const MAX_PATTERNS: usize = 512;
    thread_local! {
        static CACHE: std::cell::RefCell<std::collections::HashMap<String, GoRegex>> =
            std::cell::RefCell::new(std::collections::HashMap::new());
    }
    if let Some(r) = CACHE.with(|c| c.borrow().get(re).cloned()) {
        return Ok(r);
    }
    let r = goregex::compile(re).map_err(|e| err(e.to_string()))?;
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= MAX_PATTERNS {
            c.clear();
        }
        c.insert(re.to_string(), r.clone());
    });
    Ok(r)
}

/// `regexp.MustCompile`: Go panics, which the template engine reports.
fn must_compile(re: &str) -> Result<GoRegex, GoError> {
    // regexp's `quote`: backquoted when strconv.CanBackquote allows it.
    let can_backquote = !re.contains('`')
        && re
            .chars()
            .all(|c| c == '\t' || !(c.is_control() || c == '\u{FEFF}'));
    let quoted = if can_backquote {
        format!("`{re}`")
    } else {
        gofmt::quote(re)
    };
    compile(re).map_err(|e| err(format!("regexp: Compile({quoted}): {}", e.msg)))
}

/// A string argument's bytes, as Go holds the string (`value::gostr`).
fn bytes(v: &Value) -> std::borrow::Cow<'_, [u8]> {
    gostr::to_bytes(s(v))
}

fn regex_find_all(re: &GoRegex, s: &str, n: i64) -> R {
    let it = re.regex.find_iter(s).map(|m| m.as_str().to_string());
    let v: Vec<String> = if n < 0 {
        it.collect()
    } else {
        it.take(n as usize).collect()
    };
    // Go's FindAllString returns nil when nothing matched (`null` in JSON).
    if v.is_empty() {
        return Ok(Value::List(List::nil_of(ListType::String)));
    }
    Ok(Value::str_list(v))
}

/// Go's `Regexp.Split(s, n)`.
fn regex_split(re: &GoRegex, s: &str, n: i64) -> R {
    if n == 0 {
        return Ok(Value::List(List::nil_of(ListType::String)));
    }
    if !re.as_str().is_empty() && s.is_empty() {
        return Ok(Value::str_list(vec![String::new()]));
    }
    let mut out = Vec::new();
    let (mut beg, mut end) = (0, 0);
    let matches = re
        .regex
        .find_iter(s)
        .take(if n < 0 { usize::MAX } else { n as usize });
    for m in matches {
        if n > 0 && out.len() as i64 == n - 1 {
            break;
        }
        end = m.start();
        if m.end() != 0 {
            out.push(s[beg..end].to_string());
        }
        beg = m.end();
    }
    if end != s.len() {
        out.push(s[beg..].to_string());
    }
    Ok(Value::str_list(out))
}

/// Go's `regexp.QuoteMeta`.
fn quote_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
