//! TLS (rustls + ring, no OpenSSL) for the libpq sslmodes and the actual connect step:
//! [`crate::pg::conninfo::ConnSpec`] → `tokio_postgres::Config` + rustls verifier → a `Client`
//! whose connection future runs on its own task. Used by the collector and batch mode.

use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::Client;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::conninfo::{ConnInfoError, ConnSpec, SslMode};

/// Why a connection attempt failed; `Display` names the effective conninfo (never the password).
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("{0}")]
    Config(#[from] ConnInfoError),
    #[error("connection to {target} failed: {detail}")]
    Db {
        target: String,
        /// the error and its causes, e.g. "error performing TLS handshake: invalid peer certificate: UnknownIssuer"
        detail: String,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("connection to {target} timed out after {secs} s")]
    Timeout { target: String, secs: u64 },
}

/// An error with its chain of causes on one line.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !out.contains(&t) {
            out.push_str(": ");
            out.push_str(&t);
        }
        cur = c.source();
    }
    out
}

impl ConnectError {
    fn db(target: String, source: tokio_postgres::Error) -> Self {
        ConnectError::Db {
            target,
            detail: error_chain(&source),
            source,
        }
    }

    /// SQLSTATE of a server-side refusal (e.g. 28P01 bad password), when there is one.
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            ConnectError::Db { source, .. } => source.code().map(|c| c.code()),
            _ => None,
        }
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn load_roots(spec: &ConnSpec) -> Result<RootCertStore, ConnInfoError> {
    let mut roots = RootCertStore::empty();
    let path = match spec.sslrootcert.as_deref() {
        Some("system") => {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            return Ok(roots);
        }
        Some(p) => std::path::PathBuf::from(p),
        None => dirs::home_dir()
            .map(|h| h.join(".postgresql/root.crt"))
            .ok_or_else(|| ConnInfoError::Tls("no home directory for root.crt".into()))?,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&path)
        .map_err(|e| {
            ConnInfoError::Tls(format!(
                "root certificate file \"{}\" cannot be read: {e}",
                path.display()
            ))
        })?
        .collect::<Result<_, _>>()
        .map_err(|e| ConnInfoError::Tls(format!("{}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(ConnInfoError::Tls(format!(
            "no certificates in \"{}\"",
            path.display()
        )));
    }
    for c in certs {
        roots
            .add(c)
            .map_err(|e| ConnInfoError::Tls(format!("{}: {e}", path.display())))?;
    }
    Ok(roots)
}

/// sslmode=prefer/require without a root certificate: encrypt, verify signatures, trust any cert.
#[derive(Debug)]
struct NoVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// sslmode=verify-ca: the chain must lead to the root, the host name is not checked.
#[derive(Debug)]
struct VerifyCa(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for VerifyCa {
    fn verify_server_cert(
        &self,
        end: &CertificateDer<'_>,
        inter: &[CertificateDer<'_>],
        name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end, inter, name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(m, c, d)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(m, c, d)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// Builds the rustls connector for the spec's sslmode (libpq: `require` with an explicit
/// `sslrootcert` behaves like `verify-ca`).
pub fn make_tls(spec: &ConnSpec) -> Result<MakeRustlsConnect, ConnInfoError> {
    let prov = provider();
    let builder = rustls::ClientConfig::builder_with_provider(prov.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ConnInfoError::Tls(e.to_string()))?;
    let mode = match spec.sslmode {
        SslMode::Require if spec.sslrootcert.is_some() => SslMode::VerifyCa,
        m => m,
    };
    let wants = match mode {
        SslMode::VerifyFull => {
            let roots = load_roots(spec)?;
            builder.with_root_certificates(roots)
        }
        SslMode::VerifyCa => {
            let roots = load_roots(spec)?;
            let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), prov)
                .build()
                .map_err(|e| ConnInfoError::Tls(e.to_string()))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(VerifyCa(inner)))
        }
        _ => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(prov))),
    };
    let config = match (&spec.sslcert, &spec.sslkey) {
        (Some(cert), Some(key)) => {
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
                .and_then(|it| it.collect::<Result<_, _>>())
                .map_err(|e| ConnInfoError::Tls(format!("{}: {e}", cert.display())))?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| ConnInfoError::Tls(format!("{}: {e}", key.display())))?;
            wants
                .with_client_auth_cert(chain, key)
                .map_err(|e| ConnInfoError::Tls(e.to_string()))?
        }
        (None, None) => wants.with_no_client_auth(),
        _ => {
            return Err(ConnInfoError::Tls(
                "sslcert and sslkey must be given together".into(),
            ))
        }
    };
    Ok(MakeRustlsConnect::new(config))
}

/// The `tokio_postgres::Config` for a spec.
pub fn pg_config(spec: &ConnSpec, application_name: &str) -> tokio_postgres::Config {
    use tokio_postgres::config::SslMode as TpSsl;
    let mut c = tokio_postgres::Config::new();
    for h in &spec.hosts {
        if h.is_socket() {
            c.host_path(&h.host);
        } else {
            c.host(&h.host);
        }
        if let Some(a) = h.hostaddr {
            c.hostaddr(a);
        }
        c.port(h.port);
    }
    c.user(&spec.user).dbname(&spec.dbname);
    c.application_name(application_name);
    if let Some(p) = &spec.password {
        c.password(p.expose());
    }
    if let Some(o) = &spec.options {
        c.options(o);
    }
    c.connect_timeout(spec.connect_timeout.unwrap_or(Duration::from_secs(10)));
    // a silent network partition is noticed by the kernel too, not only by our timeouts
    c.keepalives(true);
    c.keepalives_idle(Duration::from_secs(30));
    let all_sockets = spec.hosts.iter().all(|h| h.is_socket());
    c.ssl_mode(match spec.sslmode {
        _ if all_sockets => TpSsl::Disable,
        SslMode::Disable => TpSsl::Disable,
        SslMode::Allow | SslMode::Prefer => TpSsl::Prefer,
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => TpSsl::Require,
    });
    c
}

/// Opens one connection, spawns its driver task, and sets `statement_timeout` on the session.
pub async fn connect(
    spec: &ConnSpec,
    application_name: &str,
    statement_timeout: Duration,
) -> Result<(Client, tokio::task::JoinHandle<()>), ConnectError> {
    let tls = make_tls(spec)?;
    let cfg = pg_config(spec, application_name);
    let target = spec.to_string();
    let limit = spec.connect_timeout.unwrap_or(Duration::from_secs(10)) * 2;
    let (client, conn) = match tokio::time::timeout(limit, cfg.connect(tls)).await {
        Ok(Ok(pair)) => pair,
        Ok(Err(source)) => return Err(ConnectError::db(target, source)),
        Err(_) => {
            return Err(ConnectError::Timeout {
                target,
                secs: limit.as_secs(),
            })
        }
    };
    let handle = tokio::spawn(async move {
        let _ = conn.await;
    });
    let ms = statement_timeout.as_millis().max(1);
    if let Err(source) = client
        .batch_execute(&format!("SET statement_timeout = {ms}"))
        .await
    {
        handle.abort();
        return Err(ConnectError::db(target, source));
    }
    Ok((client, handle))
}
