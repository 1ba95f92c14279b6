//! RFC 8414 metadata and OpenID discovery: consistent with the endpoints and the tokens.

use serde_json::Value;

use super::{ClientAuth, claims_of, password_grant, post_form};
use crate::helpers::TestApp;
use crate::on_all_setups;

async fn metadata_names_the_issuer_of_the_tokens_and_working_endpoints(app: TestApp) {
    app.signup("ann@example.com").await;
    let grant = password_grant(&app, "ann@example.com", &[]).await;
    let iss = claims_of(grant["access_token"].as_str().unwrap())["iss"].clone();
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let r = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let doc: Value = r.json().await.unwrap();
        assert_eq!(doc["issuer"], iss, "{path}: issuer equals the tokens' iss");
        let issuer = iss.as_str().unwrap();
        for (field, route) in [
            ("token_endpoint", "/oauth2/token"),
            ("revocation_endpoint", "/oauth2/revoke"),
            ("introspection_endpoint", "/oauth2/introspect"),
            ("jwks_uri", "/.well-known/jwks.json"),
        ] {
            assert_eq!(doc[field], format!("{issuer}{route}"), "{path}: {field}");
            // Every advertised endpoint exists here (the issuer is the public base URL).
            let r = if field == "jwks_uri" {
                app.client.get(app.url(route)).send().await.unwrap()
            } else {
                post_form(&app, route, ClientAuth::None, &[]).await
            };
            assert_ne!(r.status(), 404, "{path}: {field} is routed");
        }
        let grants: Vec<&str> = doc["grant_types_supported"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g.as_str().unwrap())
            .collect();
        assert_eq!(
            grants,
            ["password", "refresh_token", "client_credentials"],
            "{path}"
        );
        let methods = &doc["token_endpoint_auth_methods_supported"];
        assert!(
            methods
                .as_array()
                .unwrap()
                .contains(&"client_secret_basic".into()),
            "{path}"
        );
        assert_eq!(
            doc["scopes_supported"].as_array().unwrap().len(),
            crate::helpers::TEST_SCOPES.len(),
            "{path}"
        );
    }
}
on_all_setups!(metadata_names_the_issuer_of_the_tokens_and_working_endpoints);
