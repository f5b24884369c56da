//! What real Helm v4 (Go's `regexp`) answered for each pattern, as
//! `mustRegexFind`, `mustRegexFindAll … -1` or `mustRegexReplaceAll`:
//! the match, or the error after "error parsing regexp: ".

use super::*;

enum Call {
    Find,
    FindAll,
    Replace(&'static str),
}
use Call::*;

#[rustfmt::skip]
const CASES: &[(&str, &str, Call, Result<&str, &str>)] = &[
    // Go's \d \s \w \b and POSIX classes are ASCII; \s has no \v.
    (r"\d+", "x٣4", Find, Ok("4")),
    (r"\d", "１", Find, Ok("")),
    (r"\w+", "éa", Find, Ok("a")),
    (r"\W", "é", Find, Ok("é")),
    (r"[^\w]", "é", Find, Ok("é")),
    (r"\s", "\u{2003}", Find, Ok("")),
    (r"\S+", "\u{2003}x", Find, Ok("\u{2003}x")),
    (r"\s", "\u{b}", Find, Ok("")),
    ("[[:space:]]", "\u{b}", Find, Ok("\u{b}")),
    (r"\s+", " \t\n\u{c}\r", Find, Ok(" \t\n\u{c}\r")),
    (r"\b\w+\b", "éa b", Find, Ok("a")),
    (r"\b", "aé b", FindAll, Ok(r#"["", "", "", ""]"#)),
    (r"\B", "ab é", FindAll, Ok(r#"["", "", ""]"#)),
    ("[[:alpha:]]+", "éab", Find, Ok("ab")),
    ("[[:word:]]+", "aé_", Find, Ok("a")),
    ("[[:^alpha:]]", "a1", Find, Ok("1")),
    ("[[:digit:][:upper:]]+", "aB3C", Find, Ok("B3C")),
    (r"\D", "٣x", Find, Ok("٣")),
    (r"[\d\s]+", "a1 2b", Find, Ok("1 2")),
    // && -- ~~ in a class are plain characters in Go; other class corners.
    ("[a&&b]", "&", Find, Ok("&")),
    ("[a-z--c]", "-", Find, Ok("-")),
    ("[a-z--c]", "c", Find, Ok("c")),
    ("[~~a]", "~", Find, Ok("~")),
    (r"[\p{L}&&\p{Greek}]", "a", Find, Ok("a")),
    ("[[a]", "[", Find, Ok("[")),
    ("[]a]", "]", Find, Ok("]")),
    ("[^]a]", "]b", Find, Ok("b")),
    ("[a-]", "-", Find, Ok("-")),
    (r"[\d-z]", "-", Find, Ok("-")),
    // \Q..\E, and a { that starts no repeat is a literal.
    (r"\Qa.b\E", "xa.b", Find, Ok("a.b")),
    (r"\Qa.b", "a.b", Find, Ok("a.b")),
    (r"\Qab\E+", "abbb", Find, Ok("abbb")),
    ("a{,2}", "a{,2}", Find, Ok("a{,2}")),
    ("a{", "a{", Find, Ok("a{")),
    ("a{1", "a{1", Find, Ok("a{1")),
    ("a{01}", "a{01}", Find, Ok("a{01}")),
    ("a{2}", "aaa", Find, Ok("aa")),
    ("a{2,}", "aaaa", Find, Ok("aaaa")),
    ("a{1,2}?", "aa", Find, Ok("a")),
    ("{", "{", Find, Ok("{")),
    ("x{2}{", "xx{", Find, Ok("xx{")),
    // Capture names: duplicates and digit-first names are fine; Go's $ expansion.
    ("(?P<n>a)(?P<n>b)", "ab", Find, Ok("ab")),
    ("(?<n>a)", "a", Find, Ok("a")),
    ("(?P<1a>x)", "x", Replace("[${1a}]"), Ok("[x]")),
    ("(?P<n>a)|(?P<n>b)", "b", Replace("[${n}]"), Ok("[b]")),
    (r"(?P<first>\w+) (?P<last>\w+)", "John Smith", Replace("${last}, ${first}"), Ok("Smith, John")),
    ("(a)(b)", "ab", Replace("$2$1 $01 ${1}x $1x $$ $ $é ${x"), Ok("ba  ax  $ $  ${x")),
    (r"^(.*)-(\d+)$", "my-app-42", Replace("${1}"), Ok("my-app")),
    ("a*", "baaac", Replace("-"), Ok("-b-c-")),
    ("", "abc", Replace("-"), Ok("-a-b-c-")),
    // Escapes: octal, hex, C escapes, punctuation; everything else is an error.
    (r"\0", "\u{0}", Find, Ok("\u{0}")),
    (r"\101", "A", Find, Ok("A")),
    (r"\1010", "A0", Find, Ok("A0")),
    (r"\08", "\u{0}8", Find, Ok("\u{0}8")),
    (r"\x41", "A", Find, Ok("A")),
    (r"\x{263a}", "☺", Find, Ok("☺")),
    (r"\x{10FFFF}", "a", Find, Ok("")),
    (r"\a\f\t\n\r\v", "\u{7}\u{c}\t\n\r\u{b}", Find, Ok("\u{7}\u{c}\t\n\r\u{b}")),
    (r"\_", "_", Find, Ok("_")),
    (r"\<\>", "<>", Find, Ok("<>")),
    (r"\-", "-", Find, Ok("-")),
    (r"[\-\]]+", "-]", Find, Ok("-]")),
    (r"\1", "a", Find, Err(r"invalid escape sequence: `\1`")),
    (r"\8", "8", Find, Err(r"invalid escape sequence: `\8`")),
    (r"\u0041", "A", Find, Err(r"invalid escape sequence: `\u`")),
    (r"\N{DIGIT ONE}", "1", Find, Err(r"invalid escape sequence: `\N`")),
    (r"\C", "a", Find, Err(r"invalid escape sequence: `\C`")),
    (r"\x", "x", Find, Err(r"invalid escape sequence: `\x`")),
    (r"\xZ1", "x", Find, Err(r"invalid escape sequence: `\xZ1`")),
    (r"\xA", "x", Find, Err(r"invalid escape sequence: `\xA`")),
    (r"\x{", "x", Find, Err(r"invalid escape sequence: `\x{`")),
    (r"\x{}", "x", Find, Err(r"invalid escape sequence: `\x{}`")),
    (r"\x{110000}", "x", Find, Err(r"invalid escape sequence: `\x{110000`")),
    (r"\x{12g}", "x", Find, Err(r"invalid escape sequence: `\x{12g`")),
    (r"\é", "é", Find, Err(r"invalid escape sequence: `\é`")),
    (r"\", "", Find, Err("trailing backslash at end of expression: ``")),
    (r"a\\", r"a\", Find, Ok(r"a\")),
    (r"\z", "", Find, Ok("")),
    // Unicode classes: \p{^X}, Go's canonical names, Go's tables.
    (r"\pL+", "ab1", Find, Ok("ab")),
    (r"\p{^Lu}", "Aa", Find, Ok("a")),
    (r"\P{^Lu}", "aA", Find, Ok("A")),
    (r"\PL", "a1", Find, Ok("1")),
    (r"\p{Greek}+", "aαβ", Find, Ok("αβ")),
    (r"\p{Foo}", "a", Find, Err(r"invalid character class range: `\p{Foo}`")),
    (r"\p{Alphabetic}", "a", Find, Err(r"invalid character class range: `\p{Alphabetic}`")),
    (r"\p{L", "a", Find, Err(r"invalid character class range: `\p{L`")),
    (r"\p", "a", Find, Err(r"invalid character class range: `\p`")),
    (r"\pé", "a", Find, Err(r"invalid character class range: `\pé`")),
    (r"[\p{Foo}]", "a", Find, Err(r"invalid character class range: `\p{Foo}`")),
    (r"\p{Old_Italic}", "a", Find, Err(r"invalid character class range: `\p{Old_Italic}`")),
    (r"\p{greek}", "α", Find, Ok("α")),
    (r"\p{Letter}+", "ab1", Find, Ok("ab")),
    (r"\p{Any}", "x", Find, Ok("x")),
    (r"\p{^Any}", "x", Find, Ok("")),
    (r"[^\p{Any}]", "x", Find, Ok("")),
    (r"\p{Lc}", "a", Find, Ok("a")),
    (r"\p{ascii}+", "abé", Find, Ok("ab")),
    (r"(?i)\p{Lu}", "a", Find, Ok("a")),
    // Repeats: nesting, counts above 1000, the product of nested counts.
    ("x{2}{3}", "xxxxxx", Find, Err("invalid nested repetition operator: `{2}{3}`")),
    ("a**", "aa", Find, Err("invalid nested repetition operator: `**`")),
    ("a*?*", "a", Find, Err("invalid nested repetition operator: `*?*`")),
    ("a+?+", "a", Find, Err("invalid nested repetition operator: `+?+`")),
    ("a*{2}", "a", Find, Err("invalid nested repetition operator: `*{2}`")),
    ("(?:a*)*", "aa", Find, Ok("aa")),
    (r"a*\Q\E*", "aa", Find, Ok("aa")),
    ("a{1001}", "a", Find, Err("invalid repeat count: `{1001}`")),
    ("a{1000}", "a", Find, Ok("")),
    ("(a{2}){501}", "a", Find, Err("invalid repeat count: `{501}`")),
    ("(a{2}){500}", "a", Find, Ok("")),
    ("((a{10}){10}){11}", "a", Find, Err("invalid repeat count: `{11}`")),
    ("(a{2}b{3}){200}", "x", Find, Ok("")),
    ("x{2,1}", "x", Find, Err("invalid repeat count: `{2,1}`")),
    ("a{100000000}", "a", Find, Err("invalid repeat count: `{100000000}`")),
    ("a{0}", "a", Find, Ok("")),
    ("(a*){1000}", "b", Find, Ok("")),
    ("(?:a{0}){1001}", "a", Find, Err("invalid repeat count: `{1001}`")),
    ("a{0,1001}", "a", Find, Err("invalid repeat count: `{0,1001}`")),
    // Missing arguments and unbalanced brackets.
    ("*a", "a", Find, Err("missing argument to repetition operator: `*`")),
    ("(*a)", "a", Find, Err("missing argument to repetition operator: `*`")),
    ("a|*", "a", Find, Err("missing argument to repetition operator: `*`")),
    ("(?i)*", "a", Find, Err("missing argument to repetition operator: `*`")),
    ("^*", "a", Find, Ok("")),
    ("$+", "a", Find, Ok("")),
    (r"\b?", "a", Find, Ok("")),
    ("()*", "a", Find, Ok("")),
    ("(?:)+", "a", Find, Ok("")),
    ("(a", "a", Find, Err("missing closing ): `(a`")),
    ("a)", "a", Find, Err("unexpected ): `a)`")),
    ("(a))", "a", Find, Err("unexpected ): `(a))`")),
    ("(a|b", "a", Find, Err("missing closing ): `(a|b`")),
    ("[a", "a", Find, Err("missing closing ]: `[a`")),
    ("[", "a", Find, Err("missing closing ]: `[`")),
    ("[]", "a", Find, Err("missing closing ]: `[]`")),
    ("[^", "a", Find, Err("missing closing ]: `[^`")),
    ("x[a-", "a", Find, Err("missing closing ]: `[a-`")),
    ("[z-a]", "a", Find, Err("invalid character class range: `z-a`")),
    (r"[a-\d]", "a", Find, Err(r"invalid escape sequence: `\d`")),
    (r"[\b]", "a", Find, Err(r"invalid escape sequence: `\b`")),
    ("[[:foo:]]", "a", Find, Err("invalid character class range: `[:foo:]`")),
    ("[[:alpha:]", "a", Find, Err("missing closing ]: `[[:alpha:]`")),
    ("[[:a]b:]]", "a", Find, Err("invalid character class range: `[:a]b:]`")),
    (r"[\pN-z]", "a", Find, Ok("")),
    // Perl syntax Go lacks, and malformed groups and names.
    ("(?=a)", "a", Find, Err("invalid or unsupported Perl syntax: `(?=`")),
    ("(?!a)", "a", Find, Err("invalid or unsupported Perl syntax: `(?!`")),
    ("(?<=a)b", "ab", Find, Err("invalid named capture: `(?<=a)b`")),
    ("(?<!a)b", "ab", Find, Err("invalid named capture: `(?<!a)b`")),
    ("(?x) a b", "ab", Find, Err("invalid or unsupported Perl syntax: `(?x`")),
    (r"(?u)\w", "é", Find, Err("invalid or unsupported Perl syntax: `(?u`")),
    ("(?P=n)", "a", Find, Err("invalid or unsupported Perl syntax: `(?P`")),
    ("(?P<n>", "a", Find, Err("missing closing ): `(?P<n>`")),
    ("(?P<>a)", "a", Find, Err("invalid named capture: `(?P<>`")),
    ("(?P<a-b>x)", "x", Find, Err("invalid named capture: `(?P<a-b>`")),
    ("(?<n", "a", Find, Err("invalid named capture: `(?<n`")),
    ("(?", "a", Find, Err("invalid or unsupported Perl syntax: `(?`")),
    ("(?i", "a", Find, Err("invalid or unsupported Perl syntax: `(?i`")),
    ("(?-)", "a", Find, Err("invalid or unsupported Perl syntax: `(?-)`")),
    ("(?i-)", "a", Find, Err("invalid or unsupported Perl syntax: `(?i-)`")),
    ("(?--i)", "a", Find, Err("invalid or unsupported Perl syntax: `(?--`")),
    ("(?)a", "a", Find, Ok("a")),
    ("(?i-i:A)", "a", Find, Ok("")),
    ("(?'n'a)", "a", Find, Err("invalid or unsupported Perl syntax: `(?'`")),
    ("(?#c)", "a", Find, Err("invalid or unsupported Perl syntax: `(?#`")),
    ("(?P>n)", "a", Find, Err("invalid or unsupported Perl syntax: `(?P`")),
    // Flags: Go's simple case folding on ASCII classes, (?m) (?s) (?U), scoping.
    ("(?i)abc", "xABC", Find, Ok("ABC")),
    ("(?i)k", "K", Find, Ok("K")),
    ("(?i)s", "ſ", Find, Ok("ſ")),
    (r"(?i)\w+", "ſK", Find, Ok("ſK")),
    ("(?i)[[:upper:]]+", "abſ", Find, Ok("abſ")),
    (r"(?i)\W", "ſ", Find, Ok("")),
    (r"(?i)[^\W]", "K", Find, Ok("K")),
    ("(?i)[k]", "K", Find, Ok("K")),
    ("(?i)[^k]", "Kx", Find, Ok("x")),
    ("(?i)σ", "ς", Find, Ok("ς")),
    ("(?i:a)b", "AB", Find, Ok("")),
    ("(?i:a)b", "Ab", Find, Ok("Ab")),
    ("a(?i)b|c", "AC", Find, Ok("C")),
    ("(a(?i)b)c", "aBC", Find, Ok("")),
    ("(a(?i)b)c", "aBc", Find, Ok("aBc")),
    ("(?m)^b$", "a\nb\nc", Find, Ok("b")),
    ("^b$", "a\nb\nc", Find, Ok("")),
    ("a$", "a\n", Find, Ok("")),
    ("(?m)a$", "a\n", Find, Ok("a")),
    ("(?s).+", "a\nb", Find, Ok("a\nb")),
    (".+", "a\nb", Find, Ok("a")),
    ("(?U)a+", "aaa", Find, Ok("a")),
    ("(?U)a+?", "aaa", Find, Ok("aaa")),
    ("(?s-s).+", "a\nb", Find, Ok("a")),
    ("(?m:^x)|^y", "a\nx", Find, Ok("x")),
    (r"\Ay", "xy", Find, Ok("")),
    ("[^a]", "\n", Find, Ok("\n")),
    // Alternation and empty expressions.
    ("a|", "b", Find, Ok("")),
    ("|a", "a", Find, Ok("")),
    ("(|a)+", "aa", Find, Ok("")),
    ("", "a", Find, Ok("")),
    ("abc|abd", "xabd", Find, Ok("abd")),
    ("a|b|c", "c", Find, Ok("c")),
    // Patterns charts use.
    ("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "my-release-1", Find, Ok("my-release-1")),
    ("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "My-release", Find, Ok("")),
    (r"(?i)^v?\d+\.\d+", "V1.22.3", Find, Ok("V1.22")),
    ("[[:alnum:]]+", "--ab12--", Find, Ok("ab12")),
    (r"\.", "a.b", Find, Ok(".")),
    ("[0-9]+", "a1b22c333", FindAll, Ok(r#"["1", "22", "333"]"#)),
    (r"^(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?$", "1.2.3-rc.1", Find, Ok("1.2.3-rc.1")),
    ("[^a-zA-Z0-9-]", "my_app.v2", Replace("-"), Ok("my-app-v2")),
    (r"\s+", "a  b\tc", Replace(" "), Ok("a b c")),
    ("^https?://[^/]+", "https://example.com/x", Find, Ok("https://example.com")),
    ("[.]", "a.b", Find, Ok(".")),
    ("^[a-zA-Z0-9][a-zA-Z0-9_.-]*$", "img_1.0", Find, Ok("img_1.0")),
    (r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}", "ip 10.0.0.1", Find, Ok("10.0.0.1")),
    (r"^[-+]?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$", "1.5e3", Find, Ok("1.5e3")),
    ("(?i)Δ", "δ", Find, Ok("δ")),
    ("(?i)[Δ]", "δ", Find, Ok("δ")),
    ("(?i)ǅ+", "ǄǅǆX", Find, Ok("Ǆǅǆ")),
    ("(?i)[a-z]+", "K", Find, Ok("K")),
    ("(?i)[^a-z]", "Kx1", Find, Ok("1")),
    ("(?i)[^[:lower:]]", "ſ1", Find, Ok("1")),
    (r"[\x{D800}-\x{E000}]", "\u{e000}", Find, Ok("\u{e000}")),
    (r"\x{D800}", "x", Find, Ok("")),
    (r"[^\x{D800}]", "a", Find, Ok("a")),
    (r"(?i)\p{Greek}", "µ", Find, Ok("µ")),
    (r"(?i)\P{Greek}", "µa", Find, Ok("a")),
    ("(?U)a*?", "aaa", Find, Ok("aaa")),
    ("(?U)(?-U)a+", "aaa", Find, Ok("aaa")),
    (r"\pN{2}", "a½٣", Find, Ok("½٣")),
    (r"\p{Nd}+", "٣4x", Find, Ok("٣4")),
    ("(?i)(?-i)a", "A", Find, Ok("")),
    (r"\Q\E", "a", Find, Ok("")),
    (r"a\Q", "a", Find, Ok("a")),
    (r"\E", "E", Find, Err(r"invalid escape sequence: `\E`")),
    ("a{2}*", "aa", Find, Err("invalid nested repetition operator: `{2}*`")),
    ("a{2}?*", "aa", Find, Err("invalid nested repetition operator: `{2}?*`")),
    ("a{1000}{1}", "a", Find, Err("invalid nested repetition operator: `{1000}{1}`")),
    ("(a{1000}){1}", "b", Find, Ok("")),
    ("(a{1000})*", "b", Find, Ok("")),
    ("((?:a{10}|b){10}){10}", "b", Find, Ok("")),
    ("((?:a{10}|b){10}){11}", "b", Find, Err("invalid repeat count: `{11}`")),
    ("$$", "", Find, Ok("")),
    ("^^a", "a", Find, Ok("a")),
    (r"\b", "foo_bar baz", FindAll, Ok(r#"["", "", "", ""]"#)),
    (".", "\r", Find, Ok("\r")),
    (r"[\Q]\E]", "]", Find, Err(r"invalid escape sequence: `\Q`")),
    ("[[:^space:]]+", " ab ", Find, Ok("ab")),
    ("[^[:space:]]+", " ab ", Find, Ok("ab")),
    (r"\pZ", "\u{2003}", Find, Ok("\u{2003}")),
    ("(?i)[[:^lower:]]", "Kk1", Find, Ok("1")),
    (r"(?i)[\D]", "1a", Find, Ok("a")),
    ("(a)|(b)", "b", Replace("[$1|$2]"), Ok("[|b]")),
    ("(a)", "a", Replace("$10|${10}|$1_|${1}_"), Ok("|||a_")),
    ("(?P<x>a)(?P<x>b)", "ab", Replace("${x}"), Ok("a")),
    ("(?P<x>a)?(?P<x>b)", "b", Replace("${x}"), Ok("b")),
    ("(?P<123456789>a)", "a", Replace("${123456789}|$1"), Ok("|a")),
    ("(a)", "a", Replace("${1234567890}|$0"), Ok("|a")),
    ("x*", "abc", Replace("-"), Ok("-a-b-c-")),
    ("(?i)A", "aAa", Replace("$0$0"), Ok("aaAAaa")),
    ("a|", "bab", Replace("-"), Ok("-b-b-")),
    (r"[\x{41}-\x{5A}]+", "aBC", Find, Ok("BC")),
    (r"[\101-\132]+", "aBC", Find, Ok("BC")),
    (r"[\n]", "\n", Find, Ok("\n")),
    (r"[\a-\t]+", "\u{8}\t", Find, Ok("\u{8}\t")),
    (r"\x{0}", "\u{0}", Find, Ok("\u{0}")),
    (r"[\x00-\x{10FFFF}]", "é", Find, Ok("é")),
    ("(?i)ß", "ẞ", Find, Ok("ẞ")),
    ("(?i)ſ", "S", Find, Ok("S")),
    ("(?i)[ſ]", "s", Find, Ok("s")),
    ("(?i)[^ſ]", "sx", Find, Ok("x")),
    (r"(?i)\x{212A}", "k", Find, Ok("k")),
    ("(?i:[[:ascii:]])", "K", Find, Ok("K")),
    ("[[:upper:]-z]", "-", Find, Ok("-")),
    ("[a-[:upper:]]", "b", Find, Err("invalid character class range: `a-[`")),
    (r"[\w-z]", "-", Find, Ok("-")),
    (r"[z-\x{7A}]", "z", Find, Ok("z")),
    ("[--/]", ".", Find, Ok(".")),
    ("[a--]", "a", Find, Err("invalid character class range: `a--`")),
    ("x{1001,}", "x", Find, Err("invalid repeat count: `{1001,}`")),
    ("x{2,1001}", "x", Find, Err("invalid repeat count: `{2,1001}`")),
    ("x{1000,1000}", "x", Find, Ok("")),
    ("(?:(?:x{20}){20}){3}", "x", Find, Err("invalid repeat count: `{3}`")),
    ("(x{20}|y{50}){20}", "x", Find, Ok("")),
    ("(x{20}|y{51}){20}", "x", Find, Err("invalid repeat count: `{20}`")),
    (r"\P{^Any}", "x", Find, Ok("x")),
    (r"[\P{Lu}]", "A", Find, Ok("")),
    (r"[^\P{Lu}]", "aA", Find, Ok("A")),
    (r"\p{ L u }", "A", Find, Ok("A")),
    (r"\p{L-u}", "A", Find, Ok("A")),
    (r"\p{Cased_Letter}+", "aB1", Find, Ok("aB")),
    (r"\p{Assigned}", "\u{378}a", Find, Ok("a")),
    ("(?P<n>a)(?P<n>b)(?P<n>c)", "abc", Find, Ok("abc")),
    ("(?P<a.b>x)", "x", Find, Err("invalid named capture: `(?P<a.b>`")),
    ("(?P<ü>x)", "x", Find, Err("invalid named capture: `(?P<ü>`")),
    ("(?<a>x)(?P<a>y)", "xy", Find, Ok("xy")),
];

fn run(pattern: &str, input: &str, call: &Call) -> Result<String, String> {
    let re = compile(pattern).map_err(|e| e.to_string())?;
    Ok(match call {
        Find => re
            .regex
            .find(input)
            .map(|m| m.as_str())
            .unwrap_or("")
            .to_string(),
        FindAll => format!(
            "{:?}",
            re.regex
                .find_iter(input)
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
        ),
        Replace(template) => re.replace_all(input, template),
    })
}

#[test]
fn matches_and_errors_follow_go() {
    let mut failures = Vec::new();
    for (pattern, input, call, want) in CASES {
        let want = want
            .map(str::to_string)
            .map_err(|e| format!("error parsing regexp: {e}"));
        let got = run(pattern, input, call);
        if got != want {
            failures.push(format!(
                "{pattern:?} on {input:?}: want {want:?}, got {got:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

/// Go limits the parsed tree to 1000 levels: 1001 nested captures are too
/// deep, while non-capturing groups leave no level of their own.
#[test]
fn nesting_follows_go() {
    let nest =
        |open: &str, close: &str, n: usize| format!("{}a{}", open.repeat(n), close.repeat(n));
    let too_deep = nest("(", ")", 1001);
    let want = Err(format!(
        "error parsing regexp: expression nests too deeply: `{too_deep}`"
    ));
    assert_eq!(run(&too_deep, "a", &Find), want);
    for pattern in [
        nest("(", ")", 999),
        nest("(?:", ")", 1500),
        nest("(?:", ")*", 600),
    ] {
        assert_eq!(run(&pattern, "a", &Find), Ok("a".to_string()), "{pattern}");
    }
}
