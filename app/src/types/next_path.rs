//! Where to go after signing in: a path on this site, decided the same way by the server (which
//! carries it through an external sign-in) and by the browser (which follows it).

/// `next` if a browser would read it as a path on this site, and no other origin. Browsers
/// take `\` for `/` and drop tabs and line breaks anywhere in a URL, so `/\evil.example` and
/// `/<tab>/evil.example` both name another host: any backslash or control character is refused,
/// and so is a second leading slash.
pub fn same_site(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && next.len() <= 512
        && !next.chars().any(|c| c == '\\' || c.is_control());
    ok.then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_on_this_site_pass() {
        for good in ["/", "/keys", "/usage?model=a%2Fb", "/a/b#c"] {
            assert_eq!(same_site(good), Some(good), "{good}");
        }
        for bad in [
            "",
            "keys",
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r//evil.example",
            "/a\\b",
            "/\u{7f}",
        ] {
            assert_eq!(same_site(bad), None, "{bad:?}");
        }
        assert_eq!(same_site(&format!("/{}", "a".repeat(600))), None);
    }
}
