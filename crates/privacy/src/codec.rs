//! Database codecs: a `Sealed<T>` is stored as its envelope bytes and a `BlindIndex` as its
//! 16 bytes, on any engine that stores byte strings. This is what lets storage row types name
//! `Sealed<String>` instead of `Vec<u8>`, so that a plaintext value cannot be bound by mistake.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Type};

use crate::blind::BlindIndex;
use crate::sealed::Sealed;

impl<T, DB: Database> Type<DB> for Sealed<T>
where
    Vec<u8>: Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <Vec<u8> as Type<DB>>::type_info()
    }
    fn compatible(ty: &DB::TypeInfo) -> bool {
        <Vec<u8> as Type<DB>>::compatible(ty)
    }
}

impl<'r, T, DB: Database> Decode<'r, DB> for Sealed<T>
where
    Vec<u8>: Decode<'r, DB>,
{
    fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Self::from_stored(<Vec<u8> as Decode<'r, DB>>::decode(value)?))
    }
}

impl<'q, T, DB: Database> Encode<'q, DB> for Sealed<T>
where
    Vec<u8>: Encode<'q, DB>,
{
    fn encode_by_ref(&self, buf: &mut <DB as Database>::ArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <Vec<u8> as Encode<'q, DB>>::encode_by_ref(&self.as_bytes().to_vec(), buf)
    }
}

impl<DB: Database> Type<DB> for BlindIndex
where
    Vec<u8>: Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <Vec<u8> as Type<DB>>::type_info()
    }
    fn compatible(ty: &DB::TypeInfo) -> bool {
        <Vec<u8> as Type<DB>>::compatible(ty)
    }
}

impl<'r, DB: Database> Decode<'r, DB> for BlindIndex
where
    Vec<u8>: Decode<'r, DB>,
{
    fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        let bytes = <Vec<u8> as Decode<'r, DB>>::decode(value)?;
        let arr: [u8; 16] = bytes.as_slice().try_into().map_err(|_| "blind index must be 16 bytes")?;
        Ok(BlindIndex(arr))
    }
}

impl<'q, DB: Database> Encode<'q, DB> for BlindIndex
where
    Vec<u8>: Encode<'q, DB>,
{
    fn encode_by_ref(&self, buf: &mut <DB as Database>::ArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <Vec<u8> as Encode<'q, DB>>::encode_by_ref(&self.0.to_vec(), buf)
    }
}
