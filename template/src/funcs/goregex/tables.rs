//! The character sets Go's `regexp/syntax` names: the ASCII-only Perl
//! (`\d`, `\s`, `\w`) and POSIX (`[:alpha:]`) groups, which this module
//! spells out as explicit ranges, and the Unicode class names `\p{…}`
//! accepts, which it maps to the property Rust's `regex` knows them by.
//!
//! Go's groups are ASCII whatever the flags (see `perl_groups.go`); Rust's
//! `\d`, `\s`, `\w` are Unicode-aware, so they are never passed through.

/// Inclusive code point ranges.
pub(super) type Ranges = Vec<(u32, u32)>;

const MAX_RUNE: u32 = 0x10FFFF;

const DIGIT: &[(u32, u32)] = &[(0x30, 0x39)];
/// Go's `\s` is `[\t\n\f\r ]`: no `\v`, unlike `[[:space:]]`.
const PERL_SPACE: &[(u32, u32)] = &[(0x09, 0x0A), (0x0C, 0x0D), (0x20, 0x20)];
const WORD: &[(u32, u32)] = &[(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)];

/// `\d`, `\s`, `\w` and their negations, by the letter after the backslash.
pub(super) fn perl_group(letter: u8) -> Option<(&'static [(u32, u32)], bool)> {
    let class = match letter.to_ascii_lowercase() {
        b'd' => DIGIT,
        b's' => PERL_SPACE,
        b'w' => WORD,
        _ => return None,
    };
    Some((class, letter.is_ascii_uppercase()))
}

/// A POSIX group by its whole bracketed name (`[:alpha:]`, `[:^alpha:]`).
pub(super) fn posix_group(name: &str) -> Option<(&'static [(u32, u32)], bool)> {
    let inner = name.strip_prefix("[:")?.strip_suffix(":]")?;
    let (inner, negated) = match inner.strip_prefix('^') {
        Some(rest) => (rest, true),
        None => (inner, false),
    };
    let class: &'static [(u32, u32)] = match inner {
        "alnum" => &[(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)],
        "alpha" => &[(0x41, 0x5A), (0x61, 0x7A)],
        "ascii" => &[(0x00, 0x7F)],
        "blank" => &[(0x09, 0x09), (0x20, 0x20)],
        "cntrl" => &[(0x00, 0x1F), (0x7F, 0x7F)],
        "digit" => DIGIT,
        "graph" => &[(0x21, 0x7E)],
        "lower" => &[(0x61, 0x7A)],
        "print" => &[(0x20, 0x7E)],
        "punct" => &[(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)],
        "space" => &[(0x09, 0x0D), (0x20, 0x20)],
        "upper" => &[(0x41, 0x5A)],
        "word" => WORD,
        "xdigit" => &[(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)],
        _ => return None,
    };
    Some((class, negated))
}

/// The ranges of an ASCII group as Go builds them: case-folded first when
/// `(?i)` is on, then negated. The result is closed under case folding
/// whenever `fold` is set, so Rust folding it again changes nothing.
pub(super) fn group_ranges(class: &[(u32, u32)], negated: bool, fold: bool) -> Ranges {
    let mut r: Ranges = class.to_vec();
    if fold {
        r.extend(
            class
                .iter()
                .flat_map(|&(lo, hi)| lo..=hi)
                .flat_map(ascii_fold_partners),
        );
    }
    let r = clean(r);
    if negated { complement(&r) } else { r }
}

/// The other members of an ASCII character's simple case folding orbit:
/// the other case, plus KELVIN SIGN for k and LONG S for s.
fn ascii_fold_partners(c: u32) -> impl Iterator<Item = (u32, u32)> {
    let b = c as u8;
    let other = if b.is_ascii_lowercase() {
        Some(u32::from(b.to_ascii_uppercase()))
    } else if b.is_ascii_uppercase() {
        Some(u32::from(b.to_ascii_lowercase()))
    } else {
        None
    };
    let special = match b.to_ascii_lowercase() {
        b'k' => Some(0x212A),
        b's' => Some(0x017F),
        _ => None,
    };
    other.into_iter().chain(special).map(|x| (x, x))
}

/// Sorted, merged ranges.
fn clean(mut r: Ranges) -> Ranges {
    r.sort_unstable();
    let mut out: Ranges = Vec::with_capacity(r.len());
    for (lo, hi) in r {
        match out.last_mut() {
            Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

/// Every code point not in the clean ranges `r`.
fn complement(r: &[(u32, u32)]) -> Ranges {
    let mut out = Vec::with_capacity(r.len() + 1);
    let mut next = 0;
    for &(lo, hi) in r {
        if lo > next {
            out.push((next, lo - 1));
        }
        next = hi + 1;
    }
    if next <= MAX_RUNE {
        out.push((next, MAX_RUNE));
    }
    out
}

/// The Rust property (`gc=Lu`, `sc=Greek`, …) for a name Go's `\p{name}`
/// accepts, or `None` where Go reports "invalid character class range".
///
/// Go looks the name up after `canonicalName` (no `_`, `-` or spaces; first
/// letter upper, the rest lower), so `\p{greek}` and `\p{Letter}` work while
/// scripts whose table key keeps an underscore or inner capital
/// (`Old_Italic`, `SignWriting`) can never be found — confirmed against Helm.
/// Go's tables are Unicode 15.0: no Garay, Sunuwar or Todhri.
pub(super) fn unicode_property(name: &str) -> Option<String> {
    let n = canonical_name(name);
    let special = match n.as_str() {
        "Any" => Some("Any"),
        "Assigned" => Some("Assigned"),
        "Ascii" => Some("ASCII"),
        "Lc" => Some("gc=LC"),
        _ => None,
    };
    if let Some(p) = special {
        return Some(p.to_string());
    }
    if CATEGORIES.contains(&n.as_str()) {
        return Some(format!("gc={n}"));
    }
    if SCRIPTS.contains(&n.as_str()) {
        return Some(format!("sc={n}"));
    }
    CATEGORY_ALIASES
        .iter()
        .find(|(alias, _)| *alias == n)
        .map(|(_, gc)| format!("gc={gc}"))
}

/// Go's `canonicalName`.
fn canonical_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut first = true;
    for c in name.chars().filter(|c| !matches!(c, '_' | '-' | ' ')) {
        if first {
            out.push(c.to_ascii_uppercase());
            first = false;
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// Go's `unicode.Categories` keys.
const CATEGORIES: &[&str] = &[
    "C", "Cc", "Cf", "Cn", "Co", "Cs", "L", "Ll", "Lm", "Lo", "Lt", "Lu", "M", "Mc", "Me", "Mn",
    "N", "Nd", "Nl", "No", "P", "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps", "S", "Sc", "Sk", "Sm",
    "So", "Z", "Zl", "Zp", "Zs",
];

/// Go's `unicode.CategoryAliases`, keys canonicalised as `parse.go` does.
const CATEGORY_ALIASES: &[(&str, &str)] = &[
    ("Casedletter", "LC"),
    ("Closepunctuation", "Pe"),
    ("Cntrl", "Cc"),
    ("Combiningmark", "M"),
    ("Connectorpunctuation", "Pc"),
    ("Control", "Cc"),
    ("Currencysymbol", "Sc"),
    ("Dashpunctuation", "Pd"),
    ("Decimalnumber", "Nd"),
    ("Digit", "Nd"),
    ("Enclosingmark", "Me"),
    ("Finalpunctuation", "Pf"),
    ("Format", "Cf"),
    ("Initialpunctuation", "Pi"),
    ("Letter", "L"),
    ("Letternumber", "Nl"),
    ("Lineseparator", "Zl"),
    ("Lowercaseletter", "Ll"),
    ("Mark", "M"),
    ("Mathsymbol", "Sm"),
    ("Modifierletter", "Lm"),
    ("Modifiersymbol", "Sk"),
    ("Nonspacingmark", "Mn"),
    ("Number", "N"),
    ("Openpunctuation", "Ps"),
    ("Other", "C"),
    ("Otherletter", "Lo"),
    ("Othernumber", "No"),
    ("Otherpunctuation", "Po"),
    ("Othersymbol", "So"),
    ("Paragraphseparator", "Zp"),
    ("Privateuse", "Co"),
    ("Punct", "P"),
    ("Punctuation", "P"),
    ("Separator", "Z"),
    ("Spaceseparator", "Zs"),
    ("Spacingmark", "Mc"),
    ("Surrogate", "Cs"),
    ("Symbol", "S"),
    ("Titlecaseletter", "Lt"),
    ("Unassigned", "Cn"),
    ("Uppercaseletter", "Lu"),
];

/// The `unicode.Scripts` keys that survive `canonicalName` unchanged.
const SCRIPTS: &[&str] = &[
    "Adlam",
    "Ahom",
    "Arabic",
    "Armenian",
    "Avestan",
    "Balinese",
    "Bamum",
    "Batak",
    "Bengali",
    "Bhaiksuki",
    "Bopomofo",
    "Brahmi",
    "Braille",
    "Buginese",
    "Buhid",
    "Carian",
    "Chakma",
    "Cham",
    "Cherokee",
    "Chorasmian",
    "Common",
    "Coptic",
    "Cuneiform",
    "Cypriot",
    "Cyrillic",
    "Deseret",
    "Devanagari",
    "Dogra",
    "Duployan",
    "Elbasan",
    "Elymaic",
    "Ethiopic",
    "Georgian",
    "Glagolitic",
    "Gothic",
    "Grantha",
    "Greek",
    "Gujarati",
    "Gurmukhi",
    "Han",
    "Hangul",
    "Hanunoo",
    "Hatran",
    "Hebrew",
    "Hiragana",
    "Inherited",
    "Javanese",
    "Kaithi",
    "Kannada",
    "Katakana",
    "Kawi",
    "Kharoshthi",
    "Khmer",
    "Khojki",
    "Khudawadi",
    "Lao",
    "Latin",
    "Lepcha",
    "Limbu",
    "Lisu",
    "Lycian",
    "Lydian",
    "Mahajani",
    "Makasar",
    "Malayalam",
    "Mandaic",
    "Manichaean",
    "Marchen",
    "Medefaidrin",
    "Miao",
    "Modi",
    "Mongolian",
    "Mro",
    "Multani",
    "Myanmar",
    "Nabataean",
    "Nandinagari",
    "Newa",
    "Nko",
    "Nushu",
    "Ogham",
    "Oriya",
    "Osage",
    "Osmanya",
    "Palmyrene",
    "Phoenician",
    "Rejang",
    "Runic",
    "Samaritan",
    "Saurashtra",
    "Sharada",
    "Shavian",
    "Siddham",
    "Sinhala",
    "Sogdian",
    "Soyombo",
    "Sundanese",
    "Syriac",
    "Tagalog",
    "Tagbanwa",
    "Takri",
    "Tamil",
    "Tangsa",
    "Tangut",
    "Telugu",
    "Thaana",
    "Thai",
    "Tibetan",
    "Tifinagh",
    "Tirhuta",
    "Toto",
    "Ugaritic",
    "Vai",
    "Vithkuqi",
    "Wancho",
    "Yezidi",
    "Yi",
];
