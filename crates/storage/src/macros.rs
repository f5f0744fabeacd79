/// Runs `$body` against whichever backend `$ex` holds. The body is written once and compiled
/// twice, so inside each arm `$c` is a concretely typed `&mut SqliteConnection` or
/// `&mut PgConnection` and sqlx's native encodings apply (UUID as BLOB or `uuid`, bool as
/// 0/1 or `boolean`). The body must produce the same type in both arms: `FromRow` structs,
/// scalars, or `rows_affected()`.
macro_rules! on {
    ($ex:expr, $c:ident => $body:expr) => {
        match $ex {
            $crate::db::Ex::Sqlite($c) => $body,
            $crate::db::Ex::Pg($c) => $body,
        }
    };
}
