//! The TLS trust anchors of the Zoom client and of the AWS SDK's client
//! ([`crate::aws_http`]), ready when the clients are built.
//!
//! Mozilla's root certificates compiled into the binary (`webpki-roots`, already
//! in trust-anchor form), not the OS store. reqwest's default verifier
//! (rustls-platform-verifier) reads and parses the OS store while the client is
//! built: the bundle file and every file of the certificate directory
//! (`/etc/ssl/certs`, about 290 entries on Debian). That was most of every
//! function's init (invite 6.4 ms against the floor's 1.2 ms
//! spawn → first `/next`; 4.1 ms with these anchors). Loading it
//! lazily instead would only move the cost to the first request; compiled-in
//! anchors cost a copy of about 150 small structs.
//!
//! With `SSL_CERT_FILE` or `SSL_CERT_DIR` set (the OpenSSL convention, e.g. an
//! operator running kitchenctl behind a TLS-inspecting proxy), the OS verifier
//! reads the named store after all, as reqwest does by default.

use std::sync::Arc;

/// Variables that name a trust store; either one set selects the OS verifier.
pub const STORE_VARIABLES: [&str; 2] = ["SSL_CERT_FILE", "SSL_CERT_DIR"];

/// `builder` with the Zoom client's trust anchors (see the module doc).
pub fn with_roots(builder: reqwest::ClientBuilder) -> Result<reqwest::ClientBuilder, String> {
    if STORE_VARIABLES
        .iter()
        .any(|v| std::env::var_os(v).is_some())
    {
        return Ok(builder);
    }
    Ok(builder.tls_backend_preconfigured(bundled_roots_config()?))
}

/// A rustls client configuration trusting Mozilla's roots as compiled in, with
/// the crypto provider and protocol versions reqwest would choose (aws-lc-rs,
/// TLS 1.2 and 1.3) and HTTP/1.1 offered by ALPN, as reqwest offers it.
pub fn bundled_roots_config() -> Result<rustls::ClientConfig, String> {
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    let roots: rustls::RootCertStore = webpki_roots::TLS_SERVER_ROOTS.iter().cloned().collect();
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS configuration: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_roots_are_mozillas() {
        let config = bundled_roots_config().unwrap();
        assert_eq!(config.alpn_protocols, [b"http/1.1".to_vec()]);
        // Mozilla's program has well over a hundred roots; an empty or
        // truncated store would fail every handshake.
        assert!(webpki_roots::TLS_SERVER_ROOTS.len() > 100);
        let client = with_roots(reqwest::Client::builder()).unwrap().build();
        assert!(client.is_ok(), "{:?}", client.err());
    }
}
