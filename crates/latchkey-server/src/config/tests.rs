use super::*;

#[test]
fn durations_accept_the_documented_forms() {
    for (text, secs) in [
        ("15m", 900),
        ("4s", 4),
        ("7d", 604_800),
        ("90", 90),
        ("1h 30m", 5400),
    ] {
        assert_eq!(
            durations::parse(text).unwrap(),
            Duration::from_secs(secs),
            "{text}"
        );
    }
    assert!(durations::parse("soon").is_err());
}

#[test]
fn file_then_flags_override_defaults() {
    let dir = std::env::temp_dir().join(format!("lk-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("latchkey.toml");
    std::fs::write(
        &file,
        "access_token_ttl = \"5m\"\nrefresh_reuse_grace = 30\ndefault_scopes = [\"a:read\"]\nscopes = [\"a:read\", \"a:write\"]\nforward_headers = \"envoy\"\nbind = \"127.0.0.1:9000\"\n",
    )
    .unwrap();
    let flags = Overrides {
        bind: Some("127.0.0.1:9100".parse().unwrap()),
        data_dir: None,
    };
    let c = Config::load(Some(&file), &flags).unwrap();
    assert_eq!(c.access_token_ttl, Duration::from_secs(300));
    assert_eq!(c.refresh_reuse_grace, Duration::from_secs(30));
    assert_eq!(c.default_scopes, vec!["a:read"]);
    assert_eq!(c.scopes, vec!["a:read", "a:write"]);
    assert_eq!(c.forward_headers, ForwardHeaders::Envoy);
    std::fs::write(&file, "forward_headers = \"any\"\n").unwrap();
    let e = Config::load(Some(&file), &Overrides::default()).unwrap_err();
    assert!(e.to_string().contains("forward_headers"), "{e}");
    assert_eq!(c.bind.port(), 9100);
    assert_eq!(c.issuer(), "http://127.0.0.1:9100");
}

#[test]
fn default_scopes_outside_the_catalogue_are_refused() {
    let c = Config {
        default_scopes: vec!["orders:read".into()],
        ..Config::default()
    };
    let e = c.validate().unwrap_err().to_string();
    assert!(e.contains("orders:read"), "{e}");
    let c = Config {
        scopes: vec!["orders:read".into()],
        ..c
    };
    assert!(c.validate().is_ok());
}

#[test]
fn cors_origins_must_be_plain_origins() {
    let ok = Config {
        cors_origins: vec![
            "https://app.example.com".into(),
            "http://localhost:3000".into(),
        ],
        ..Config::default()
    };
    assert!(ok.validate().is_ok());
    for bad in [
        "*",
        "https://app.example.com/",
        "app.example.com",
        "https://*.example.com",
    ] {
        let c = Config {
            cors_origins: vec![bad.into()],
            ..Config::default()
        };
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("cors_origins"), "{bad}: {e}");
    }
}

#[test]
fn grace_over_the_cap_is_refused() {
    let c = Config {
        refresh_reuse_grace: Duration::from_secs(301),
        ..Config::default()
    };
    assert!(c.validate().is_err());
}

#[test]
fn audit_retention_is_zero_or_at_least_an_hour() {
    for (secs, ok) in [
        (0, true),
        (59 * 60, false),
        (3600, true),
        (90 * 86400, true),
    ] {
        let c = Config {
            audit_retention: Duration::from_secs(secs),
            ..Config::default()
        };
        assert_eq!(c.validate().is_ok(), ok, "{secs}s");
    }
}

#[test]
fn trusted_proxies_take_networks_and_addresses() {
    let c = Config {
        trusted_proxies: vec![
            "10.0.0.0/8".into(),
            "2001:db8::/32".into(),
            "192.0.2.7".into(),
        ],
        ..Config::default()
    };
    let nets = c.trusted_proxy_networks().unwrap();
    assert_eq!(nets.len(), 3);
    assert!(nets[2].contains(&"192.0.2.7".parse::<std::net::IpAddr>().unwrap()));
    let bad = Config {
        trusted_proxies: vec!["10.0.0.0/33".into()],
        ..Config::default()
    };
    assert!(bad.validate().is_err());
}

#[test]
fn the_old_proxy_switch_is_refused_with_its_replacement_named() {
    let dir = std::env::temp_dir().join(format!("lk-config-proxy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("latchkey.toml");
    std::fs::write(&file, "trust_proxy_headers = true\n").unwrap();
    let err = Config::load(Some(&file), &Overrides::default())
        .err()
        .unwrap();
    assert!(err.to_string().contains("trusted_proxies"), "{err}");
    std::fs::write(&file, "trusted_proxies = [\"10.0.0.0/8\"]\n").unwrap();
    let c = Config::load(Some(&file), &Overrides::default()).unwrap();
    assert_eq!(c.trusted_proxy_networks().unwrap().len(), 1);
}

#[test]
fn debug_redacts_the_database_password() {
    let c = Config {
        database_url: Some("postgres://u:hunter2@db/x".into()),
        master_key: Some("c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=".into()),
        ..Config::default()
    };
    assert!(!format!("{c:?}").contains("hunter2"));
    assert!(!format!("{c:?}").contains("c2VjcmV0"));
}

#[test]
fn master_key_comes_from_the_value_or_the_file_not_both() {
    let b64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let file = std::env::temp_dir().join(format!("lk-master-{}", std::process::id()));
    std::fs::write(&file, format!("{b64}\n")).unwrap();
    let from_value = Config {
        master_key: Some(b64.into()),
        ..Config::default()
    };
    let from_file = Config {
        master_key_file: Some(file.clone()),
        ..Config::default()
    };
    let sealed = from_value.master_key().unwrap().unwrap().seal("v", "x");
    let opened = from_file.master_key().unwrap().unwrap().open(&sealed, "x");
    assert_eq!(opened.unwrap(), "v");
    assert!(Config::default().master_key().unwrap().is_none());
    let both = Config {
        master_key: Some(b64.into()),
        master_key_file: Some(file.clone()),
        ..Config::default()
    };
    assert!(
        both.master_key()
            .unwrap_err()
            .to_string()
            .contains("not both")
    );
    let missing = Config {
        master_key_file: Some(file.join("nope")),
        ..Config::default()
    };
    assert!(missing.master_key().is_err());
    std::fs::remove_file(file).unwrap();
}

#[test]
fn default_settings_are_the_domains_defaults() {
    let from_config = Config::default().settings();
    let from_core = latchkey_core::Settings::for_issuer("http://127.0.0.1:8080");
    assert_eq!(format!("{from_config:?}"), format!("{from_core:?}"));
}
