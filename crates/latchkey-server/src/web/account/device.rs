//! Names a device from its user agent ("Chrome on macOS") for the sessions page. A small
//! table of well-known tokens, not a full parser: the name only helps a person recognise
//! their own devices, so an unknown agent is simply "unknown", never a guess.

/// What a user agent says about the browser and the operating system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Device {
    pub browser: Option<&'static str>,
    pub os: Option<&'static str>,
}

/// Browsers, most specific first: Edge, Opera and Samsung Internet also say "Chrome", Chrome
/// also says "Safari", and iOS browsers name themselves with their own token.
const BROWSERS: &[(&str, &str)] = &[
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("EdgiOS/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Vivaldi/", "Vivaldi"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("HeadlessChrome/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
];

/// Programs that call the API rather than browse: named so a session from a script is
/// recognisable too.
const CLIENTS: &[(&str, &str)] = &[
    ("curl/", "curl"),
    ("python-requests/", "Python"),
    ("node", "Node.js"),
    ("okhttp/", "OkHttp"),
    ("latchkey-", "Latchkey SDK"),
];

/// Systems, most specific first: Android says "Linux", iOS says "like Mac OS X".
const SYSTEMS: &[(&str, &str)] = &[
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Macintosh", "macOS"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
];

impl Device {
    pub fn from_user_agent(ua: &str) -> Device {
        let find = |table: &[(&str, &'static str)]| {
            table
                .iter()
                .find(|(token, _)| ua.contains(token))
                .map(|(_, name)| *name)
        };
        let browser = find(BROWSERS)
            // Only a real browser says "Mozilla/"; otherwise look for a known program.
            .filter(|_| ua.starts_with("Mozilla/"))
            .or_else(|| find(CLIENTS));
        Device {
            browser,
            os: find(SYSTEMS),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(ua: &str) -> (Option<&'static str>, Option<&'static str>) {
        let d = Device::from_user_agent(ua);
        (d.browser, d.os)
    }

    #[test]
    fn names_common_browsers_and_systems() {
        let cases = [
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                (Some("Chrome"), Some("macOS")),
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
                (Some("Edge"), Some("Windows")),
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
                (Some("Firefox"), Some("Linux")),
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                (Some("Safari"), Some("iOS")),
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
                (Some("Chrome"), Some("iOS")),
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
                (Some("Chrome"), Some("Android")),
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
                (Some("Samsung Internet"), Some("Android")),
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0",
                (Some("Opera"), Some("Windows")),
            ),
            (
                "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                (Some("Chrome"), Some("ChromeOS")),
            ),
            (
                "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                (Some("Safari"), Some("iPadOS")),
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
                (Some("Chrome"), Some("Linux")),
            ),
        ];
        for (ua, want) in cases {
            assert_eq!(name(ua), want, "{ua}");
        }
    }

    #[test]
    fn names_programs_that_are_not_browsers() {
        assert_eq!(name("curl/8.5.0"), (Some("curl"), None));
        assert_eq!(name("python-requests/2.32.3"), (Some("Python"), None));
        assert_eq!(name("node"), (Some("Node.js"), None));
        assert_eq!(name("latchkey-client/0.1.0"), (Some("Latchkey SDK"), None));
    }

    #[test]
    fn an_unknown_or_empty_agent_names_nothing() {
        assert_eq!(name(""), (None, None));
        assert_eq!(name("something/1.0"), (None, None));
        // A browser token without "Mozilla/" is not trusted as a browser.
        assert_eq!(name("Chrome/131 (Windows)"), (None, Some("Windows")));
    }
}
