//! Text columns decoded lossily: a query text or a name from a database in another encoding
//! (or not valid UTF-8 at all) must never fail a refresh. Used by the refresh reader
//! ([`super::activity`]) and the lock reader ([`super::locks`]).

use tokio_postgres::types::{FromSql, Type};
use tokio_postgres::Row;

/// Text decoded lossily (query text from a database in another encoding must never fail a refresh).
pub(super) struct Lossy(pub(super) String);

impl<'a> FromSql<'a> for Lossy {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Lossy(String::from_utf8_lossy(raw).into_owned()))
    }
    fn accepts(ty: &Type) -> bool {
        matches!(
            *ty,
            Type::TEXT | Type::VARCHAR | Type::NAME | Type::BPCHAR | Type::UNKNOWN
        )
    }
}

/// Text borrowed from the row when it is valid UTF-8 (lossily decoded otherwise), for values
/// only looked at, never kept (the state word).
pub(super) struct LossyRef<'a>(pub(super) std::borrow::Cow<'a, str>);

impl<'a> FromSql<'a> for LossyRef<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(LossyRef(String::from_utf8_lossy(raw)))
    }
    fn accepts(ty: &Type) -> bool {
        Lossy::accepts(ty)
    }
}

/// A nullable text column, lossily decoded.
pub(super) fn opt_text(row: &Row, i: usize) -> Result<Option<String>, tokio_postgres::Error> {
    Ok(row.try_get::<_, Option<Lossy>>(i)?.map(|l| l.0))
}
