//! Access tokens: short-lived HS256 JWTs. Only HS256 is accepted, whatever the token's header
//! says, so `alg: none` and algorithm-confusion tokens are refused.

use std::time::Duration;

use chrono::Utc;
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode, errors::ErrorKind,
};
use serde::{Deserialize, Serialize};

use crate::server::{CoreError, secrets::JwtSecret};

const ISSUER: &str = "portcullis";
const TYPE: &str = "access";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    /// The user id.
    sub: String,
    /// The user's token version when issued; bumping it revokes the token.
    ver: i64,
    /// The sign-in session (refresh family) the token belongs to.
    fam: String,
    /// Always `access`: nothing else we sign may pass for an access token.
    typ: String,
    iat: i64,
    exp: i64,
    jti: String,
}

/// A signed access token and its lifetime in seconds.
pub struct Issued {
    pub token: String,
    pub expires_in: u64,
}

pub fn issue(
    secret: &JwtSecret,
    user_id: &str,
    token_version: i64,
    family_id: &str,
    ttl: Duration,
) -> Result<Issued, CoreError> {
    let now = Utc::now().timestamp();
    let ttl_secs = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
    let claims = Claims {
        iss: ISSUER.to_owned(),
        sub: user_id.to_owned(),
        ver: token_version,
        fam: family_id.to_owned(),
        typ: TYPE.to_owned(),
        iat: now,
        exp: now.saturating_add(ttl_secs),
        jti: uuid::Uuid::now_v7().simple().to_string(),
    };
    let token = encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.expose()),
    )
    .map_err(|e| CoreError::Internal(format!("cannot sign an access token: {e}")))?;
    Ok(Issued {
        token,
        expires_in: ttl.as_secs(),
    })
}

/// What a valid access token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub user_id: String,
    pub token_version: i64,
    pub family_id: String,
}

/// Checks signature, algorithm, issuer, type and expiry (no leeway: tokens are short anyway).
pub fn verify(secret: &JwtSecret, token: &str) -> Result<Verified, CoreError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    validation.set_issuer(&[ISSUER]);
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    let data = decode::<Claims>(
        token,
        &DecodingKey::from_secret(secret.expose()),
        &validation,
    )
    .map_err(|e| match e.kind() {
        ErrorKind::ExpiredSignature => CoreError::TokenExpired,
        _ => CoreError::Unauthenticated,
    })?;
    if data.claims.typ != TYPE {
        return Err(CoreError::Unauthenticated);
    }
    Ok(Verified {
        user_id: data.claims.sub,
        token_version: data.claims.ver,
        family_id: data.claims.fam,
    })
}

#[cfg(test)]
mod tests {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    use secrecy::SecretString;

    use super::*;

    fn secret(s: &str) -> JwtSecret {
        JwtSecret::parse(&SecretString::from(s.repeat(40))).unwrap()
    }

    #[test]
    fn a_token_verifies_with_its_own_secret_only() {
        let issued = issue(&secret("a"), "u1", 3, "f1", Duration::from_secs(60)).unwrap();
        assert_eq!(issued.expires_in, 60);
        let v = verify(&secret("a"), &issued.token).unwrap();
        assert_eq!(
            v,
            Verified {
                user_id: "u1".into(),
                token_version: 3,
                family_id: "f1".into()
            }
        );
        assert!(matches!(
            verify(&secret("b"), &issued.token),
            Err(CoreError::Unauthenticated)
        ));
    }

    #[test]
    fn expired_tokens_say_so() {
        let issued = issue(&secret("a"), "u1", 0, "f1", Duration::ZERO).unwrap();
        std::thread::sleep(Duration::from_millis(1100));
        assert!(matches!(
            verify(&secret("a"), &issued.token),
            Err(CoreError::TokenExpired)
        ));
    }

    #[test]
    fn unsigned_and_malformed_tokens_are_refused() {
        let issued = issue(&secret("a"), "u1", 0, "f1", Duration::from_secs(60)).unwrap();
        let payload = issued.token.split('.').nth(1).unwrap();
        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        for forged in [
            format!("{none_header}.{payload}."),
            format!("{none_header}.{payload}"),
            "x.y.z".into(),
            String::new(),
        ] {
            assert!(
                matches!(
                    verify(&secret("a"), &forged),
                    Err(CoreError::Unauthenticated)
                ),
                "{forged}"
            );
        }
    }
}
